/// `start`: a lesion with a profile at a vertebral level.
public struct StartParams: Codable, Hashable, Sendable {
    /// Default `bvn`.
    public var profile: String?
    /// The vertebral level, e.g. `L4`: 1 to 16 letters, digits or '-'.
    public var level: String
    /// A shorter hold for tests and demonstrations; the profile's limits still apply.
    public var holdS: Double?

    public init(profile: String? = nil, level: String, holdS: Double? = nil) {
        self.profile = profile
        self.level = level
        self.holdS = holdS
    }

    /// A level a record can carry: the API's own check, before the core sees the command.
    public static func levelProblem(_ level: String) -> String? {
        let valid =
            level.utf8.count <= 16 && !level.isEmpty
            && level.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
        return valid ? nil : "level must be 1 to 16 letters, digits or '-', e.g. L4; got \"\(level)\""
    }
}

public struct AckParams: Codable, Hashable, Sendable {
    /// A latched alarm's id; the acknowledgement covers every latched alarm, as the core
    /// acknowledges them together. Without it, all of them.
    public var id: UInt64?

    public init(id: UInt64? = nil) { self.id = id }
}

public struct SubscribeParams: Codable, Hashable, Sendable {
    /// Default: all three.
    public var streams: [Stream]?
    /// Resume here: events from this number on, from the replay buffer, before the live ones.
    /// Without it, live events from the next one on.
    public var fromSeq: UInt64?

    public init(streams: [Stream]? = nil, fromSeq: UInt64? = nil) {
        self.streams = streams
        self.fromSeq = fromSeq
    }
}

public struct SubscribeResult: Codable, Hashable, Sendable {
    public var streams: [Stream]
    /// The first sequence number this client will be sent (a gap marker first if some are lost).
    public var nextSeq: UInt64
    /// The oldest sequence number still in the replay buffer.
    public var oldestSeq: UInt64
    public var latestSeq: UInt64

    public init(streams: [Stream], nextSeq: UInt64, oldestSeq: UInt64, latestSeq: UInt64) {
        self.streams = streams
        self.nextSeq = nextSeq
        self.oldestSeq = oldestSeq
        self.latestSeq = latestSeq
    }
}

public struct RecordsListParams: Codable, Hashable, Sendable {
    /// At most this many, newest first; default and maximum `APILimits.recordsPerPage`.
    public var limit: Int?
    /// Only records with a smaller id: the next page.
    public var beforeId: Int64?

    public init(limit: Int? = nil, beforeId: Int64? = nil) {
        self.limit = limit
        self.beforeId = beforeId
    }
}

public struct RecordParams: Codable, Hashable, Sendable {
    public var id: Int64
    /// For `records.export`: `csv` or `json`.
    public var format: String?

    public init(id: Int64, format: String? = nil) {
        self.id = id
        self.format = format
    }
}

/// A lesion's record, without its samples. Keys added after the first version are optional: a
/// record made before they were kept has them `null` (unknown), never a made-up value.
public struct RecordSummary: Codable, Hashable, Sendable {
    public var id: Int64
    public var profile: String
    public var level: String
    public var operatorUid: UInt32
    public var startedUs: Int64
    public var endedUs: Int64?
    /// `started_us` and `ended_us` as ISO 8601 UTC, to the microsecond.
    public var startedUtc: String?
    public var endedUtc: String?
    /// `running`, `done`, `stopped`, `faulted`, `aborted`.
    public var outcome: String
    public var endReason: String?
    public var holdS: Double
    public var energyJ: Double
    public var peakC: Double
    /// The tip's CEM43 dose, minutes, and the estimated lesion diameter, mm.
    public var doseCem43Min: Double?
    public var diameterMm: Double?
    /// Whether the lesion delivered the time at temperature and the dose its profile asks;
    /// `null` while it runs and for records made before it was judged.
    public var complete: Bool?
    public var incompleteReason: String?
    /// The profile's parameters as used (with a start's shorter hold).
    public var profileParameters: ProfileInfo?
    public var generator: GeneratorInfo?
    public var daemonVersion: String?
    /// The procedure session the lesion belongs to; null for a lesion started outside one.
    public var sessionId: Int64?

    public init(
        id: Int64,
        profile: String,
        level: String,
        operatorUid: UInt32,
        startedUs: Int64,
        endedUs: Int64?,
        outcome: String,
        endReason: String?,
        holdS: Double,
        energyJ: Double,
        peakC: Double
    ) {
        self.id = id
        self.profile = profile
        self.level = level
        self.operatorUid = operatorUid
        self.startedUs = startedUs
        self.endedUs = endedUs
        self.outcome = outcome
        self.endReason = endReason
        self.holdS = holdS
        self.energyJ = energyJ
        self.peakC = peakC
    }
}

/// Which generator delivered a lesion, as its handshake named it.
public struct GeneratorInfo: Codable, Hashable, Sendable {
    public var model: String
    public var serial: String
    public var firmware: String

    public init(model: String, serial: String, firmware: String) {
        self.model = model
        self.serial = serial
        self.firmware = firmware
    }
}

/// One sample of a lesion in the API's units.
public struct RecordSample: Codable, Hashable, Sendable {
    public var wallUs: Int64
    public var timeUtc: String
    /// Since the lesion's start, s.
    public var elapsedS: Double
    /// `null` in records made before the phase was kept.
    public var phase: String?
    /// Temperature channel 0 (the tip) and channel 1, °C; `null` when not ok.
    public var tipTempC: Double?
    public var secondTempC: Double?
    /// The ramped temperature set point, °C.
    public var setpointC: Double?
    public var powerW: Double
    public var setpointW: Double
    public var impedanceOhm: Double?
    public var rfOn: Bool
    public var doseCem43Min: Double?
    public var diameterMm: Double?

    public init(
        wallUs: Int64,
        elapsedS: Double,
        phase: String?,
        tipTempC: Double?,
        secondTempC: Double?,
        setpointC: Double?,
        powerW: Double,
        setpointW: Double,
        impedanceOhm: Double?,
        rfOn: Bool,
        doseCem43Min: Double?,
        diameterMm: Double?
    ) {
        self.wallUs = wallUs
        self.timeUtc = UTCTime.iso8601(microseconds: wallUs)
        self.elapsedS = elapsedS
        self.phase = phase
        self.tipTempC = tipTempC
        self.secondTempC = secondTempC
        self.setpointC = setpointC
        self.powerW = powerW
        self.setpointW = setpointW
        self.impedanceOhm = impedanceOhm
        self.rfOn = rfOn
        self.doseCem43Min = doseCem43Min
        self.diameterMm = diameterMm
    }

    /// The CSV header: the JSON keys, in this order.
    public static let csvHeader =
        "wall_us,time_utc,elapsed_s,phase,tip_temp_c,second_temp_c,setpoint_c,power_w,setpoint_w,impedance_ohm,"
        + "rf_on,dose_cem43_min,diameter_mm"

    /// One CSV line (no newline): numbers as JSON writes them, unknown values empty.
    public var csvLine: String {
        func field(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        return [
            "\(wallUs)", timeUtc, field(elapsedS), phase ?? "", field(tipTempC), field(secondTempC), field(setpointC),
            field(powerW), field(setpointW), field(impedanceOhm), rfOn ? "1" : "0", field(doseCem43Min),
            field(diameterMm),
        ].joined(separator: ",")
    }
}

/// `records.export` in JSON: one lesion's whole record.
public struct RecordDocument: Codable, Hashable, Sendable {
    public var record: RecordSummary
    public var alarms: [RecordAlarm]
    public var samples: [RecordSample]

    public init(record: RecordSummary, alarms: [RecordAlarm], samples: [RecordSample]) {
        self.record = record
        self.alarms = alarms
        self.samples = samples
    }
}

public struct RecordAlarm: Codable, Hashable, Sendable {
    public var wallUs: Int64
    public var cause: String
    public var priority: String
    public var detail: String

    public init(wallUs: Int64, cause: String, priority: String, detail: String) {
        self.wallUs = wallUs
        self.cause = cause
        self.priority = priority
        self.detail = detail
    }
}

/// `records.show`: the summary, the alarms, and how many samples (`records.export` has them).
public struct RecordDetail: Codable, Hashable, Sendable {
    public var record: RecordSummary
    public var alarms: [RecordAlarm]
    public var samples: Int

    public init(record: RecordSummary, alarms: [RecordAlarm], samples: Int) {
        self.record = record
        self.alarms = alarms
        self.samples = samples
    }
}

/// `records.export`: the whole record as one CSV or JSON document.
public struct RecordExport: Codable, Hashable, Sendable {
    public var id: Int64
    public var format: String
    public var content: String

    public init(id: Int64, format: String, content: String) {
        self.id = id
        self.format = format
        self.content = content
    }
}

/// `metrics`: the daemon's metrics in Prometheus' text exposition.
public struct MetricsResult: Codable, Hashable, Sendable {
    /// The exposition's content type, as an HTTP server would send it.
    public var contentType: String
    public var text: String

    public static let prometheusText = "text/plain; version=0.0.4; charset=utf-8"

    public init(contentType: String = Self.prometheusText, text: String) {
        self.contentType = contentType
        self.text = text
    }
}

/// Every bound of the socket API, in one place.
public enum APILimits {
    /// Clients connected at once by default (`max_clients`); the next is told `too_many_clients`
    /// and closed. A procedure room has a console, a capture and a few monitors: 128 is ample.
    public static let clients = 128
    /// The most `max_clients` may raise it to. Each client may hold up to `clientHighWaterBytes`
    /// of queued events, so this bounds that memory at 256 MiB even if every client stalls.
    public static let clientsCeiling = 1024
    /// Connections the kernel holds for the daemon to accept: a burst of console, capture and
    /// monitors at start-up; beyond it a connect fails at once (EAGAIN) rather than queueing.
    public static let listenBacklog: Int32 = 64
    /// The longest request line, bytes; a longer one is answered `line_too_long` and the
    /// connection closed (no way to find the next request's start in a line that never ends).
    public static let requestLineBytes = 4096
    /// Requests a second, on average; a burst of `requestBurst` is allowed.
    public static let requestsPerSecond = 50
    public static let requestBurst = 100
    /// Rate-limited requests after which the client is disconnected as a flood; the count starts
    /// again only once the client has slowed down enough for its burst allowance to refill.
    public static let floodDisconnect = 500
    /// Events kept for `from_seq` (2 minutes at 100 Hz).
    public static let replayEvents = 12_000
    /// Bytes queued to one client before it counts as slow: events are then skipped (and a gap
    /// marker sent when it catches up), never queued further.
    public static let clientHighWaterBytes = 256 * 1024
    public static let clientLowWaterBytes = 64 * 1024
    /// A client that has read nothing for this long while events wait is disconnected, ms.
    public static let stalledClientMilliseconds: Int64 = 10_000
    /// Requests kept per client for the log and `clients`.
    public static let requestHistory = 16
    /// Records requests (`records.*`) of one connection waiting or being answered; more are
    /// answered `busy`. Each is answered only after the one before it is written, so a client
    /// that pipelines exports and reads nothing holds one reply in the daemon, not one each.
    public static let recordsRequestsPerClient = 4
    /// Exports (`records.export`) read and encoded at once, on the thread pool, whoever asks:
    /// each holds a whole record while it is encoded (a 15-minute lesion at 100 Hz is about 16
    /// MB of JSON, 160 MB at 1 kHz).
    public static let exportsProduced = 1
    /// Encoded exports waiting for their clients to read them may hold this much; the next
    /// export is encoded only below it (four 15-minute lesions at 100 Hz). A client that stops
    /// reading its export is disconnected after `stalledClientMilliseconds`, which frees its part.
    public static let exportBytesHeld = 64 * 1024 * 1024
    /// A large reply is written in pieces of this size, each when the client's socket takes it.
    public static let replyPieceBytes = 64 * 1024
    /// Records a page of `records.list`.
    public static let recordsPerPage = 100
}
