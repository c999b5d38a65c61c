import RFGenProtocol

/// What can be wrong with a thermocouple channel.
public enum ThermocoupleFault: Hashable, Sendable {
    /// Broken wire: the generator's open-circuit detection reports the channel `open`.
    case open
    /// The two wires touch somewhere along the probe and form a new junction there, at body
    /// temperature. The generator cannot tell: the channel reads about 37 °C with status `ok`.
    /// Only a host that checks plausibility (power flowing, temperature not rising) catches it.
    case shorted
    /// The reading moves away from the truth at a constant rate, °C per second (negative: reads low,
    /// the direction that makes a controller overheat).
    case drifting(celsiusPerSecond: Double)
    /// The reading freezes at its value when the fault began, status `ok`.
    case stuck
    /// The reading jumps by a constant, °C, from the next sample on, status `ok`: a cold-junction
    /// or ground-loop error. A step large enough trips the host's temperature interlocks in one
    /// reading while staying under the generator's own cut-off, which is what the fault-to-RF-off
    /// benchmark needs: the host's reaction, not the generator's.
    case offset(celsius: Double)
}

/// A thermocouple in the probe: first-order lag behind the tissue it touches, Gaussian noise,
/// quantised to 0.01 °C on the wire, and the faults above.
public struct Thermocouple: Sendable {
    /// Time constant of the sensor's lag, seconds.
    public var timeConstant: Double
    /// Standard deviation of the noise, °C.
    public var noise: Double
    public private(set) var fault: ThermocoupleFault?
    /// The sensor junction's own temperature, °C (lagging the tissue).
    public private(set) var junctionTemperature: Double

    private var driftOffset = 0.0
    private var stuckValue = 0.0
    private var lastReading = 0.0

    /// - Parameters:
    ///   - initialTemperature: the tissue temperature at start, °C.
    ///   - timeConstant: lag, seconds.
    ///   - noise: standard deviation, °C.
    public init(initialTemperature: Double, timeConstant: Double, noise: Double) {
        self.timeConstant = timeConstant
        self.noise = noise
        junctionTemperature = initialTemperature
        lastReading = initialTemperature
    }

    /// Starts or ends a fault.
    public mutating func setFault(_ fault: ThermocoupleFault?) {
        self.fault = fault
        driftOffset = 0
        stuckValue = lastReading
    }

    /// Follows the tissue for one step.
    public mutating func step(seconds dt: Double, tissueTemperature: Double) {
        junctionTemperature += (tissueTemperature - junctionTemperature) * min(1, dt / timeConstant)
        if case .drifting(let rate) = fault { driftOffset += rate * dt }
    }

    /// Samples the channel as the generator's ADC would.
    public mutating func read(using random: inout SeededRandom) -> TemperatureSample {
        let value: Double
        let valid: Bool
        switch fault {
        case .open:
            return TemperatureSample(celsius: 0, status: .open)
        case .shorted:
            value = 37 + random.gaussian(standardDeviation: noise)
            valid = true
        case .stuck:
            value = stuckValue
            valid = true
        case .offset(let celsius):
            value = junctionTemperature + celsius + random.gaussian(standardDeviation: noise)
            valid = true
        case .drifting, nil:
            value = junctionTemperature + driftOffset + random.gaussian(standardDeviation: noise)
            valid = true
        }
        lastReading = value
        // The channel measures -50 to 300 °C; outside that the reading means nothing.
        guard valid, value > -50, value < 300 else { return TemperatureSample(celsius: 0, status: .outOfRange) }
        return TemperatureSample(celsius: value, status: .ok)
    }
}

/// One sampled temperature channel.
public struct TemperatureSample: Hashable, Sendable {
    public var celsius: Double
    public var status: TemperatureStatus
}
