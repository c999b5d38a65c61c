import RFGenCore
import Testing

/// The control tick locks on to the telemetry's arrival, whatever phase it starts in.
struct TickPhaseLockTests {
    /// Ticks on deadlines corrected by the lock against telemetry arriving every `telemetry` µs
    /// from `firstArrival`, with `jitter(k)` added to the k-th arrival; the reading's age at each
    /// tick. Virtual time: no clock is read.
    static func ages(
        tick: Int64,
        telemetryRateHz: Int,
        firstArrival: Int64,
        ticks: Int,
        drift: Double = 0,
        jitter: (Int) -> Int64 = { _ in 0 }
    ) -> [Int64] {
        let lock = TickPhaseLock(tickMicroseconds: tick, telemetryRateHz: telemetryRateHz)
        let period = Double(1_000_000 / telemetryRateHz) * (1 + drift)
        var deadline: Int64 = 0
        var ages: [Int64] = []
        for _ in 0..<ticks {
            // The newest arrival at or before the tick.
            let k = Int((Double(deadline - firstArrival) / period).rounded(.down))
            var arrival = firstArrival + Int64(Double(k) * period) + jitter(k)
            if arrival > deadline { arrival = firstArrival + Int64(Double(k - 1) * period) + jitter(k - 1) }
            let age = k >= 0 ? deadline - arrival : nil
            ages.append(age ?? -1)
            deadline += tick + lock.correction(telemetryAge: age)
        }
        return ages
    }

    @Test(
        "At 100 Hz the tick settles 1 ms after each arrival from any starting phase, within a second",
        arguments: [100, 2_500, 5_000, 7_500, 9_900] as [Int64]
    )
    func locksAt100Hz(phase: Int64) {
        let ages = Self.ages(tick: 10_000, telemetryRateHz: 100, firstArrival: phase, ticks: 200)
        #expect(ages.suffix(100).allSatisfy { abs($0 - 1000) <= 20 }, "\(ages.suffix(5))")
        #expect(ages.suffix(100).count == 100)
    }

    @Test("At 1 kHz with 100 Hz telemetry one tick in ten falls 250 µs after each arrival")
    func locksAt1kHz() {
        let ages = Self.ages(tick: 1_000, telemetryRateHz: 100, firstArrival: 3_700, ticks: 2_000)
        let settled = ages.suffix(1_000)
        #expect(settled.min().map { abs($0 - 250) <= 10 } == true, "\(settled.min() ?? -1)")
    }

    @Test("It follows a generator clock 100 ppm off, and jitter moves the tick by half of it at most")
    func followsDriftAndJitter() {
        let drifting = Self.ages(tick: 10_000, telemetryRateHz: 100, firstArrival: 6_000, ticks: 3_000, drift: 1e-4)
        #expect(drifting.suffix(1_000).allSatisfy { abs($0 - 1000) <= 50 }, "\(drifting.suffix(3))")
        // ±200 µs of arrival jitter: the tick stays after the arrival, near the aim.
        let jittery = Self.ages(tick: 10_000, telemetryRateHz: 100, firstArrival: 4_000, ticks: 1_000) { k in
            Int64((k * 7919) % 401) - 200
        }
        #expect(jittery.suffix(500).allSatisfy { $0 > 0 && abs($0 - 1000) <= 400 }, "\(jittery.suffix(5))")
    }

    @Test("No correction without a current reading, and never more than 5 % of a tick")
    func bounded() {
        let lock = TickPhaseLock(tickMicroseconds: 10_000, telemetryRateHz: 100)
        #expect(lock.correction(telemetryAge: nil) == 0)
        #expect(lock.correction(telemetryAge: 10_000) == 0, "older than a telemetry period: a lost frame")
        #expect(lock.correction(telemetryAge: -5) == 0)
        #expect(lock.correction(telemetryAge: 1_000) == 0, "on target")
        #expect(lock.correction(telemetryAge: 6_000) == -500, "5 ms late: -2.5 ms, clamped")
        #expect(lock.correction(telemetryAge: 7_000) == 500, "6 ms late is 4 ms early: +2 ms, clamped")
        #expect(lock.correction(telemetryAge: 1_400) == -200)
        #expect((0..<10_000).allSatisfy { abs(lock.correction(telemetryAge: Int64($0))) <= 500 })
    }
}
