// Everything the daemon's control thread decides, as one value: the treatment core, and around it
// what the shell used to work out for itself (telemetry freshness, a lesion's start, level and
// end, each request's outcome, the record's entries, the API's events, the status). Pure: the
// shell copies in the instants it read, the link's snapshot and the operators' requests, and
// carries out what comes back. The daemon (`ControlLoop`, `LinkService`), the deterministic
// simulation, the benchmarks and the test harnesses all step this same machine, so what the
// simulation proves is what ships.

import RFGenAPI
import RFGenCore
import RFGenLink
import RFGenProtocol

/// An operator command on its way to the tick, with its ticket and who sent it.
public struct OperatorRequest: Hashable, Sendable {
    /// Unique per daemon; the request's outcome comes back under it.
    public var ticket: UInt64
    public var command: OperatorCommand
    /// The vertebral level a `start` names; empty for the other commands.
    public var level: String
    /// The peer's uid, and the API's client number.
    public var uid: UInt32
    public var client: UInt64
    /// The procedure session a `start` belongs to (the one open when it was asked), if any.
    public var session: Int64?

    public init(
        ticket: UInt64,
        command: OperatorCommand,
        level: String = "",
        uid: UInt32 = 0,
        client: UInt64 = 0,
        session: Int64? = nil
    ) {
        self.ticket = ticket
        self.command = command
        self.level = level
        self.uid = uid
        self.client = client
        self.session = session
    }
}

/// What became of one request: carried out (no refusal) or refused, and why.
public struct OperatorOutcome: Hashable, Sendable {
    public var ticket: UInt64
    public var refusal: String?

    public init(ticket: UInt64, refusal: String?) {
        self.ticket = ticket
        self.refusal = refusal
    }

    public var accepted: Bool { refusal == nil }
}

/// What one tick is given. Every time in it was read by the shell.
public struct TickInput: Sendable {
    public var now: MonotonicInstant
    /// The wall clock at the same moment, for the record and the events.
    public var wall: WallInstant
    public var link: LinkSnapshot
    public var linkState: LinkEngine.State
    /// This tick's lateness, µs: the loop's own, for the telemetry event. (Whether the loop is
    /// stalled is the core's judgement, from the time between its steps.)
    public var lateMicroseconds: Int64
    /// The requests taken since the last tick, in the order they came.
    public var requests: [OperatorRequest]
    /// How many lesions' starts the treatment record has made durable since the daemon started
    /// (`Int.max` when no record is kept): a lesion's RF_ON waits for its own.
    public var recordedStarts: Int

    public init(
        now: MonotonicInstant,
        wall: WallInstant,
        link: LinkSnapshot,
        linkState: LinkEngine.State,
        lateMicroseconds: Int64 = 0,
        requests: [OperatorRequest] = [],
        recordedStarts: Int = .max
    ) {
        self.recordedStarts = recordedStarts
        self.now = now
        self.wall = wall
        self.link = link
        self.linkState = linkState
        self.lateMicroseconds = lateMicroseconds
        self.requests = requests
    }
}

/// The lesion's figures as the API shows them, each at its resolution (`Resolution`): rounded
/// once here for the telemetry events and for the status, which must agree.
public struct LesionProgress: Hashable, Sendable {
    /// nil before the first lesion: no set point, not 0 °C.
    public var setpointC: Double?
    public var elapsedS: Double
    public var holdS: Double
    public var remainingS: Double?
    public var energyJ: Double
    public var peakC: Double?
    /// nil before the first lesion.
    public var doseCem43Min: Double?
    public var diameterMm: Double?
}

/// The treatment as the API shows it, after a step.
public struct MachineStatus: Sendable {
    public var phase = TreatmentPhase.idle
    public var profile: TreatmentProfile?
    /// The level the running or last lesion's start named.
    public var level: String?
    public var setPointCelsius = 0.0
    public var holdSeconds = 0.0
    /// From the lesion's start to its end, or to now while it runs, s.
    public var elapsedSeconds = 0.0
    public var energyJoules = 0.0
    public var peakCelsius = 0.0
    /// The lesion's CEM43 dose at the tip, minutes, and its estimated diameter, mm.
    public var doseCEM43Minutes = 0.0
    public var diameterMillimetres = 0.0
    public var alarms: [Alarm] = []
    /// The latched alarms as the API shows them, each with the wall time of the step that raised
    /// it: the very `raised_us` of its `alarm_raised` event.
    public var alarmInfo: [AlarmInfo] = []
    public var linkState = "closed"
    public var linkUp = false
    /// The newest telemetry while it is fresh; nil when stale or absent.
    public var telemetry: Telemetry?
    /// Age of the newest telemetry at the step, µs; nil when none ever arrived.
    public var telemetryAgeMicroseconds: Int64?

    public init() {}
}

/// What one step decided, in the order the shell carries it out.
public struct MachineOutput: Sendable {
    /// For the generator, RF_OFF ahead of anything else.
    public var generator: [GeneratorCommand] = []
    /// One per request, in the requests' order.
    public var outcomes: [OperatorOutcome] = []
    /// For the API's subscribers, in order.
    public var events: [EventBody] = []
    /// For the treatment record (`RecordRouter` says where each goes).
    public var records: [RecordEntry] = []
    /// The core's own actions, for tests and the simulation's invariants.
    public var actions: [CoreAction] = []
    /// The request whose start began a lesion in this step, if any.
    public var started: OperatorRequest?

    public init() {}
}

public struct DaemonMachine: Sendable {
    public private(set) var core: TreatmentCore
    public private(set) var status = MachineStatus()
    /// The lesion as the API shows it: when it began and ended, and the level its start named.
    private var lesionStartedAt: MonotonicInstant?
    private var lesionEndedAt: MonotonicInstant?
    private var level: String?
    private var lastLinkState: LinkEngine.State?
    /// The latest instant stepped at: time never goes back.
    private var lastNow: MonotonicInstant?
    /// The wall time of the step that raised each latched alarm.
    private var alarmWalls: [UInt64: WallInstant] = [:]
    /// Lesions begun since the machine started, counted as the record counts its starts.
    public private(set) var lesionsBegun = 0

    /// - Parameter tickSeconds: the control period; 0.001-0.1 s.
    public init(tickSeconds: Double = 0.01) {
        core = TreatmentCore(tickSeconds: tickSeconds)
    }

    /// One control tick.
    public mutating func tick(_ input: TickInput) -> MachineOutput {
        advanceTime(to: input.now)
        let now = input.now
        let link = input.link
        let alarmsBefore = core.alarms
        let commands = input.requests.map(\.command)
        let actions = core.step(
            now: now,
            link: link,
            commands: commands,
            startRecorded: input.recordedStarts >= lesionsBegun
        )

        var out = MachineOutput()
        out.actions = actions
        out.generator = actions.compactMap { if case .generator(let c) = $0 { c } else { nil } }
        // Each request's own outcome, by its position in the tick, never by its value: two equal
        // requests (two operators' stops) may have different outcomes.
        let refusals = TickOutcomes.refusals(count: commands.count, actions: actions)
        out.outcomes = zip(input.requests, refusals).map { OperatorOutcome(ticket: $0.ticket, refusal: $1) }
        out.started = TickOutcomes.acceptedStart(commands: commands, actions: actions).map { input.requests[$0] }

        let fresh = link.freshTelemetry(at: now)
        track(actions, started: out.started, now: now)
        out.records = TreatmentRecording.entries(
            actions: actions,
            core: core,
            start: out.started.map { RecordedStart(level: $0.level, operatorUID: $0.uid, session: $0.session) },
            telemetry: fresh,
            generator: link.generator,
            wall: input.wall.microsecondsSinceEpoch
        )

        let linkUp = input.linkState == .ready
        if input.linkState != lastLinkState {
            lastLinkState = input.linkState
            out.events.append(.link(LinkChange(link: linkUp ? "up" : "down", linkState: input.linkState.name)))
        }
        for (request, outcome) in zip(input.requests, out.outcomes) {
            out.events.append(
                .command(
                    CommandOutcome(
                        command: request.command.name,
                        uid: request.uid,
                        client: request.client,
                        accepted: outcome.accepted,
                        reason: outcome.refusal
                    )
                )
            )
            if case .acknowledge = request.command, outcome.accepted, !alarmsBefore.isEmpty {
                out.events.append(.alarmsAcknowledged(Acknowledged(ids: alarmsBefore.map(\.id), uid: request.uid)))
            }
        }
        appendEvents(of: actions, wall: input.wall, to: &out.events)
        noteAlarms(actions, wall: input.wall)
        status = makeStatus(link: link, linkState: input.linkState, now: now, fresh: fresh)
        out.events.append(.telemetry(telemetryEvent(fresh: fresh, late: input.lateMicroseconds)))
        return out
    }

    /// A telemetry frame has just arrived: the interlocks that read it are checked at once
    /// (`TreatmentCore.telemetryArrived`, the tick's own check), so that a trip's RF_OFF goes out
    /// now rather than at the next tick. Returns nothing when nothing tripped.
    public mutating func telemetryArrived(
        now: MonotonicInstant,
        wall: WallInstant,
        link: LinkSnapshot,
        linkState: LinkEngine.State
    ) -> MachineOutput {
        advanceTime(to: now)
        let actions = core.telemetryArrived(now: now, link: link)
        var out = MachineOutput()
        guard !actions.isEmpty else { return out }
        out.actions = actions
        out.generator = actions.compactMap { if case .generator(let c) = $0 { c } else { nil } }
        track(actions, started: nil, now: now)
        // Samples are the tick's, except the frame that ended a lesion on its arrival: it is kept
        // with the alarm and the end it caused.
        out.records = TreatmentRecording.entries(
            actions: actions,
            core: core,
            start: nil,
            telemetry: link.freshTelemetry(at: now),
            generator: link.generator,
            wall: wall.microsecondsSinceEpoch
        )
        appendEvents(of: actions, wall: wall, to: &out.events)
        noteAlarms(actions, wall: wall)
        status = makeStatus(
            link: link,
            linkState: linkState,
            now: now,
            fresh: link.freshTelemetry(at: now)
        )
        return out
    }

    private mutating func advanceTime(to now: MonotonicInstant) {
        // The shell reads the clock while it holds the machine, so a later step never carries an
        // earlier instant, whichever thread makes it.
        precondition(lastNow.map { now >= $0 } ?? true, "time never goes back: \(now) after \(lastNow!)")
        lastNow = now
    }

    /// Notes a lesion's start (and the level its start request named) and end.
    private mutating func track(_ actions: [CoreAction], started: OperatorRequest?, now: MonotonicInstant) {
        for case .phaseChanged(let from, let to) in actions {
            if to.beginsLesion(from: from) {
                assert(started != nil, "a lesion begins only by a start the tick carried out")
                lesionStartedAt = now
                lesionEndedAt = nil
                lesionsBegun += 1
                level = started?.level
            } else if to.endsLesion(from: from) {
                lesionEndedAt = now
            }
        }
    }

    private func appendEvents(of actions: [CoreAction], wall: WallInstant, to events: inout [EventBody]) {
        for action in actions {
            switch action {
            case .phaseChanged(let from, let to):
                events.append(
                    .phaseChanged(
                        PhaseChange(from: from.rawValue, to: to.rawValue, profile: core.profile?.name, level: level)
                    )
                )
            case .alarm(let alarm):
                events.append(.alarmRaised(alarm.info(wallUs: wall.microsecondsSinceEpoch)))
            case .generator, .refused:
                break
            }
        }
    }

    /// Keeps the wall time of each alarm raised, for as long as it is latched.
    private mutating func noteAlarms(_ actions: [CoreAction], wall: WallInstant) {
        for case .alarm(let alarm) in actions { alarmWalls[alarm.id] = wall }
        let latched = Set(core.alarms.map(\.id))
        alarmWalls = alarmWalls.filter { latched.contains($0.key) }
    }

    private func elapsedSeconds(now: MonotonicInstant) -> Double {
        guard let start = lesionStartedAt else { return 0 }
        return Double((lesionEndedAt ?? now) - start) / 1_000_000
    }

    private func makeStatus(
        link: LinkSnapshot,
        linkState: LinkEngine.State,
        now: MonotonicInstant,
        fresh: Telemetry?
    ) -> MachineStatus {
        var status = MachineStatus()
        status.phase = core.phase
        status.profile = core.profile
        status.level = level
        status.setPointCelsius = core.setPointCelsius
        status.holdSeconds = core.holdSeconds
        status.elapsedSeconds = elapsedSeconds(now: now)
        status.energyJoules = core.energyJoules
        status.peakCelsius = core.peakCelsius
        status.doseCEM43Minutes = core.dose.tipMinutes
        status.diameterMillimetres = core.dose.diameterMillimetres
        status.alarms = core.alarms
        status.alarmInfo = core.alarms.map { alarm in
            // Every latched alarm was raised by a step that noted its wall time.
            assert(alarmWalls[alarm.id] != nil, "alarm \(alarm.id) without its wall time")
            return alarm.info(wallUs: alarmWalls[alarm.id]?.microsecondsSinceEpoch ?? 0)
        }
        status.linkState = linkState.name
        status.linkUp = linkState == .ready
        // A stale reading is never shown as current: the API sees its age instead.
        status.telemetry = fresh
        status.telemetryAgeMicroseconds = link.telemetryAge(at: now)
        return status
    }

    /// One telemetry event a tick: the full rate the API's subscribers get.
    private func telemetryEvent(fresh: Telemetry?, late: Int64) -> TelemetryData {
        var temperatures: [Double?] = []
        for reading in fresh?.temperatures ?? [] {
            temperatures.append(reading.status == .ok ? Double(reading.centiCelsius) / 100 : nil)
        }
        let progress = status.progress
        var event = TelemetryData(
            state: core.phase.rawValue,
            rfOn: fresh?.rfState == .on,
            link: status.linkUp ? "up" : "down",
            tipTempC: temperatures.first ?? nil,
            temperaturesC: temperatures,
            powerW: fresh.map { Double($0.powerMilliwatts) / 1000 },
            setpointW: fresh.map { Double($0.setPointMilliwatts) / 1000 },
            impedanceOhm: fresh.flatMap { $0.impedanceValid ? Double($0.impedanceDeciohms) / 10 : nil },
            ageMs: status.telemetryAgeMicroseconds.map { Double($0) / 1000 },
            setpointC: progress.setpointC,
            elapsedS: progress.elapsedS,
            holdS: progress.holdS,
            remainingS: progress.remainingS,
            energyJ: progress.energyJ,
            alarms: core.alarms.map(\.id),
            lateUs: late
        )
        event.doseCem43Min = progress.doseCem43Min
        event.diameterMm = progress.diameterMm
        return event
    }
}

extension OperatorCommand {
    /// The API's name for it.
    public var name: String {
        switch self {
        case .start: "start"
        case .stop: "stop"
        case .emergencyStop: "estop"
        case .acknowledge: "ack"
        }
    }
}

extension Alarm {
    /// The alarm as the API shows it, raised at `wallUs`.
    public func info(wallUs: Int64) -> AlarmInfo {
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

extension MachineStatus {
    /// The lesion's figures at the API's resolution.
    public var progress: LesionProgress {
        let lesion = profile != nil
        return LesionProgress(
            setpointC: lesion ? Resolution.centi(setPointCelsius) : nil,
            elapsedS: Resolution.milli(elapsedSeconds),
            holdS: Resolution.milli(holdSeconds),
            remainingS: profile.map { Resolution.milli(max(0, $0.holdSeconds - holdSeconds)) },
            energyJ: Resolution.milli(energyJoules),
            peakC: lesion ? Resolution.centi(peakCelsius) : nil,
            doseCem43Min: lesion ? Resolution.significant(doseCEM43Minutes) : nil,
            diameterMm: lesion ? Resolution.deci(diameterMillimetres) : nil
        )
    }
}
