/// Keeps the control tick a short, fixed time after the generator's telemetry arrives.
///
/// The tick and the generator's telemetry run on two clocks at related rates, and keep whatever
/// phase they started with: left alone, a reading that trips an interlock waits anywhere up to a
/// whole tick (10 ms at 100 Hz) for the tick that acts on it, and the controller works on readings
/// of that age. This nudges each next deadline so that the tick falls `targetAgeMicroseconds`
/// after the newest telemetry's arrival: a proportional phase-locked loop on the reading's age at
/// each tick. Pure: the shell gives it the age it measured and adds the correction it returns.
public struct TickPhaseLock: Hashable, Sendable {
    /// The share of the phase error corrected each tick: half, so that the arrival's jitter moves
    /// the tick by half of it at most.
    public static let gainDivisor: Int64 = 2
    /// The most one tick's deadline may move, as a fraction of the period (1/20: 5 %), so that
    /// the tick rate, and the controller's time step with it, stays within 5 % of nominal.
    public static let maxCorrectionDivisor: Int64 = 20
    /// The aim for the reading's age at the tick: 1 ms, at most a quarter of a tick; enough for
    /// the link thread to take the frame and for the arrival's jitter on a serial line.
    public static let maxTargetAgeMicroseconds: Int64 = 1000

    public let tickMicroseconds: Int64
    public let telemetryMicroseconds: Int64
    public let targetAgeMicroseconds: Int64

    /// - Parameters:
    ///   - tickMicroseconds: the control tick's period.
    ///   - telemetryRateHz: the rate the generator was asked to send telemetry at.
    public init(tickMicroseconds: Int64, telemetryRateHz: Int) {
        precondition(tickMicroseconds > 0 && telemetryRateHz > 0, "periods must be positive")
        self.tickMicroseconds = tickMicroseconds
        telemetryMicroseconds = 1_000_000 / Int64(telemetryRateHz)
        targetAgeMicroseconds = min(Self.maxTargetAgeMicroseconds, tickMicroseconds / 4)
    }

    /// What to add to the next deadline, microseconds (negative: earlier).
    /// - Parameter telemetryAge: how old the newest telemetry was at this tick's wake-up, from
    ///   its arrival at the link thread; nil when there is none. A reading older than one
    ///   telemetry period (a frame lost, the link down) says nothing of the phase: no correction.
    public func correction(telemetryAge: Int64?) -> Int64 {
        guard let age = telemetryAge, age >= 0, age < telemetryMicroseconds else { return 0 }
        // The ticks that can fall after one arrival repeat every shorter period of the two.
        let period = min(tickMicroseconds, telemetryMicroseconds)
        var error = (age - targetAgeMicroseconds) % period
        if error < 0 { error += period }
        if error > period / 2 { error -= period }
        // A positive error: this tick came that much later after the arrival than aimed for.
        let limit = tickMicroseconds / Self.maxCorrectionDivisor
        return min(max(-error / Self.gainDivisor, -limit), limit)
    }
}
