#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The physical parameters of the tissue around the probe. Every value and its source is listed
/// in `Simulator/README.md`; the presets are calibrated there.
public struct TissueParameters: Hashable, Sendable {
    /// Radius of the sphere that stands for one electrode of the bipolar probe, metres.
    public var electrodeRadius: Double
    /// Radius of the modelled region; beyond it tissue stays at body temperature, metres.
    public var outerRadius: Double
    /// Radial grid spacing, metres.
    public var gridSpacing: Double
    /// Thermal conductivity at 37 °C, W/(m·K).
    public var thermalConductivity: Double
    /// Relative change of thermal conductivity per kelvin above 37 °C.
    public var thermalConductivityPerKelvin: Double
    /// Volumetric heat capacity ρc, J/(m³·K).
    public var volumetricHeatCapacity: Double
    /// Electrical conductivity at 37 °C, S/m.
    public var electricalConductivity: Double
    /// Relative change of electrical conductivity per kelvin above 37 °C.
    public var electricalConductivityPerKelvin: Double
    /// Blood perfusion rate ω_b, 1/s (volume of blood per volume of tissue per second).
    public var perfusionRate: Double
    /// Volumetric heat capacity of blood ρ_b c_b, J/(m³·K).
    public var bloodHeatCapacity: Double
    /// Arterial and initial tissue temperature, °C.
    public var bodyTemperature: Double
    /// Resistance of the probe's leads and cable, ohms.
    public var leadResistance: Double
    /// Series resistance added by a fully formed vapour layer at the tip, ohms.
    public var vapourResistance: Double

    /// Normal cancellous bone of a lumbar vertebral body: marrow perfusion as measured by PET, a
    /// sphere standing for a 16 G × 5 mm electrode (Simulator/README.md, "Parameters and sources").
    public static let normal = TissueParameters(
        electrodeRadius: 1.5e-3,
        outerRadius: 30e-3,
        gridSpacing: 0.5e-3,
        thermalConductivity: 0.29,
        thermalConductivityPerKelvin: 0.002,
        volumetricHeatCapacity: 3.05e6,
        electricalConductivity: 0.087,
        electricalConductivityPerKelvin: 0.02,
        perfusionRate: 0.003,
        bloodHeatCapacity: 3.83e6,
        bodyTemperature: 37,
        leadResistance: 10,
        vapourResistance: 4000
    )

    /// Sclerotic (Modic type 2-3) bone: denser, drier, less perfused (half the normal flow; not
    /// measured); it conducts heat a little better and current worse.
    public static let sclerotic: TissueParameters = {
        var p = TissueParameters.normal
        p.thermalConductivity = 0.36
        p.volumetricHeatCapacity = 2.6e6
        p.electricalConductivity = 0.05
        p.perfusionRate = 0.0015
        return p
    }()

    /// Cancellous bone next to the basivertebral vessels: perfusion (three times the normal flow;
    /// not measured) carries heat away, so more power is needed for the same tip temperature.
    public static let highPerfusion: TissueParameters = {
        var p = TissueParameters.normal
        p.perfusionRate = 0.009
        return p
    }()
}

/// The named presets, as `rfgen-sim --tissue` spells them.
public enum TissuePreset: String, CaseIterable, Sendable {
    case normal
    case sclerotic
    case highPerfusion = "high-perfusion"

    /// The parameters of this preset.
    public var parameters: TissueParameters {
        switch self {
        case .normal: .normal
        case .sclerotic: .sclerotic
        case .highPerfusion: .highPerfusion
        }
    }
}

/// Pennes bioheat in spherical symmetry around one electrode, solved by explicit finite volumes on
/// a radial grid, with temperature-dependent conductivities, perfusion that stops where tissue has
/// coagulated, a vapour layer once the tip passes 100 °C, and thermal dose (CEM43) per shell.
///
/// The bipolar probe is two identical electrodes in series with the tissue between them; by
/// symmetry each receives half the power, so one electrode is modelled and the electrical load is
/// twice its spreading resistance plus the leads. Pure: no clock, no randomness.
public struct TissueModel: Sendable {
    public let parameters: TissueParameters
    /// Temperature of each shell, °C; index 0 is the tissue touching the electrode (the tip).
    public private(set) var temperatures: [Double]
    /// Thermal dose of each shell, equivalent minutes at 43 °C.
    public private(set) var doseMinutes: [Double]
    /// Fraction of the tip covered by vapour, 0-1.
    public private(set) var vapourFraction: Double = 0

    private let radii: [Double]
    private let volumes: [Double]
    /// Geometric factor of the thermal conductance between shell i and i+1 (the last one to the
    /// fixed-temperature boundary): 4π r_face² / dr.
    private let conductanceGeometry: [Double]
    /// Geometric factor of each shell's electrical resistance: (1/r_in − 1/r_out) / 4π.
    private let resistanceGeometry: [Double]
    /// ρc V of each shell, J/K.
    private let heatCapacities: [Double]
    /// Resistance of the tissue beyond the grid, at body temperature, ohms.
    private let outerResistance: Double
    private var doseAccumulatorSeconds = 0.0
    private var doseTemperatureSum: [Double]
    // Scratch space for `step`, kept to avoid two allocations every step.
    private var shellResistance: [Double]
    private var heatFlow: [Double]

    /// Thermal dose that marks coagulation necrosis (Sapareto and Dewey 1984).
    public static let necrosisDoseMinutes = 240.0
    /// Vapour forms once the tip reaches this, °C.
    public static let boilingTemperature = 100.0
    /// Vapour collapses only once the tip has cooled below this, °C (hysteresis).
    public static let condensationTemperature = 95.0
    /// Damage is integrated over this interval to spare a power function per shell per step.
    static let doseIntervalSeconds = 0.1

    /// - Parameter parameters: the tissue; its grid must hold at least 4 shells.
    public init(parameters: TissueParameters) {
        self.parameters = parameters
        let count = Int(((parameters.outerRadius - parameters.electrodeRadius) / parameters.gridSpacing).rounded())
        precondition(count >= 4, "the tissue grid needs at least 4 shells")
        let a = parameters.electrodeRadius
        let dr = parameters.gridSpacing
        var radii: [Double] = []
        var volumes: [Double] = []
        var conductance: [Double] = []
        var resistance: [Double] = []
        for i in 0..<count {
            let r = a + Double(i) * dr
            let inner = i == 0 ? a : r - dr / 2
            let outer = r + dr / 2
            radii.append(r)
            volumes.append(4.0 / 3.0 * Double.pi * (outer * outer * outer - inner * inner * inner))
            conductance.append(4 * Double.pi * outer * outer / dr)
            resistance.append((1 / inner - 1 / outer) / (4 * Double.pi))
        }
        self.radii = radii
        self.volumes = volumes
        self.conductanceGeometry = conductance
        self.resistanceGeometry = resistance
        heatCapacities = volumes.map { $0 * parameters.volumetricHeatCapacity }
        let edge = a + (Double(count) - 0.5) * dr
        outerResistance = 1 / (4 * Double.pi * parameters.electricalConductivity * edge)
        shellResistance = Array(repeating: 0, count: count)
        heatFlow = Array(repeating: 0, count: count)
        temperatures = Array(repeating: parameters.bodyTemperature, count: count)
        doseMinutes = Array(repeating: 0, count: count)
        doseTemperatureSum = Array(repeating: 0, count: count)
    }

    /// Temperature of the tissue at the electrode, °C.
    public var tipTemperature: Double { temperatures[0] }

    private func electricalConductivity(at temperature: Double) -> Double {
        let p = parameters
        // Clamped: a linear rule taken far below body temperature would go negative.
        return p.electricalConductivity
            * max(0.2, 1 + p.electricalConductivityPerKelvin * (temperature - p.bodyTemperature))
    }

    /// Spreading resistance of one electrode into the tissue, ohms.
    private var electrodeResistance: Double {
        var sum = 0.0
        for i in temperatures.indices {
            sum += resistanceGeometry[i] / electricalConductivity(at: temperatures[i])
        }
        return sum + outerResistance
    }

    /// The load the generator sees between its two terminals, ohms.
    public var loadResistance: Double {
        2 * electrodeResistance + parameters.leadResistance + vapourFraction * parameters.vapourResistance
    }

    /// Diameter of the region whose thermal dose has reached necrosis, metres; 0 if none has.
    public var lesionDiameter: Double { 2 * isodoseRadius(minutes: Self.necrosisDoseMinutes) }

    /// The radius at which the thermal dose falls to `minutes`, metres (from the electrode's
    /// centre), continuous between shells; 0 while not even the tip has received it.
    ///
    /// The dose falls off roughly exponentially with distance (it is exponential in temperature,
    /// and temperature falls smoothly), so the crossing is interpolated linearly in log(dose)
    /// between the last shell at or above the threshold and the next: a lesion grows in steps of
    /// far less than 0.1 mm instead of the grid's 0.5 mm (one shell) at a time.
    public func isodoseRadius(minutes threshold: Double) -> Double {
        precondition(threshold > 0, "a dose threshold is positive")
        guard let last = doseMinutes.lastIndex(where: { $0 >= threshold }) else { return 0 }
        guard last + 1 < doseMinutes.count else { return radii[last] }
        let inside = doseMinutes[last]
        let outside = doseMinutes[last + 1]
        guard outside > 0 else { return radii[last] }
        let fraction = (log(inside) - log(threshold)) / (log(inside) - log(outside))
        assert((0...1).contains(fraction), "the crossing lies between the two shells")
        return radii[last] + min(max(fraction, 0), 1) * (radii[last + 1] - radii[last])
    }

    /// Advances the tissue by one time step with the given power flowing into the load.
    /// - Parameters:
    ///   - seconds: the step; stable for the presets up to about 0.5 s, used at 0.01 s.
    ///   - power: power delivered into the load, watts (both electrodes and the leads together).
    public mutating func step(seconds dt: Double, power: Double) {
        let p = parameters
        let count = temperatures.count
        // Shell resistances at this step's temperatures, computed once and used for both the load
        // and the heat source.
        var spreading = 0.0
        for i in 0..<count {
            shellResistance[i] = resistanceGeometry[i] / electricalConductivity(at: temperatures[i])
            spreading += shellResistance[i]
        }
        let load = 2 * (spreading + outerResistance) + p.leadResistance + vapourFraction * p.vapourResistance
        let currentSquared = power > 0 ? power / load : 0

        // Conduction between neighbouring shells; the last shell exchanges with the boundary.
        for i in 0..<count { heatFlow[i] = 0 }
        for i in 0..<count {
            let here = temperatures[i]
            let there = i + 1 < count ? temperatures[i + 1] : p.bodyTemperature
            let mean = (here + there) / 2
            let k = p.thermalConductivity * (1 + p.thermalConductivityPerKelvin * (mean - p.bodyTemperature))
            let heat = k * conductanceGeometry[i] * (there - here)
            heatFlow[i] += heat
            if i + 1 < count { heatFlow[i + 1] -= heat }
        }
        for i in 0..<count {
            // Joule heat of this electrode's half of the current path (I² R of the shell).
            var source = currentSquared * shellResistance[i]
            if i == 0 { source += currentSquared * vapourFraction * p.vapourResistance / 2 }
            // Coagulated tissue has no blood flow left to carry heat away.
            let perfusion = doseMinutes[i] >= Self.necrosisDoseMinutes ? 0 : p.perfusionRate
            let sink = perfusion * p.bloodHeatCapacity * volumes[i] * (temperatures[i] - p.bodyTemperature)
            temperatures[i] += dt * (heatFlow[i] + source - sink) / heatCapacities[i]
            doseTemperatureSum[i] += temperatures[i] * dt
        }

        // Vapour forms fast at boiling and clears slowly once the tip has cooled.
        if tipTemperature >= Self.boilingTemperature {
            vapourFraction = min(1, vapourFraction + dt * 10)
        } else if tipTemperature < Self.condensationTemperature {
            vapourFraction = max(0, vapourFraction - dt * 0.2)
        }

        doseAccumulatorSeconds += dt
        if doseAccumulatorSeconds >= Self.doseIntervalSeconds {
            integrateDose()
        }
    }

    /// CEM43 = Σ R^(43 − T) Δt with R = 0.5 at or above 43 °C and 0.25 below.
    private mutating func integrateDose() {
        let interval = doseAccumulatorSeconds
        for i in temperatures.indices {
            let mean = doseTemperatureSum[i] / interval
            let rate = mean >= 43 ? 0.5 : 0.25
            doseMinutes[i] += pow(rate, 43 - mean) * interval / 60
            doseTemperatureSum[i] = 0
        }
        doseAccumulatorSeconds = 0
    }
}
