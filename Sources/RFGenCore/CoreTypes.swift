import RFGenProtocol

/// What the link knows, handed to the core each tick. The shell fills it; the core only reads it.
public struct LinkSnapshot: Sendable {
    /// The port is open and the handshake succeeded.
    public var connected: Bool
    /// The generator's hardware power limit from HELLO, watts; nil before the handshake.
    public var generatorMaxPowerWatts: Double?
    /// Which generator it is, from HELLO; nil before the handshake.
    public var generator: GeneratorIdentity?
    /// The newest telemetry and when it arrived.
    public var telemetry: Telemetry?
    public var telemetryReceivedAt: MonotonicInstant
    /// The newest impedance-check result and when it arrived.
    public var impedanceResult: ImpedanceResult?
    public var impedanceResultReceivedAt: MonotonicInstant

    public init(
        connected: Bool,
        generatorMaxPowerWatts: Double? = nil,
        generator: GeneratorIdentity? = nil,
        telemetry: Telemetry? = nil,
        telemetryReceivedAt: MonotonicInstant = MonotonicInstant(microseconds: 0),
        impedanceResult: ImpedanceResult? = nil,
        impedanceResultReceivedAt: MonotonicInstant = MonotonicInstant(microseconds: 0)
    ) {
        self.connected = connected
        self.generatorMaxPowerWatts = generatorMaxPowerWatts
        self.generator = generator
        self.telemetry = telemetry
        self.telemetryReceivedAt = telemetryReceivedAt
        self.impedanceResult = impedanceResult
        self.impedanceResultReceivedAt = impedanceResultReceivedAt
    }

    /// The newest telemetry if it is current at `now`: the link up and the frame no older than the
    /// stale limit. The one test of freshness: the core's interlocks, the status, the telemetry
    /// events and the record all take their readings through it, so a stale reading is never
    /// acted on, shown or recorded as current.
    public func freshTelemetry(at now: MonotonicInstant) -> Telemetry? {
        connected && now - telemetryReceivedAt <= InterlockLimits.staleMicroseconds ? telemetry : nil
    }

    /// Age of the newest telemetry at `now`, microseconds; nil when none has arrived.
    public func telemetryAge(at now: MonotonicInstant) -> Int64? {
        telemetry == nil ? nil : now - telemetryReceivedAt
    }
}

/// Which generator delivered a lesion, as its HELLO named it: for the record.
public struct GeneratorIdentity: Hashable, Sendable {
    /// Model name and serial number, UTF-8, at most 32 bytes each (PROTOCOL.md, HELLO); as the
    /// generator sent them, so whoever shows them escapes them.
    public var model: String
    public var serialNumber: String
    /// major.minor.patch.
    public var firmware: String

    public init(model: String, serialNumber: String, firmware: String) {
        self.model = model
        self.serialNumber = serialNumber
        self.firmware = firmware
    }
}

/// What an operator asks for, through the API.
public enum OperatorCommand: Hashable, Sendable {
    /// Begin a lesion with this profile. The only way RF ever comes on.
    case start(TreatmentProfile)
    /// End the lesion now, RF off; not an alarm.
    case stop
    /// RF off at once with a high-priority alarm.
    case emergencyStop
    /// Acknowledge the latched alarms; accepted once their conditions have cleared.
    case acknowledge
}

/// A command for the generator, which the link encodes, numbers and retries.
public enum GeneratorCommand: Hashable, Sendable {
    case setPower(milliwatts: UInt32, validityMilliseconds: UInt16)
    case rfOn
    case rfOff
    case impedanceCheck(milliseconds: UInt16)
    case clearFault
}

/// The phases of a treatment.
public enum TreatmentPhase: String, Sendable, CaseIterable, Codable {
    /// No treatment; RF off. The phase after start-up, reconnect and restart.
    case idle
    /// A low-power impedance measurement before any RF.
    case impedanceCheck = "impedance_check"
    /// RF on, the set point rising to the profile's temperature.
    case ramp
    /// RF on at temperature; hold time counts within the band.
    case hold
    /// The hold time is complete; RF off.
    case done
    /// The operator stopped the lesion; RF off.
    case stopped
    /// An interlock tripped; RF off; alarms latched until acknowledged with their conditions cleared.
    case faulted

    /// RF may be on only in these.
    public var isActive: Bool { self == .impedanceCheck || self == .ramp || self == .hold }

    /// Whether going from `from` to this phase begins a lesion: the one definition that the
    /// record, the machine's lesion timing and the simulation's checks share.
    public func beginsLesion(from: TreatmentPhase) -> Bool { self == .impedanceCheck && !from.isActive }

    /// Whether going from `from` to this phase ends a lesion.
    public func endsLesion(from: TreatmentPhase) -> Bool { from.isActive && !isActive }
}

/// What the core decided at one tick, in order of urgency: generator commands first.
public enum CoreAction: Hashable, Sendable {
    case generator(GeneratorCommand)
    case alarm(Alarm)
    case phaseChanged(from: TreatmentPhase, to: TreatmentPhase)
    /// An operator command that could not be carried out, and why. `index` is its position among
    /// the tick's commands: two commands of one tick may be equal (two operators' stops, a client's
    /// pipelined starts), and each must get its own outcome.
    case refused(OperatorCommand, index: Int, reason: String)
}

/// What became of a tick's operator commands, by position: the one reading of the core's refusals
/// that the daemon's control loop and the deterministic simulation share.
public enum TickOutcomes {
    /// Each command's refusal, nil for those carried out.
    /// - Parameters:
    ///   - count: how many commands the tick was given.
    ///   - actions: the tick's actions.
    public static func refusals(count: Int, actions: [CoreAction]) -> [String?] {
        var refusals = [String?](repeating: nil, count: count)
        for case .refused(_, let index, let reason) in actions {
            precondition(refusals.indices.contains(index), "a refusal names a command of its tick")
            refusals[index] = reason
        }
        return refusals
    }

    /// The position of the start the tick carried out, if any: the first start not refused (once
    /// one is carried out a treatment runs, and every later start of the tick is refused).
    public static func acceptedStart(commands: [OperatorCommand], actions: [CoreAction]) -> Int? {
        let refusals = refusals(count: commands.count, actions: actions)
        return commands.indices.first { index in
            if case .start = commands[index], refusals[index] == nil { true } else { false }
        }
    }
}
