/// Tuning and limits of the temperature controller.
public struct ControllerParameters: Hashable, Sendable {
    /// Proportional gain, watts per kelvin of error.
    public var proportionalWattsPerKelvin: Double
    /// Integral gain, watts per kelvin-second of accumulated error.
    public var integralWattsPerKelvinSecond: Double
    /// The highest power the controller asks for: the lower of the profile's limit and the
    /// generator's `max_power_mW`.
    public var maxPowerWatts: Double
    /// The fastest the requested power may rise, watts per second. Falls are never limited: less
    /// power is always the safe direction.
    public var powerSlewWattsPerSecond: Double
    /// Power starts to roll off when impedance exceeds its lowest value of the lesion by this factor:
    /// a sharp rise means desiccation or vapour at the tip, and more power would make it worse.
    public var impedanceRollOffStart: Double
    /// At this factor above the lowest impedance the controller asks for no power at all.
    public var impedanceRollOffEnd: Double

    /// Tuned on the simulator's three tissue presets with sensor noise (see `ControllerQualityTests`).
    public static let standard = ControllerParameters(
        proportionalWattsPerKelvin: 1.5,
        integralWattsPerKelvinSecond: 0.03,
        maxPowerWatts: 15,
        powerSlewWattsPerSecond: 2,
        impedanceRollOffStart: 1.2,
        impedanceRollOffEnd: 1.5
    )

    public init(
        proportionalWattsPerKelvin: Double,
        integralWattsPerKelvinSecond: Double,
        maxPowerWatts: Double,
        powerSlewWattsPerSecond: Double,
        impedanceRollOffStart: Double,
        impedanceRollOffEnd: Double
    ) {
        precondition(maxPowerWatts >= 0 && powerSlewWattsPerSecond > 0, "controller limits must be positive")
        precondition(impedanceRollOffEnd > impedanceRollOffStart && impedanceRollOffStart >= 1, "roll-off band")
        self.proportionalWattsPerKelvin = proportionalWattsPerKelvin
        self.integralWattsPerKelvinSecond = integralWattsPerKelvinSecond
        self.maxPowerWatts = maxPowerWatts
        self.powerSlewWattsPerSecond = powerSlewWattsPerSecond
        self.impedanceRollOffStart = impedanceRollOffStart
        self.impedanceRollOffEnd = impedanceRollOffEnd
    }
}

/// Temperature control of the probe tip: PI on the tip reading with conditional-integration
/// anti-windup, a power ceiling, a limit on how fast power rises, and roll-off when impedance rises
/// sharply. Pure: time arrives as the step's length; it reads no clock and holds no descriptor.
public struct TemperatureController: Sendable {
    public let parameters: ControllerParameters
    /// The integral term, watts; kept within [0, ceiling] so that it can never wind up.
    public private(set) var integralWatts = 0.0
    /// The power requested at the last step, watts.
    public private(set) var outputWatts = 0.0
    /// The lowest impedance seen since `reset`, ohms: the reference for roll-off.
    public private(set) var impedanceFloorOhms: Double?

    public init(parameters: ControllerParameters = .standard) {
        self.parameters = parameters
    }

    /// Forgets everything: for the start of a lesion.
    public mutating func reset() {
        integralWatts = 0
        outputWatts = 0
        impedanceFloorOhms = nil
    }

    /// The fraction of the power ceiling that impedance allows, 0-1.
    public func impedanceAllowance(ohms: Double?) -> Double {
        guard let ohms, ohms.isFinite, let floor = impedanceFloorOhms, floor > 0 else { return 1 }
        let ratio = ohms / floor
        let p = parameters
        return min(1, max(0, (p.impedanceRollOffEnd - ratio) / (p.impedanceRollOffEnd - p.impedanceRollOffStart)))
    }

    /// One control step.
    /// - Parameters:
    ///   - seconds: time since the last step.
    ///   - setPointCelsius: the temperature wanted now (a ramp moves it).
    ///   - measuredCelsius: the tip reading.
    ///   - impedanceOhms: the latest valid impedance, or nil when none was measured.
    /// - Returns: the power to request, watts, within [0, maxPowerWatts].
    public mutating func step(
        seconds dt: Double,
        setPointCelsius: Double,
        measuredCelsius: Double,
        impedanceOhms: Double?
    ) -> Double {
        let p = parameters
        // A reading that is not a number cannot justify power. (The interlocks stop the lesion;
        // this only keeps the controller's own state sane.)
        guard dt > 0, dt.isFinite, setPointCelsius.isFinite, measuredCelsius.isFinite else {
            outputWatts = 0
            return 0
        }
        if let ohms = impedanceOhms, ohms > 0, ohms.isFinite {
            impedanceFloorOhms = min(impedanceFloorOhms ?? ohms, ohms)
        }
        let ceiling = p.maxPowerWatts * impedanceAllowance(ohms: impedanceOhms)

        let error = setPointCelsius - measuredCelsius
        let proportional = p.proportionalWattsPerKelvin * error
        let candidate = integralWatts + p.integralWattsPerKelvinSecond * error * dt
        // Conditional integration: integrate only while the output is not pinned at a limit in the
        // direction the error pushes, so the integral never stores power it could not deliver.
        let unsaturated = proportional + candidate
        if !(unsaturated > ceiling && error > 0) && !(unsaturated < 0 && error < 0) {
            integralWatts = min(max(candidate, 0), ceiling)
        } else {
            integralWatts = min(integralWatts, ceiling)
        }
        var output = min(max(proportional + integralWatts, 0), ceiling)
        output = min(output, outputWatts + p.powerSlewWattsPerSecond * dt)
        outputWatts = output
        return output
    }
}
