/// The streams a client can subscribe to.
public enum Stream: String, Codable, Sendable, Hashable, CaseIterable {
    /// One sample a control tick.
    case telemetry
    /// Phase changes, operator commands and their outcomes, link and lease changes, daemon start and stop.
    case events
    /// Alarms raised and acknowledged.
    case alarms
}

/// One entry of the record every client sees: `{"type":"event","seq":…,"stream":…,"kind":…,
/// "wall_us":…,"data":{…}}`. `seq` rises by one per event across all streams and, with
/// `--state-dir`, across daemon restarts.
public struct Event: Codable, Hashable, Sendable {
    public var seq: UInt64
    /// Wall clock when it happened, microseconds since the Unix epoch.
    public var wallUs: Int64
    public var body: EventBody

    public init(seq: UInt64, wallUs: Int64, body: EventBody) {
        self.seq = seq
        self.wallUs = wallUs
        self.body = body
    }

    public var stream: Stream { body.stream }

    enum Keys: String, CodingKey { case seq, wallUs, stream, kind, data }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(wallUs, forKey: .wallUs)
        try c.encode(body.stream, forKey: .stream)
        try c.encode(body.kind, forKey: .kind)
        switch body {
        case .telemetry(let data): try c.encode(data, forKey: .data)
        case .phaseChanged(let data): try c.encode(data, forKey: .data)
        case .command(let data): try c.encode(data, forKey: .data)
        case .link(let data): try c.encode(data, forKey: .data)
        case .lease(let data): try c.encode(data, forKey: .data)
        case .daemonStarted(let data): try c.encode(data, forKey: .data)
        case .daemonStopping(let data): try c.encode(data, forKey: .data)
        case .alarmRaised(let data): try c.encode(data, forKey: .data)
        case .alarmsAcknowledged(let data): try c.encode(data, forKey: .data)
        case .records(let data): try c.encode(data, forKey: .data)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        seq = try c.decode(UInt64.self, forKey: .seq)
        wallUs = try c.decode(Int64.self, forKey: .wallUs)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "telemetry": body = .telemetry(try c.decode(TelemetryData.self, forKey: .data))
        case "phase_changed": body = .phaseChanged(try c.decode(PhaseChange.self, forKey: .data))
        case "command": body = .command(try c.decode(CommandOutcome.self, forKey: .data))
        case "link": body = .link(try c.decode(LinkChange.self, forKey: .data))
        case "lease": body = .lease(try c.decode(LeaseInfo.self, forKey: .data))
        case "daemon_started": body = .daemonStarted(try c.decode(DaemonStarted.self, forKey: .data))
        case "daemon_stopping": body = .daemonStopping(try c.decode(DaemonStopping.self, forKey: .data))
        case "alarm_raised": body = .alarmRaised(try c.decode(AlarmInfo.self, forKey: .data))
        case "alarms_acknowledged": body = .alarmsAcknowledged(try c.decode(Acknowledged.self, forKey: .data))
        case "records": body = .records(try c.decode(RecordHealth.self, forKey: .data))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown event kind \(kind)")
        }
    }
}

public enum EventBody: Hashable, Sendable {
    case telemetry(TelemetryData)
    case phaseChanged(PhaseChange)
    case command(CommandOutcome)
    case link(LinkChange)
    case lease(LeaseInfo)
    case daemonStarted(DaemonStarted)
    case daemonStopping(DaemonStopping)
    case alarmRaised(AlarmInfo)
    case alarmsAcknowledged(Acknowledged)
    /// The records stopped or started being written again.
    case records(RecordHealth)

    public var stream: Stream {
        switch self {
        case .telemetry: .telemetry
        case .phaseChanged, .command, .link, .lease, .daemonStarted, .daemonStopping, .records: .events
        case .alarmRaised, .alarmsAcknowledged: .alarms
        }
    }

    public var kind: String {
        switch self {
        case .telemetry: "telemetry"
        case .phaseChanged: "phase_changed"
        case .command: "command"
        case .link: "link"
        case .lease: "lease"
        case .daemonStarted: "daemon_started"
        case .daemonStopping: "daemon_stopping"
        case .alarmRaised: "alarm_raised"
        case .alarmsAcknowledged: "alarms_acknowledged"
        case .records: "records"
        }
    }
}

/// One control tick: what the core decided and what the generator last reported.
public struct TelemetryData: Codable, Hashable, Sendable {
    public var state: String
    public var rfOn: Bool
    public var link: String
    /// Null when the reading is stale or the channel not `ok`.
    public var tipTempC: Double?
    public var temperaturesC: [Double?]
    public var powerW: Double?
    /// The power the generator is holding, W.
    public var setpointW: Double?
    public var impedanceOhm: Double?
    /// Age of the generator's frame at this tick, ms; null when none ever arrived.
    public var ageMs: Double?
    /// The ramped temperature set point, °C; null before the first lesion.
    public var setpointC: Double?
    public var elapsedS: Double
    public var holdS: Double
    public var remainingS: Double?
    public var energyJ: Double
    /// Latched alarms' ids (details in the `alarms` stream and `status`).
    public var alarms: [UInt64]
    /// The tick's lateness, µs.
    public var lateUs: Int64
    /// The lesion's CEM43 dose at the tip so far, minutes, and its estimated diameter, mm; null
    /// before the first lesion.
    public var doseCem43Min: Double?
    public var diameterMm: Double?

    public init(
        state: String,
        rfOn: Bool,
        link: String,
        tipTempC: Double?,
        temperaturesC: [Double?],
        powerW: Double?,
        setpointW: Double?,
        impedanceOhm: Double?,
        ageMs: Double?,
        setpointC: Double?,
        elapsedS: Double,
        holdS: Double,
        remainingS: Double?,
        energyJ: Double,
        alarms: [UInt64],
        lateUs: Int64
    ) {
        self.state = state
        self.rfOn = rfOn
        self.link = link
        self.tipTempC = tipTempC
        self.temperaturesC = temperaturesC
        self.powerW = powerW
        self.setpointW = setpointW
        self.impedanceOhm = impedanceOhm
        self.ageMs = ageMs
        self.setpointC = setpointC
        self.elapsedS = elapsedS
        self.holdS = holdS
        self.remainingS = remainingS
        self.energyJ = energyJ
        self.alarms = alarms
        self.lateUs = lateUs
    }
}

public struct PhaseChange: Codable, Hashable, Sendable {
    public var from: String
    public var to: String
    public var profile: String?
    public var level: String?

    public init(from: String, to: String, profile: String?, level: String?) {
        self.from = from
        self.to = to
        self.profile = profile
        self.level = level
    }
}

/// An operator command as the control loop took it.
public struct CommandOutcome: Codable, Hashable, Sendable {
    /// `start`, `stop`, `estop`, `ack`.
    public var command: String
    public var uid: UInt32
    public var client: UInt64
    public var accepted: Bool
    public var reason: String?

    public init(command: String, uid: UInt32, client: UInt64, accepted: Bool, reason: String?) {
        self.command = command
        self.uid = uid
        self.client = client
        self.accepted = accepted
        self.reason = reason
    }
}

public struct LinkChange: Codable, Hashable, Sendable {
    public var link: String
    public var linkState: String

    public init(link: String, linkState: String) {
        self.link = link
        self.linkState = linkState
    }
}

public struct DaemonStarted: Codable, Hashable, Sendable {
    public var instance: String
    public var version: String
    /// `clean` (numbering goes on without a hole), `unclean` (the previous daemon died: sequence
    /// numbers after `unknown_after_seq` may have been issued and lost), or `none` (no state kept).
    public var previousShutdown: String
    public var unknownAfterSeq: UInt64?

    public init(instance: String, version: String, previousShutdown: String, unknownAfterSeq: UInt64?) {
        self.instance = instance
        self.version = version
        self.previousShutdown = previousShutdown
        self.unknownAfterSeq = unknownAfterSeq
    }
}

public struct DaemonStopping: Codable, Hashable, Sendable {
    /// The last sequence number this daemon issues (this event's own).
    public var lastSeq: UInt64

    public init(lastSeq: UInt64) { self.lastSeq = lastSeq }
}

public struct Acknowledged: Codable, Hashable, Sendable {
    public var ids: [UInt64]
    public var uid: UInt32

    public init(ids: [UInt64], uid: UInt32) {
        self.ids = ids
        self.uid = uid
    }
}

/// `{"type":"gap","from_seq":…,"to_seq":…,"reason":…}`: events in this range were not delivered
/// to this client. `reason` is `slow_client` (it read too slowly and the daemon dropped them),
/// `replay_exhausted` (they fell out of the replay buffer before the client asked), or
/// `not_published` (the daemon could not publish them, e.g. its event queue overflowed).
public struct Gap: Codable, Hashable, Sendable {
    public var fromSeq: UInt64
    public var toSeq: UInt64
    public var reason: String

    public init(fromSeq: UInt64, toSeq: UInt64, reason: String) {
        self.fromSeq = fromSeq
        self.toSeq = toSeq
        self.reason = reason
    }
}
