import RFGenAPI
import RFGenCore
import RFGenProtocol
import RFGenRecords
import RFGenSystem

/// The control thread: wakes at absolute deadlines (no drift), steps the daemon's machine
/// (`MachineHost`) and keeps its own timing. It decides nothing: what to do is the machine's.
final class ControlLoop: Sendable {
    private let shared: Shared
    private let tickMicroseconds: Int64
    private let host: MachineHost
    private let fifoPriority: Int32?
    /// The one CPU this thread runs on, or nil (`ControlCPU`).
    private let cpu: Int?
    private let log: @Sendable (String) -> Void

    private let stallAfterMicroseconds: Int64?
    /// Keeps each tick just after the generator's telemetry arrives.
    private let phaseLock: TickPhaseLock

    init(
        tickRateHz: Int,
        telemetryRateHz: Int,
        fifoPriority: Int32?,
        cpu: Int? = nil,
        shared: Shared,
        host: MachineHost,
        stallAfterMicroseconds: Int64? = nil,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.stallAfterMicroseconds = stallAfterMicroseconds
        self.host = host
        precondition(DaemonLimits.tickRateHz.contains(tickRateHz))
        self.shared = shared
        self.fifoPriority = fifoPriority
        self.cpu = cpu
        self.log = log
        tickMicroseconds = 1_000_000 / Int64(tickRateHz)
        phaseLock = TickPhaseLock(tickMicroseconds: tickMicroseconds, telemetryRateHz: telemetryRateHz)
    }

    func run() {
        log(
            "control loop at \(1_000_000 / tickMicroseconds) Hz: "
                + RealTime.prepareCurrentThread(fifoPriority: fifoPriority, cpu: cpu)
        )
        let started = MonotonicClock.microseconds()
        var deadline = started + tickMicroseconds
        var overruns: UInt64 = 0
        var worst: Int64 = 0
        var ticks: UInt64 = 0
        while !shared.stopping.load(ordering: .acquiring) {
            MonotonicClock.sleep(untilMicroseconds: deadline)
            let now = MonotonicClock.microseconds()
            if let stall = stallAfterMicroseconds, now - started >= stall {
                // Verification only (--inject-control-stall-ms): a hung loop, as the watchdog sees it.
                log("control loop: stalling as injected")
                while !shared.stopping.load(ordering: .acquiring) {
                    MonotonicClock.sleep(untilMicroseconds: MonotonicClock.microseconds() + 10_000)
                }
                return
            }
            let late = now - deadline
            worst = max(worst, late)
            // Counted for the status and the metrics; whether the loop is stalled is the core's
            // judgement, in time (`InterlockLimits.controlLoopStallMicroseconds`).
            let overran = late > tickMicroseconds
            if overran { overruns += 1 }
            ticks += 1
            shared.metrics.tick(overran: overran)

            // The tick's telemetry event carries its lateness; the percentiles are kept from
            // those, off this thread (`DaemonMetrics.latenessMicroseconds`).
            let snapshot = host.tick(lateMicroseconds: late)
            shared.status.withLock { status in
                status.overruns = overruns
                status.worstLatenessMicroseconds = worst
                status.ticks = ticks
                status.tickRateHz = Int(1_000_000 / tickMicroseconds)
            }

            // The next tick, moved by at most 5 % towards 1 ms after the telemetry's arrival, so
            // that the controller acts on a reading about 1 ms old rather than up to a whole tick
            // old (TickPhaseLock). Interlocks do not wait for it: each frame is checked on arrival.
            deadline += tickMicroseconds
            deadline += phaseLock.correction(
                telemetryAge: snapshot.connected ? snapshot.telemetryAge(at: MonotonicInstant(microseconds: now)) : nil
            )
            // Far behind (a stall): start again from now rather than firing a burst of late ticks.
            if now - deadline > 10 * tickMicroseconds { deadline = now + tickMicroseconds }
        }
    }
}
