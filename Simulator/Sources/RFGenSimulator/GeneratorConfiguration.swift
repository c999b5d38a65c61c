import RFGenProtocol

/// What the simulated generator is: its identity, capabilities and the physics it drives.
public struct GeneratorConfiguration: Sendable {
    public var model = "RFG-SIM-1"
    public var serialNumber = "SIM-0001"
    public var firmware: (major: UInt8, minor: UInt8, patch: UInt8) = (0, 1, 0)
    /// The hardware power limit advertised in HELLO, milliwatts.
    public var maxPowerMilliwatts: UInt32 = 20_000
    /// Output voltage ceiling, RMS millivolts.
    public var maxVoltageMillivolts: UInt32 = 120_000
    /// Output current ceiling, RMS milliamps.
    public var maxCurrentMilliamps: UInt16 = 1_000
    /// Temperature channels; channel 0 is the distal electrode (the tip), channel 1 the proximal.
    public var temperatureChannels = 2
    public var telemetryRateRangeHz: ClosedRange<UInt16> = 1...1000
    /// The measurable impedance range; with RF on, a load outside it raises the `impedance` fault.
    public var impedanceRangeDeciohms: ClosedRange<UInt32> = 200...30_000
    /// The generator's own temperature cut-off, centi-degrees Celsius.
    public var temperatureLimitCentiCelsius: Int16 = 10_500
    /// Power of the impedance check's test signal, watts.
    public var impedanceCheckPower = 0.1
    /// The physics time step; telemetry samples the most recent step.
    public var physicsStepMicroseconds: Int64 = 10_000
    /// After a reset the generator is silent for this long before its BOOT event.
    public var bootMicroseconds: Int64 = 300_000
    /// Thermocouple lag time constant, seconds.
    public var thermocoupleTimeConstant = 0.25
    /// Thermocouple noise, standard deviation in °C.
    public var thermocoupleNoise = 0.05
    public var tissue = TissueParameters.normal
    /// Fixes every random choice (sensor noise, bit errors, garbage).
    public var seed: UInt64 = 1
    /// The generator's own safety (PROTOCOL.md section 7): the watchdog, set-point validity, and
    /// the monitor of temperature, sensors, impedance and power. Every real generator has it.
    /// Deterministic simulation switches it off for some seeds, so that the host's interlocks are
    /// tested alone: with it on, a host that forgot an RF_OFF is mostly rescued by the generator
    /// and the mistake goes unseen.
    public var selfProtection = true

    public init() {}

    /// The HELLO this configuration advertises.
    func hello(answering sequence: UInt16) -> Hello {
        Hello(
            ackSequence: sequence,
            firmwareMajor: firmware.major,
            firmwareMinor: firmware.minor,
            firmwarePatch: firmware.patch,
            model: model,
            serialNumber: serialNumber,
            maxPowerMilliwatts: maxPowerMilliwatts,
            maxVoltageMillivolts: maxVoltageMillivolts,
            maxCurrentMilliamps: maxCurrentMilliamps,
            temperatureChannels: UInt8(temperatureChannels),
            telemetryRateMinHz: telemetryRateRangeHz.lowerBound,
            telemetryRateMaxHz: telemetryRateRangeHz.upperBound,
            impedanceMinDeciohms: impedanceRangeDeciohms.lowerBound,
            impedanceMaxDeciohms: impedanceRangeDeciohms.upperBound,
            temperatureLimitCentiCelsius: temperatureLimitCentiCelsius
        )
    }
}
