import RFGenCore
import RFGenSystem

/// The control thread: wakes at absolute deadlines (no drift), hands the core the newest snapshot
/// and the operators' commands, and passes its decisions on. No socket or disk I/O here.
final class ControlLoop: @unchecked Sendable {
    // @unchecked: `core` is touched only by the control thread after `start`.
    private let shared: Shared
    private let tickMicroseconds: Int64
    private var core: TreatmentCore

    init(tickRateHz: Int, shared: Shared) {
        precondition(DaemonLimits.tickRateHz.contains(tickRateHz))
        self.shared = shared
        tickMicroseconds = 1_000_000 / Int64(tickRateHz)
        core = TreatmentCore(tickSeconds: 1 / Double(tickRateHz))
    }

    func run() {
        var deadline = MonotonicClock.microseconds() + tickMicroseconds
        var consecutiveOverruns = 0
        var overruns: UInt64 = 0
        var worst: Int64 = 0
        var ticks: UInt64 = 0
        while !shared.stopping.load(ordering: .acquiring) {
            MonotonicClock.sleep(untilMicroseconds: deadline)
            let now = MonotonicClock.microseconds()
            let lateness = now - deadline
            worst = max(worst, lateness)
            if lateness > tickMicroseconds {
                overruns += 1
                consecutiveOverruns += 1
            } else {
                consecutiveOverruns = 0
            }
            ticks += 1

            var (snapshot, linkState) = shared.link.withLock { ($0.snapshot, $0.state) }
            snapshot.consecutiveOverruns = consecutiveOverruns
            let requests = shared.operators.withLock { exchange in
                defer { exchange.queue.removeAll(keepingCapacity: true) }
                return exchange.queue
            }
            let actions = core.step(now: now, link: snapshot, commands: requests.map(\.command))
            shared.enqueue(actions.compactMap { if case .generator(let c) = $0 { c } else { nil } })

            // An operator command is refused if the core said so in this tick, done otherwise.
            var refusals: [OperatorCommand: String] = [:]
            for case .refused(let command, let reason) in actions { refusals[command] = reason }
            if !requests.isEmpty {
                shared.operators.withLock { exchange in
                    for request in requests { exchange.outcomes[request.ticket] = refusals[request.command] }
                }
            }
            let core = self.core
            shared.status.withLock { status in
                status.phase = core.phase
                status.profile = core.profile?.name
                status.setPointCelsius = core.setPointCelsius
                status.holdSeconds = core.holdSeconds
                status.energyJoules = core.energyJoules
                status.alarms = core.alarms
                status.telemetry = snapshot.telemetry
                status.linkState = "\(linkState)"
                status.overruns = overruns
                status.worstLatenessMicroseconds = worst
                status.ticks = ticks
            }

            deadline += tickMicroseconds
            // Far behind (a stall): start again from now rather than firing a burst of late ticks.
            if now - deadline > 10 * tickMicroseconds { deadline = now + tickMicroseconds }
        }
    }
}
