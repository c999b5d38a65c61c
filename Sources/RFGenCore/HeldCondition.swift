/// "This condition has held for at least N µs": the pattern of every interlock that must not trip
/// on one noisy sample. Pure: the caller passes the time with each observation.
public struct HeldCondition: Hashable, Sendable {
    /// How long the condition must hold, microseconds.
    public let microseconds: Int64
    /// Since when it has held without a break; nil while it does not.
    public private(set) var since: Int64?

    public init(microseconds: Int64) {
        precondition(microseconds >= 0, "a hold time is not negative")
        self.microseconds = microseconds
    }

    /// Records whether the condition holds at `now`.
    /// - Returns: true once it has held, without a break, for at least `microseconds`.
    public mutating func observe(_ holds: Bool, at now: Int64) -> Bool {
        guard holds else {
            since = nil
            return false
        }
        let start = since ?? now
        since = start
        return now - start >= microseconds
    }

    /// Forgets any run in progress.
    public mutating func reset() { since = nil }
}
