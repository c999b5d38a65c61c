// Payload layouts. Each struct's fields are in wire order; PROTOCOL.md, section "Messages", is the
// table they follow. Field names in the canonical text (`description`) are the spec's names.

/// CONFIGURE: the telemetry rate and the watchdog timeout.
public struct Configure: Hashable, Sendable {
    /// Telemetry frames per second; must lie within the generator's advertised range.
    public var telemetryRateHz: UInt16
    /// RF goes off when no valid host frame arrives for this long; 50-1000 ms.
    public var watchdogMilliseconds: UInt16

    public init(telemetryRateHz: UInt16, watchdogMilliseconds: UInt16) {
        self.telemetryRateHz = telemetryRateHz
        self.watchdogMilliseconds = watchdogMilliseconds
    }
}

/// SET_POWER: the power set point and how long it stays valid.
public struct SetPower: Hashable, Sendable {
    /// Requested output power, at most the generator's `max_power_mW`.
    public var powerMilliwatts: UInt32
    /// After this long without a newer SET_POWER, the set point lapses; with RF on, RF goes off.
    public var validityMilliseconds: UInt16

    public init(powerMilliwatts: UInt32, validityMilliseconds: UInt16) {
        self.powerMilliwatts = powerMilliwatts
        self.validityMilliseconds = validityMilliseconds
    }
}

/// IMPEDANCE_CHECK: a short low-power measurement with RF otherwise off.
public struct ImpedanceCheck: Hashable, Sendable {
    /// How long the test signal is applied; 20-500 ms.
    public var durationMilliseconds: UInt16

    public init(durationMilliseconds: UInt16) {
        self.durationMilliseconds = durationMilliseconds
    }
}

/// ACK: a command was accepted (or, for a retry, had already been).
public struct Ack: Hashable, Sendable {
    /// The sequence number of the acknowledged command.
    public var ackSequence: UInt16
    /// The type byte of the acknowledged command.
    public var ackType: UInt8

    public init(ackSequence: UInt16, ackType: UInt8) {
        self.ackSequence = ackSequence
        self.ackType = ackType
    }
}

/// NAK: a command was refused and had no effect.
public struct Nak: Hashable, Sendable {
    /// The sequence number of the refused command.
    public var ackSequence: UInt16
    /// The type byte of the refused command (kept raw: it may be a type the generator does not know).
    public var ackType: UInt8
    /// Why.
    public var reason: NakReason

    public init(ackSequence: UInt16, ackType: UInt8, reason: NakReason) {
        self.ackSequence = ackSequence
        self.ackType = ackType
        self.reason = reason
    }
}

/// HELLO: the generator's identity and capabilities, the reply to HELLO_REQUEST. The protocol
/// version is the one in this frame's header.
public struct Hello: Hashable, Sendable {
    /// The sequence number of the HELLO_REQUEST answered.
    public var ackSequence: UInt16
    public var firmwareMajor: UInt8
    public var firmwareMinor: UInt8
    public var firmwarePatch: UInt8
    /// Model name, UTF-8, at most 32 bytes.
    public var model: String
    /// Serial number, UTF-8, at most 32 bytes.
    public var serialNumber: String
    /// The hardware power limit: no set point above it is accepted and no output above it is delivered.
    public var maxPowerMilliwatts: UInt32
    /// The highest RMS output voltage.
    public var maxVoltageMillivolts: UInt32
    /// The highest RMS output current.
    public var maxCurrentMilliamps: UInt16
    /// How many temperature channels every TELEMETRY carries.
    public var temperatureChannels: UInt8
    /// Lowest configurable telemetry rate.
    public var telemetryRateMinHz: UInt16
    /// Highest configurable telemetry rate.
    public var telemetryRateMaxHz: UInt16
    /// Lowest measurable impedance; below it, with RF on, the `impedance` fault trips.
    public var impedanceMinDeciohms: UInt32
    /// Highest measurable impedance; above it, with RF on, the `impedance` fault trips.
    public var impedanceMaxDeciohms: UInt32
    /// The generator's own temperature cut-off (the `over_temp` fault), centi-degrees Celsius.
    public var temperatureLimitCentiCelsius: Int16

    public init(
        ackSequence: UInt16,
        firmwareMajor: UInt8,
        firmwareMinor: UInt8,
        firmwarePatch: UInt8,
        model: String,
        serialNumber: String,
        maxPowerMilliwatts: UInt32,
        maxVoltageMillivolts: UInt32,
        maxCurrentMilliamps: UInt16,
        temperatureChannels: UInt8,
        telemetryRateMinHz: UInt16,
        telemetryRateMaxHz: UInt16,
        impedanceMinDeciohms: UInt32,
        impedanceMaxDeciohms: UInt32,
        temperatureLimitCentiCelsius: Int16
    ) {
        self.ackSequence = ackSequence
        self.firmwareMajor = firmwareMajor
        self.firmwareMinor = firmwareMinor
        self.firmwarePatch = firmwarePatch
        self.model = model
        self.serialNumber = serialNumber
        self.maxPowerMilliwatts = maxPowerMilliwatts
        self.maxVoltageMillivolts = maxVoltageMillivolts
        self.maxCurrentMilliamps = maxCurrentMilliamps
        self.temperatureChannels = temperatureChannels
        self.telemetryRateMinHz = telemetryRateMinHz
        self.telemetryRateMaxHz = telemetryRateMaxHz
        self.impedanceMinDeciohms = impedanceMinDeciohms
        self.impedanceMaxDeciohms = impedanceMaxDeciohms
        self.temperatureLimitCentiCelsius = temperatureLimitCentiCelsius
    }
}

/// STATUS: the generator's state, the reply to GET_STATUS.
public struct Status: Hashable, Sendable {
    /// The sequence number of the GET_STATUS answered.
    public var ackSequence: UInt16
    public var rfState: RFState
    public var faults: FaultBits
    /// The current set point; 0 when none is valid.
    public var setPointMilliwatts: UInt32
    /// How long the set point stays valid; 0 when none is valid.
    public var setPointRemainingMilliseconds: UInt16
    public var watchdogMilliseconds: UInt16
    public var telemetryRateHz: UInt16
    /// Time since the generator's last reset, wrapping after about 49.7 days.
    public var uptimeMilliseconds: UInt32

    public init(
        ackSequence: UInt16,
        rfState: RFState,
        faults: FaultBits,
        setPointMilliwatts: UInt32,
        setPointRemainingMilliseconds: UInt16,
        watchdogMilliseconds: UInt16,
        telemetryRateHz: UInt16,
        uptimeMilliseconds: UInt32
    ) {
        self.ackSequence = ackSequence
        self.rfState = rfState
        self.faults = faults
        self.setPointMilliwatts = setPointMilliwatts
        self.setPointRemainingMilliseconds = setPointRemainingMilliseconds
        self.watchdogMilliseconds = watchdogMilliseconds
        self.telemetryRateHz = telemetryRateHz
        self.uptimeMilliseconds = uptimeMilliseconds
    }
}

/// One temperature channel in a TELEMETRY message.
public struct TemperatureReading: Hashable, Sendable {
    /// Centi-degrees Celsius; meaningful only when `status` is `ok`.
    public var centiCelsius: Int16
    public var status: TemperatureStatus

    public init(centiCelsius: Int16, status: TemperatureStatus) {
        self.centiCelsius = centiCelsius
        self.status = status
    }
}

/// The 1 to 4 readings of a TELEMETRY message, held inline: a telemetry frame decodes without
/// touching the heap (issue 19: 100 frames a second, for hours, on the link thread). Reads like an
/// array of `TemperatureReading`.
public struct TemperatureReadings: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    // The storage's size is a literal because a generic value argument must be one; `init` checks
    // it against `ProtocolLimits.temperatureChannels`, where the limit lives.
    private var storage = InlineArray<4, TemperatureReading>(
        repeating: TemperatureReading(centiCelsius: 0, status: .ok)
    )
    private var stored: UInt8 = 0

    /// Readings in channel order.
    /// - Parameter readings: at most `ProtocolLimits.temperatureChannels.upperBound` of them (a
    ///   programmer error otherwise: the decoder checks the count before it builds readings).
    public init(_ readings: some Sequence<TemperatureReading>) {
        self.init()
        for reading in readings { append(reading) }
    }

    /// No readings yet; `append` adds them.
    public init() {
        precondition(storage.count == ProtocolLimits.temperatureChannels.upperBound)
    }

    public init(arrayLiteral readings: TemperatureReading...) { self.init(readings) }

    /// Adds the next channel's reading.
    public mutating func append(_ reading: TemperatureReading) {
        precondition(Int(stored) < storage.count, "a telemetry message carries at most 4 temperature channels")
        storage[Int(stored)] = reading
        stored += 1
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(stored) }

    public subscript(position: Int) -> TemperatureReading {
        precondition(position >= 0 && position < Int(stored), "temperature channel out of range")
        return storage[position]
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.elementsEqual(rhs) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stored)
        for reading in self { hasher.combine(reading) }
    }

    public var description: String { Array(self).description }
}

/// TELEMETRY: the generator's measurements, sent at the configured rate from reset on. The frame's
/// sequence number counts telemetry frames alone, so a gap is a lost frame.
public struct Telemetry: Hashable, Sendable {
    /// Generator clock at the moment of measurement, microseconds since reset.
    public var timestampMicroseconds: UInt64
    public var rfState: RFState
    public var faults: FaultBits
    /// The set point in force; 0 when none is valid.
    public var setPointMilliwatts: UInt32
    /// Measured output power.
    public var powerMilliwatts: UInt32
    /// Measured RMS output voltage.
    public var voltageMillivolts: UInt32
    /// Measured RMS output current.
    public var currentMilliamps: UInt16
    /// Measured load impedance; meaningful only when `impedanceValid`.
    public var impedanceDeciohms: UInt32
    /// Whether enough current flowed to measure impedance.
    public var impedanceValid: Bool
    /// One reading for each of the generator's temperature channels, channel 0 (the tip) first.
    public var temperatures: TemperatureReadings

    public init(
        timestampMicroseconds: UInt64,
        rfState: RFState,
        faults: FaultBits,
        setPointMilliwatts: UInt32,
        powerMilliwatts: UInt32,
        voltageMillivolts: UInt32,
        currentMilliamps: UInt16,
        impedanceDeciohms: UInt32,
        impedanceValid: Bool,
        temperatures: TemperatureReadings
    ) {
        self.timestampMicroseconds = timestampMicroseconds
        self.rfState = rfState
        self.faults = faults
        self.setPointMilliwatts = setPointMilliwatts
        self.powerMilliwatts = powerMilliwatts
        self.voltageMillivolts = voltageMillivolts
        self.currentMilliamps = currentMilliamps
        self.impedanceDeciohms = impedanceDeciohms
        self.impedanceValid = impedanceValid
        self.temperatures = temperatures
    }
}

/// EVENT: something the generator detected or did by itself.
public struct Event: Hashable, Sendable {
    /// Generator clock, microseconds since reset.
    public var timestampMicroseconds: UInt64
    public var code: EventCode
    /// All latched faults after the event.
    public var faults: FaultBits
    /// Depends on `code`.
    public var detail: UInt32

    public init(timestampMicroseconds: UInt64, code: EventCode, faults: FaultBits, detail: UInt32) {
        self.timestampMicroseconds = timestampMicroseconds
        self.code = code
        self.faults = faults
        self.detail = detail
    }
}

/// IMPEDANCE_RESULT: the outcome of an IMPEDANCE_CHECK.
public struct ImpedanceResult: Hashable, Sendable {
    /// The sequence number of the IMPEDANCE_CHECK.
    public var ackSequence: UInt16
    public var outcome: ImpedanceOutcome
    /// Measured impedance; 0 unless `outcome` is `ok`.
    public var impedanceDeciohms: UInt32

    public init(ackSequence: UInt16, outcome: ImpedanceOutcome, impedanceDeciohms: UInt32) {
        self.ackSequence = ackSequence
        self.outcome = outcome
        self.impedanceDeciohms = impedanceDeciohms
    }
}
