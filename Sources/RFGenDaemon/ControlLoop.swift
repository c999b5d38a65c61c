import Histogram
import RFGenAPI
import RFGenCore
import RFGenProtocol
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
    private let stallAfterMicroseconds: Int64?
    /// Keeps each tick just after the generator's telemetry arrives.
    private let phaseLock: TickPhaseLock

    init(
        tickRateHz: Int,
        telemetryRateHz: Int,
        fifoPriority: Int32?,
        shared: Shared,
        records: RecordWriter?,
        stallAfterMicroseconds: Int64? = nil,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.stallAfterMicroseconds = stallAfterMicroseconds
        self.records = records
        precondition(DaemonLimits.tickRateHz.contains(tickRateHz))
        self.shared = shared
        self.fifoPriority = fifoPriority
        self.log = log
        tickMicroseconds = 1_000_000 / Int64(tickRateHz)
        core = TreatmentCore(tickSeconds: 1 / Double(tickRateHz))
        phaseLock = TickPhaseLock(tickMicroseconds: tickMicroseconds, telemetryRateHz: telemetryRateHz)
    }

    func run() {
        log(
            "control loop at \(1_000_000 / tickMicroseconds) Hz: "
                + RealTime.prepareCurrentThread(fifoPriority: fifoPriority)
        )
        let started = MonotonicClock.microseconds()
        var deadline = started + tickMicroseconds
        var consecutiveOverruns = 0
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
            let alarmsBefore = core.alarms
            let commands = requests.map(\.command)
            let actions = core.step(now: now, link: snapshot, commands: commands)
            // Each request's own outcome, by its position in the tick, never by its value.
            let refusals = TickOutcomes.refusals(count: requests.count, actions: actions)
            let started = TickOutcomes.acceptedStart(commands: commands, actions: actions).map { requests[$0] }
            shared.enqueue(actions.compactMap { if case .generator(let c) = $0 { c } else { nil } })

            let wall = wallClockMicroseconds()
            let age = now - snapshot.telemetryReceivedAt
            // A stale reading is never shown as current: the API sees its age instead.
            let fresh = snapshot.connected && age <= InterlockLimits.staleMicroseconds ? snapshot.telemetry : nil
            track(actions: actions, started: started, now: now)
            if let records {
                records.post(
                    TreatmentRecording.entries(
                        actions: actions,
                        core: core,
                        start: started.map { RecordedStart(level: $0.level, operatorUID: $0.uid) },
                        telemetry: fresh,
                        wall: wall
                    )
                )
            }

            // An operator command is refused if the core said so in this tick, done otherwise.
            if !requests.isEmpty {
                shared.operators.withLock { exchange in
                    for (request, refusal) in zip(requests, refusals) { exchange.outcomes[request.ticket] = refusal }
                }
            }
            let linkUp = linkState == .ready
            publish(
                actions: actions,
                requests: requests,
                refusals: refusals,
                alarmsBefore: alarmsBefore,
                linkText: "\(linkState)",
                linkUp: linkUp,
                wall: wall
            )
            publishTelemetry(
                fresh: fresh,
                snapshot: snapshot,
                age: age,
                linkUp: linkUp,
                late: late,
                now: now,
                wall: wall
            )

            let core = self.core
            // Percentiles cost a walk of the histogram: once a second is enough for the API.
            let percentiles =
                ticks % UInt64(max(1, 1_000_000 / tickMicroseconds)) == 1
                ? (lateness.valueAtPercentile(50), lateness.valueAtPercentile(99), lateness.valueAtPercentile(99.9))
                : nil
            let (level, elapsed) = (self.level, elapsedSeconds(now: now))
            shared.status.withLock { status in
                if let percentiles {
                    status.latenessP50Microseconds = Int64(percentiles.0)
                    status.latenessP99Microseconds = Int64(percentiles.1)
                    status.latenessP999Microseconds = Int64(percentiles.2)
                }
                status.phase = core.phase
                status.profile = core.profile
                status.level = level
                status.setPointCelsius = core.setPointCelsius
                status.holdSeconds = core.holdSeconds
                status.elapsedSeconds = elapsed
                status.energyJoules = core.energyJoules
                status.peakCelsius = core.peakCelsius
                status.alarms = core.alarms
                status.telemetry = fresh
                status.telemetryAgeMicroseconds = snapshot.telemetry == nil ? nil : age
                status.linkState = "\(linkState)"
                status.linkUp = linkUp
                status.overruns = overruns
                status.worstLatenessMicroseconds = worst
                status.ticks = ticks
                status.tickRateHz = Int(1_000_000 / tickMicroseconds)
            }

            // The next tick, moved by at most 5 % towards 1 ms after the telemetry's arrival, so
            // that a reading that trips an interlock is acted on about 1 ms after it arrives
            // rather than up to a whole tick later (TickPhaseLock).
            deadline += tickMicroseconds
            deadline += phaseLock.correction(telemetryAge: snapshot.connected && snapshot.telemetry != nil ? age : nil)
            // Far behind (a stall): start again from now rather than firing a burst of late ticks.
            if now - deadline > 10 * tickMicroseconds { deadline = now + tickMicroseconds }
        }
    }

    // The lesion as the API shows it: when it began, at which level, and when it ended.
    private var lesionStartedAt: Int64?
    private var lesionEndedAt: Int64?
    private var level: String?
    private var lastLinkText = ""

    private func elapsedSeconds(now: Int64) -> Double {
        guard let start = lesionStartedAt else { return 0 }
        return Double((lesionEndedAt ?? now) - start) / 1_000_000
    }

    /// Notes a lesion's start (and the level the start request the tick carried out named) and end.
    private func track(actions: [CoreAction], started: OperatorRequest?, now: Int64) {
        for case .phaseChanged(let from, let to) in actions {
            if to == .impedanceCheck && !from.isActive {
                lesionStartedAt = now
                lesionEndedAt = nil
                level = started?.level
            } else if from.isActive && !to.isActive {
                lesionEndedAt = now
            }
        }
    }

    /// The tick's events for the API: commands and their outcomes, phase changes, alarms, link changes.
    private func publish(
        actions: [CoreAction],
        requests: [OperatorRequest],
        refusals: [String?],
        alarmsBefore: [Alarm],
        linkText: String,
        linkUp: Bool,
        wall: Int64
    ) {
        let bus = shared.bus
        if linkText != lastLinkText {
            lastLinkText = linkText
            bus.publish(.link(LinkChange(link: linkUp ? "up" : "down", linkState: linkText)), wallUs: wall)
        }
        for (request, refusal) in zip(requests, refusals) {
            bus.publish(
                .command(
                    CommandOutcome(
                        command: request.command.name,
                        uid: request.uid,
                        client: request.client,
                        accepted: refusal == nil,
                        reason: refusal
                    )
                ),
                wallUs: wall
            )
            if case .acknowledge = request.command, refusal == nil, !alarmsBefore.isEmpty {
                bus.publish(
                    .alarmsAcknowledged(Acknowledged(ids: alarmsBefore.map(\.id), uid: request.uid)),
                    wallUs: wall
                )
            }
        }
        for action in actions {
            switch action {
            case .phaseChanged(let from, let to):
                bus.publish(
                    .phaseChanged(
                        PhaseChange(from: from.rawValue, to: to.rawValue, profile: core.profile?.name, level: level)
                    ),
                    wallUs: wall
                )
            case .alarm(let alarm):
                bus.publish(.alarmRaised(alarm.info(wallUs: wall)), wallUs: wall)
            case .generator, .refused:
                break
            }
        }
    }

    /// One telemetry event a tick: the full rate the API's subscribers get.
    private func publishTelemetry(
        fresh: Telemetry?,
        snapshot: LinkSnapshot,
        age: Int64,
        linkUp: Bool,
        late: Int64,
        now: Int64,
        wall: Int64
    ) {
        var temperatures: [Double?] = []
        for reading in fresh?.temperatures ?? [] {
            temperatures.append(reading.status == .ok ? Double(reading.centiCelsius) / 100 : nil)
        }
        let hold = core.holdSeconds
        let remaining: Double? = core.profile.map { max(0, $0.holdSeconds - hold) }
        let powerW: Double? = fresh.map { Double($0.powerMilliwatts) / 1000 }
        let setpointW: Double? = fresh.map { Double($0.setPointMilliwatts) / 1000 }
        let impedanceOhm: Double? = fresh.flatMap { $0.impedanceValid ? Double($0.impedanceDeciohms) / 10 : nil }
        let ageMs: Double? = snapshot.telemetry == nil ? nil : Double(age) / 1000
        let tip: Double? = temperatures.first ?? nil
        shared.bus.publish(
            .telemetry(
                TelemetryData(
                    state: core.phase.rawValue,
                    rfOn: fresh?.rfState == .on,
                    link: linkUp ? "up" : "down",
                    tipTempC: tip,
                    temperaturesC: temperatures,
                    powerW: powerW,
                    setpointW: setpointW,
                    impedanceOhm: impedanceOhm,
                    ageMs: ageMs,
                    setpointC: core.setPointCelsius,
                    elapsedS: elapsedSeconds(now: now),
                    holdS: core.holdSeconds,
                    remainingS: remaining,
                    energyJ: core.energyJoules,
                    alarms: core.alarms.map(\.id),
                    lateUs: late
                )
            ),
            wallUs: wall
        )
    }
}

extension OperatorCommand {
    /// The API's name for it.
    var name: String {
        switch self {
        case .start: "start"
        case .stop: "stop"
        case .emergencyStop: "estop"
        case .acknowledge: "ack"
        }
    }
}

extension Alarm {
    func info(wallUs: Int64) -> AlarmInfo {
        AlarmInfo(
            id: id,
            priority: "\(priority)",
            cause: interlock.rawValue,
            detail: detail,
            latched: true,
            raisedUs: wallUs
        )
    }
}
