import Histogram
import RFGenCore
import RFGenRecords
import RFGenSystem

/// The control thread: wakes at absolute deadlines (no drift), hands the core the newest snapshot
/// and the operators' commands, and passes its decisions on. No socket or disk I/O here.
final class ControlLoop: @unchecked Sendable {
    // @unchecked: `core` is touched only by the control thread after `start`.
    private let shared: Shared
    private let tickMicroseconds: Int64
    private var core: TreatmentCore
    private let fifoPriority: Int32?
    private let log: @Sendable (String) -> Void
    /// Lateness of each wake-up, microseconds, up to 10 s.
    private var lateness = Histogram<UInt64>(highestTrackableValue: 10_000_000)

    private let records: RecordWriter?

    init(
        tickRateHz: Int,
        fifoPriority: Int32?,
        shared: Shared,
        records: RecordWriter?,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.records = records
        precondition(DaemonLimits.tickRateHz.contains(tickRateHz))
        self.shared = shared
        self.fifoPriority = fifoPriority
        self.log = log
        tickMicroseconds = 1_000_000 / Int64(tickRateHz)
        core = TreatmentCore(tickSeconds: 1 / Double(tickRateHz))
    }

    func run() {
        log(
            "control loop at \(1_000_000 / tickMicroseconds) Hz: "
                + RealTime.prepareCurrentThread(fifoPriority: fifoPriority)
        )
        var deadline = MonotonicClock.microseconds() + tickMicroseconds
        var consecutiveOverruns = 0
        var overruns: UInt64 = 0
        var worst: Int64 = 0
        var ticks: UInt64 = 0
        while !shared.stopping.load(ordering: .acquiring) {
            MonotonicClock.sleep(untilMicroseconds: deadline)
            let now = MonotonicClock.microseconds()
            let late = now - deadline
            worst = max(worst, late)
            _ = lateness.record(UInt64(max(0, late)))
            if late > tickMicroseconds {
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

            if let records {
                records.post(recordEvents(actions: actions, requests: requests, snapshot: snapshot, now: now))
            }

            // An operator command is refused if the core said so in this tick, done otherwise.
            var refusals: [OperatorCommand: String] = [:]
            for case .refused(let command, let reason) in actions { refusals[command] = reason }
            if !requests.isEmpty {
                shared.operators.withLock { exchange in
                    for request in requests { exchange.outcomes[request.ticket] = refusals[request.command] }
                }
            }
            let core = self.core
            // Percentiles cost a walk of the histogram: once a second is enough for the API.
            let percentiles =
                ticks % UInt64(max(1, 1_000_000 / tickMicroseconds)) == 1
                ? (lateness.valueAtPercentile(50), lateness.valueAtPercentile(99)) : nil
            shared.status.withLock { status in
                if let percentiles {
                    status.latenessP50Microseconds = Int64(percentiles.0)
                    status.latenessP99Microseconds = Int64(percentiles.1)
                }
                status.phase = core.phase
                status.profile = core.profile?.name
                status.setPointCelsius = core.setPointCelsius
                status.holdSeconds = core.holdSeconds
                status.energyJoules = core.energyJoules
                status.alarms = core.alarms
                // A stale reading is never shown as current: the API sees its age instead.
                let age = now - snapshot.telemetryReceivedAt
                let fresh = snapshot.connected && age <= InterlockLimits.staleMicroseconds
                status.telemetry = fresh ? snapshot.telemetry : nil
                status.telemetryAgeMicroseconds = snapshot.telemetry == nil ? nil : age
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

    /// What this tick adds to the record: a lesion's start and end, its alarms, and one sample a
    /// tick while it runs.
    private func recordEvents(
        actions: [CoreAction],
        requests: [(ticket: UInt64, command: OperatorCommand, level: String, uid: UInt32)],
        snapshot: LinkSnapshot,
        now: Int64
    ) -> [RecordEvent] {
        var events: [RecordEvent] = []
        let wall = wallClockMicroseconds()
        for action in actions {
            switch action {
            case .phaseChanged(let from, let to):
                if to == .impedanceCheck && !from.isActive {
                    let start = requests.last { if case .start = $0.command { true } else { false } }
                    events.append(
                        .began(
                            profile: core.profile?.name ?? "",
                            level: start?.level ?? "",
                            operatorUID: start?.uid ?? 0,
                            wallMicroseconds: wall
                        )
                    )
                } else if from.isActive && !to.isActive {
                    events.append(
                        .summary(
                            holdSeconds: core.holdSeconds,
                            energyJoules: core.energyJoules,
                            peakCelsius: core.peakCelsius
                        )
                    )
                    let reason =
                        core.alarms.last.map { "\($0)" } ?? (to == .done ? "hold complete" : "stopped by the operator")
                    events.append(.ended(outcome: to.rawValue, reason: reason, wallMicroseconds: wall))
                }
            case .alarm(let alarm):
                events.append(
                    .alarm(
                        LesionAlarm(
                            microseconds: wall,
                            interlock: alarm.interlock.rawValue,
                            priority: "\(alarm.priority)",
                            detail: alarm.detail
                        )
                    )
                )
            case .generator, .refused:
                break
            }
        }
        if core.phase.isActive, let t = snapshot.telemetry,
            now - snapshot.telemetryReceivedAt <= InterlockLimits.staleMicroseconds
        {
            events.append(
                .sample(
                    LesionSample(
                        microseconds: wall,
                        tipCentiCelsius: t.temperatures.first.flatMap { $0.status == .ok ? $0.centiCelsius : nil },
                        powerMilliwatts: t.powerMilliwatts,
                        setPointMilliwatts: t.setPointMilliwatts,
                        impedanceDeciohms: t.impedanceValid ? t.impedanceDeciohms : nil,
                        rfOn: t.rfState == .on
                    )
                )
            )
            events.append(
                .summary(holdSeconds: core.holdSeconds, energyJoules: core.energyJoules, peakCelsius: core.peakCelsius)
            )
        }
        return events
    }
}
