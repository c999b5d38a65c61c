/// One latched alarm as clients see it.
public struct AlarmInfo: Codable, Hashable, Sendable {
    /// Unique for the daemon's life; `ack` may name it.
    public var id: UInt64
    /// `high`, `medium` or `low` (IEC 60601-1-8).
    public var priority: String
    /// The interlock that tripped, e.g. `over_temperature` (docs/INTERLOCKS.md).
    public var cause: String
    public var detail: String
    /// Alarms stay latched until acknowledged; always true in `status`.
    public var latched: Bool
    /// Wall clock when raised, microseconds since the Unix epoch.
    public var raisedUs: Int64

    public init(id: UInt64, priority: String, cause: String, detail: String, latched: Bool, raisedUs: Int64) {
        self.id = id
        self.priority = priority
        self.cause = cause
        self.detail = detail
        self.latched = latched
        self.raisedUs = raisedUs
    }
}

/// The readings of one telemetry frame, all of the same age.
public struct Readings: Codable, Hashable, Sendable {
    /// Milliseconds since the frame arrived, at the last control tick.
    public var ageMs: Double
    /// Every temperature channel, the tip first; null where the channel is not `ok`.
    public var temperaturesC: [Double?]
    /// Channel status: `ok`, `open`, `shorted`, `out_of_range`.
    public var temperatureStatus: [String]
    public var powerW: Double
    public var setpointW: Double
    public var voltageV: Double
    public var currentA: Double
    /// Null when too little current flows to measure it.
    public var impedanceOhm: Double?
    /// `off`, `on`, `impedance_check`, as the generator reports it.
    public var rf: String
    /// Generator fault bits by name; empty when none.
    public var faults: [String]

    public init(
        ageMs: Double,
        temperaturesC: [Double?],
        temperatureStatus: [String],
        powerW: Double,
        setpointW: Double,
        voltageV: Double,
        currentA: Double,
        impedanceOhm: Double?,
        rf: String,
        faults: [String]
    ) {
        self.ageMs = ageMs
        self.temperaturesC = temperaturesC
        self.temperatureStatus = temperatureStatus
        self.powerW = powerW
        self.setpointW = setpointW
        self.voltageV = voltageV
        self.currentA = currentA
        self.impedanceOhm = impedanceOhm
        self.rf = rf
        self.faults = faults
    }
}

/// The link's counters: since the daemon started, and the last whole second.
public struct LinkStats: Codable, Hashable, Sendable {
    public var bytes: UInt64
    public var frames: UInt64
    public var decodeErrors: UInt64
    public var crcErrors: UInt64
    public var telemetryReceived: UInt64
    public var telemetryLost: UInt64
    public var commandsSent: UInt64
    public var retries: UInt64
    public var commandsFailed: UInt64
    public var commandsDropped: UInt64
    public var rttMeanUs: Int64
    public var rttMaxUs: Int64
    public var lastSecond: Second?

    public struct Second: Codable, Hashable, Sendable {
        public var bytes: UInt64
        public var frames: UInt64
        public var decodeErrors: UInt64
        public var crcErrors: UInt64
        public var telemetryLost: UInt64
        public var commandsSent: UInt64
        public var retries: UInt64
        public var rttMaxUs: Int64

        public init(
            bytes: UInt64,
            frames: UInt64,
            decodeErrors: UInt64,
            crcErrors: UInt64,
            telemetryLost: UInt64,
            commandsSent: UInt64,
            retries: UInt64,
            rttMaxUs: Int64
        ) {
            self.bytes = bytes
            self.frames = frames
            self.decodeErrors = decodeErrors
            self.crcErrors = crcErrors
            self.telemetryLost = telemetryLost
            self.commandsSent = commandsSent
            self.retries = retries
            self.rttMaxUs = rttMaxUs
        }
    }

    public init(
        bytes: UInt64 = 0,
        frames: UInt64 = 0,
        decodeErrors: UInt64 = 0,
        crcErrors: UInt64 = 0,
        telemetryReceived: UInt64 = 0,
        telemetryLost: UInt64 = 0,
        commandsSent: UInt64 = 0,
        retries: UInt64 = 0,
        commandsFailed: UInt64 = 0,
        commandsDropped: UInt64 = 0,
        rttMeanUs: Int64 = 0,
        rttMaxUs: Int64 = 0,
        lastSecond: Second? = nil
    ) {
        self.bytes = bytes
        self.frames = frames
        self.decodeErrors = decodeErrors
        self.crcErrors = crcErrors
        self.telemetryReceived = telemetryReceived
        self.telemetryLost = telemetryLost
        self.commandsSent = commandsSent
        self.retries = retries
        self.commandsFailed = commandsFailed
        self.commandsDropped = commandsDropped
        self.rttMeanUs = rttMeanUs
        self.rttMaxUs = rttMaxUs
        self.lastSecond = lastSecond
    }
}

/// The control loop's timing.
public struct LoopTiming: Codable, Hashable, Sendable {
    public var tickHz: Int
    public var ticks: UInt64
    /// Ticks later than a whole period.
    public var overruns: UInt64
    public var lateP50Us: Int64
    public var lateP99Us: Int64
    public var lateP999Us: Int64
    public var lateMaxUs: Int64

    public init(
        tickHz: Int,
        ticks: UInt64,
        overruns: UInt64,
        lateP50Us: Int64,
        lateP99Us: Int64,
        lateP999Us: Int64,
        lateMaxUs: Int64
    ) {
        self.tickHz = tickHz
        self.ticks = ticks
        self.overruns = overruns
        self.lateP50Us = lateP50Us
        self.lateP99Us = lateP99Us
        self.lateP999Us = lateP999Us
        self.lateMaxUs = lateMaxUs
    }
}

/// A treatment profile as the daemon has it built in.
public struct ProfileInfo: Codable, Hashable, Sendable {
    public var name: String
    public var targetC: Double
    public var rampCPerS: Double
    public var holdS: Double
    public var holdBandC: Double
    public var powerLimitW: Double
    public var energyCapJ: Double
    /// The CEM43 dose at the tip, minutes, that a complete lesion has delivered.
    public var minDoseCem43Min: Double?
    /// `temperature` (hold the tip at `target_c`) or `power` (`power_limit_w` constantly, `target_c`
    /// a limit).
    public var mode: String?

    public init(
        name: String,
        targetC: Double,
        rampCPerS: Double,
        holdS: Double,
        holdBandC: Double,
        powerLimitW: Double,
        energyCapJ: Double,
        minDoseCem43Min: Double? = nil,
        mode: String? = nil
    ) {
        self.name = name
        self.targetC = targetC
        self.rampCPerS = rampCPerS
        self.holdS = holdS
        self.holdBandC = holdBandC
        self.powerLimitW = powerLimitW
        self.energyCapJ = energyCapJ
        self.minDoseCem43Min = minDoseCem43Min
        self.mode = mode
    }
}

/// Who holds the control lease.
public struct LeaseInfo: Codable, Hashable, Sendable {
    public var held: Bool
    public var client: UInt64?
    public var uid: UInt32?
    public var pid: Int32?
    /// Whether the asking client is the holder.
    public var mine: Bool

    public init(held: Bool, client: UInt64? = nil, uid: UInt32? = nil, pid: Int32? = nil, mine: Bool = false) {
        self.held = held
        self.client = client
        self.uid = uid
        self.pid = pid
        self.mine = mine
    }
}

/// `status`: everything an operator console shows. The first seven keys are the stable form of
/// `rfctl status --json` (README); the rest may grow.
public struct StatusResult: Codable, Hashable, Sendable {
    /// `idle`, `impedance_check`, `ramp`, `hold`, `done`, `stopped`, `faulted`.
    public var state: String
    /// From fresh telemetry only; false when there is none.
    public var rfOn: Bool
    /// `up` once the generator link is through its handshake, `down` otherwise.
    public var link: String
    /// Null when there is no fresh reading (a stale reading is never shown as current).
    public var tipTempC: Double?
    public var powerW: Double?
    public var impedanceOhm: Double?
    public var alarms: [AlarmInfo]

    /// The link engine's state in words: `closed`, `handshaking`, `ready`, `failed(…)`.
    public var linkState: String
    /// The newest frame's readings while fresh; null otherwise.
    public var readings: Readings?
    /// Age of the newest frame, fresh or not; null when none ever arrived.
    public var telemetryAgeMs: Double?
    public var profile: ProfileInfo?
    public var level: String?
    /// The ramped set point the controller follows, °C; null before the first lesion.
    public var setpointC: Double?
    /// Since the start of the lesion, seconds.
    public var elapsedS: Double
    /// Time at temperature still needed, seconds; null when no lesion.
    public var remainingS: Double?
    /// Time within the hold band so far, seconds.
    public var holdS: Double
    public var energyJ: Double
    /// The lesion's highest tip temperature, °C; null before the first lesion.
    public var peakC: Double?
    public var linkStats: LinkStats
    public var loop: LoopTiming
    public var lease: LeaseInfo
    /// The newest sequence number issued.
    public var seq: UInt64
    public var clients: Int
    /// Whether the treatment records are being written.
    public var records = RecordHealth()
    /// The running or last lesion's CEM43 dose at the tip, minutes, and its estimated diameter,
    /// mm; null before the first lesion.
    public var doseCem43Min: Double?
    public var diameterMm: Double?
    /// Whether the last lesion delivered what its profile asks, once it has ended; null while
    /// one runs and before the first. `incomplete_reason` says what it lacks.
    public var complete: Bool?
    public var incompleteReason: String?
    /// The open procedure session, if any: its id, patient reference and planned levels.
    public var session: SessionBrief?

    public init(
        state: String,
        rfOn: Bool,
        link: String,
        tipTempC: Double?,
        powerW: Double?,
        impedanceOhm: Double?,
        alarms: [AlarmInfo],
        linkState: String,
        readings: Readings?,
        telemetryAgeMs: Double?,
        profile: ProfileInfo?,
        level: String?,
        setpointC: Double?,
        elapsedS: Double,
        remainingS: Double?,
        holdS: Double,
        energyJ: Double,
        peakC: Double?,
        linkStats: LinkStats,
        loop: LoopTiming,
        lease: LeaseInfo,
        seq: UInt64,
        clients: Int
    ) {
        self.state = state
        self.rfOn = rfOn
        self.link = link
        self.tipTempC = tipTempC
        self.powerW = powerW
        self.impedanceOhm = impedanceOhm
        self.alarms = alarms
        self.linkState = linkState
        self.readings = readings
        self.telemetryAgeMs = telemetryAgeMs
        self.profile = profile
        self.level = level
        self.setpointC = setpointC
        self.elapsedS = elapsedS
        self.remainingS = remainingS
        self.holdS = holdS
        self.energyJ = energyJ
        self.peakC = peakC
        self.linkStats = linkStats
        self.loop = loop
        self.lease = lease
        self.seq = seq
        self.clients = clients
    }
}

/// One connected client, for `clients` and for the log.
public struct ClientInfo: Codable, Hashable, Sendable {
    public var client: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var role: Role
    public var subscribed: [String]
    public var holdsLease: Bool
    /// Events this client missed because it read too slowly.
    public var missed: UInt64
    /// Its last requests, oldest first, each cut to 200 bytes.
    public var lastRequests: [String]

    public init(
        client: UInt64,
        uid: UInt32,
        gid: UInt32,
        pid: Int32,
        role: Role,
        subscribed: [String],
        holdsLease: Bool,
        missed: UInt64,
        lastRequests: [String]
    ) {
        self.client = client
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.role = role
        self.subscribed = subscribed
        self.holdsLease = holdsLease
        self.missed = missed
        self.lastRequests = lastRequests
    }
}

/// Whether the treatment records are being written: `status.records` and the `records` event.
public struct RecordHealth: Codable, Hashable, Sendable {
    /// False when the daemon keeps no records (no `--state-dir`).
    public var kept: Bool
    /// False while writing fails (a full disk, a database that was deleted): what waits is kept
    /// and tried again every second.
    public var writing: Bool
    /// Why not, in words; null while all is well.
    public var problem: String?
    /// Entries (samples, a lesion's start, alarms, end) waiting to be written.
    public var pending: Int
    /// Samples lost since the daemon started because they could not be written in time; a
    /// lesion's start, alarms and end are never among them.
    public var samplesLost: UInt64

    public init(
        kept: Bool = false,
        writing: Bool = true,
        problem: String? = nil,
        pending: Int = 0,
        samplesLost: UInt64 = 0
    ) {
        self.kept = kept
        self.writing = writing
        self.problem = problem
        self.pending = pending
        self.samplesLost = samplesLost
    }
}
