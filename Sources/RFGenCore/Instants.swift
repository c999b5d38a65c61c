/// A point on the host's monotonic clock (`CLOCK_MONOTONIC`), microseconds: what every duration,
/// deadline and "held for" of the daemon is measured on. A distinct type from `WallInstant`, so
/// that a wall time can never be compared with, or subtracted from, a monotonic one.
public struct MonotonicInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (a: Self, b: Self) -> Bool { a.microseconds < b.microseconds }

    /// Microseconds from `b` to `a`.
    public static func - (a: Self, b: Self) -> Int64 { a.microseconds - b.microseconds }

    public static func + (a: Self, microseconds: Int64) -> Self { Self(microseconds: a.microseconds + microseconds) }

    public var description: String { "\(Double(microseconds) / 1e6) s (monotonic)" }
}

/// A point on the wall clock (`CLOCK_REALTIME`), microseconds since the Unix epoch: what records
/// and events are stamped with, for people and other systems to read. It may jump (NTP, an
/// administrator), so nothing is timed on it.
public struct WallInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = microsecondsSinceEpoch }

    public static func < (a: Self, b: Self) -> Bool { a.microsecondsSinceEpoch < b.microsecondsSinceEpoch }

    public var description: String { "\(microsecondsSinceEpoch) µs since the epoch" }
}
