/// What the generator's RF output is doing.
public enum RFState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// No output. The state after reset and after any fault.
    case off = 0
    /// Output on, regulated to the power set point.
    case on = 1
    /// A low-power impedance measurement is running.
    case impedanceCheck = 2

    public var description: String {
        switch self {
        case .off: "off"
        case .on: "on"
        case .impedanceCheck: "impedance_check"
        }
    }
}

/// Whether a temperature channel's reading can be used.
public enum TemperatureStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The reading is valid.
    case ok = 0
    /// The sensor circuit is open (broken thermocouple, unplugged probe).
    case open = 1
    /// The sensor circuit is shorted.
    case shorted = 2
    /// The reading is outside the channel's measuring range.
    case outOfRange = 3

    public var description: String {
        switch self {
        case .ok: "ok"
        case .open: "open"
        case .shorted: "shorted"
        case .outOfRange: "out_of_range"
        }
    }
}

/// Why a generator refused a command.
public enum NakReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The payload did not decode (wrong length, undefined value).
    case malformed = 1
    /// A value lies outside the range that PROTOCOL.md or the generator's capabilities allow.
    case outOfRange = 2
    /// A fault is latched; CLEAR_FAULT first.
    case faultActive = 3
    /// RF_ON needs a power set point that is still valid.
    case noSetPoint = 4
    /// Not allowed while RF is on.
    case rfActive = 5
    /// An impedance check is running.
    case busy = 6
    /// CLEAR_FAULT: the condition behind a fault is still present.
    case conditionPersists = 7
    /// The message type is not a host command this generator knows.
    case unknownType = 8
    /// The frame's major protocol version differs from the generator's.
    case unsupportedVersion = 9

    public var description: String {
        switch self {
        case .malformed: "malformed"
        case .outOfRange: "out_of_range"
        case .faultActive: "fault_active"
        case .noSetPoint: "no_setpoint"
        case .rfActive: "rf_active"
        case .busy: "busy"
        case .conditionPersists: "condition_persists"
        case .unknownType: "unknown_type"
        case .unsupportedVersion: "unsupported_version"
        }
    }
}

/// The generator's latched fault bits. Any bit set means RF is off and stays off until the host
/// sends CLEAR_FAULT and the condition is gone. Bits this version does not name are kept as they
/// came: a receiver must treat an unknown set bit as a fault.
public struct FaultBits: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The generator has reset since the last CLEAR_FAULT.
    public static let reset = FaultBits(rawValue: 1 << 0)
    /// No valid host frame arrived within the watchdog timeout while RF was on.
    public static let watchdog = FaultBits(rawValue: 1 << 1)
    /// The power set point outlived its validity while RF was on.
    public static let setPointExpired = FaultBits(rawValue: 1 << 2)
    /// Delivered power exceeded the hardware power limit.
    public static let overPower = FaultBits(rawValue: 1 << 3)
    /// A valid temperature channel reached the generator's own temperature limit.
    public static let overTemperature = FaultBits(rawValue: 1 << 4)
    /// A temperature channel is open, shorted or out of range while RF was on.
    public static let temperatureSensor = FaultBits(rawValue: 1 << 5)
    /// Impedance left the measurable range while RF was on.
    public static let impedance = FaultBits(rawValue: 1 << 6)
    /// The output stage reported an internal error.
    public static let hardware = FaultBits(rawValue: 1 << 7)

    /// Names of the defined bits, in bit order, as PROTOCOL.md writes them.
    public static let names: [(FaultBits, String)] = [
        (.reset, "reset"), (.watchdog, "watchdog"), (.setPointExpired, "setpoint_expired"),
        (.overPower, "over_power"), (.overTemperature, "over_temp"), (.temperatureSensor, "temp_sensor"),
        (.impedance, "impedance"), (.hardware, "hardware"),
    ]

    /// The set bits by PROTOCOL.md's names, in bit order; a bit this version does not name is
    /// `bit_N` (still a fault). What an operator reads: never the mask.
    public var names: [String] {
        (0..<32).compactMap { bit -> String? in
            let flag = FaultBits(rawValue: 1 << UInt32(bit))
            guard contains(flag) else { return nil }
            return Self.names.first { $0.0 == flag }?.1 ?? "bit_\(bit)"
        }
    }

    /// `names`, as words in a sentence: "setpoint_expired, watchdog".
    public var text: String { names.joined(separator: ", ") }

    /// The eight-hex-digit form used by the canonical text (the protocol's own test vectors); for
    /// people, `names`.
    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}

/// What an EVENT reports.
public enum EventCode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The generator has (re)started; `detail` is the reset cause (0 power-on, 1 watchdog reset,
    /// 2 software reset). RF is off and the `reset` fault is latched.
    case boot = 1
    /// Faults were raised and RF is off; `detail` holds the newly raised bits.
    case fault = 2
    /// CLEAR_FAULT cleared faults; `detail` holds the cleared bits.
    case faultsCleared = 3

    public var description: String {
        switch self {
        case .boot: "boot"
        case .fault: "fault"
        case .faultsCleared: "faults_cleared"
        }
    }
}

/// How an impedance check ended.
public enum ImpedanceOutcome: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The measurement completed; the impedance is valid.
    case ok = 0
    /// RF_OFF, a fault or a reset ended it early; the impedance is 0.
    case aborted = 1
    /// No measurable current flowed, or the value lies outside the measurable range.
    case outOfRange = 2

    public var description: String {
        switch self {
        case .ok: "ok"
        case .aborted: "aborted"
        case .outOfRange: "out_of_range"
        }
    }
}
