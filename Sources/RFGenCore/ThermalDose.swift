#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The thermal dose a lesion delivered, and the lesion it is estimated to have made, from the tip
// temperature alone. Pure: the core adds each fresh reading with its interval; nothing here
// decides anything about RF. The estimate is for people (status, record, report), never for
// control, since no sensor checks it.

/// CEM43, the cumulative equivalent minutes at 43 °C (Sapareto and Dewey 1984): the time at
/// 43 °C that would do the same thermal damage.
public enum CEM43 {
    /// The dose of `seconds` at `celsius`, minutes: R^(43 − T) Δt with R = 0.5 at or above
    /// 43 °C and 0.25 below.
    public static func minutes(celsius: Double, seconds: Double) -> Double {
        let rate = celsius >= 43 ? 0.5 : 0.25
        return pow(rate, 43 - celsius) * seconds / 60
    }

    /// The dose that marks coagulation necrosis, minutes: the soft-tissue threshold the
    /// simulator's tissue model uses too (Simulator/README.md, "Lesion and dose").
    public static let necrosisMinutes = 240.0
}

/// The daemon's estimate of the lesion's diameter: Pennes bioheat in spherical symmetry around
/// one electrode whose surface is held at the measured tip temperature, with the thermal dose
/// integrated per shell; the diameter is that of the 240 CEM43-minute isodose.
///
/// Why this model: with the surface temperature known, the spread of heat into the tissue needs
/// no electrical parameters (the load, the power, the vapour), only how bone conducts, stores
/// and loses heat to blood. Its parameters are those of normal cancellous bone in
/// Simulator/README.md (thermal conductivity from Cosman 2014's bone, heat capacity, marrow
/// perfusion measured by PET) and a 1.5 mm electrode sphere standing for a 16 G × 5 mm
/// electrode. How far to trust it is measured in `LesionEstimateTests` and written in
/// docs/DOSE.md: against the simulator's full model it is within 1.5 mm on every preset; the
/// simulator itself is within its stated tolerance of published ex vivo bone lesions, and
/// untested in vivo, where perfusion differs from patient to patient.
///
/// This is a second model beside the simulator's on purpose, not a copy: the simulator is the
/// truth the tests judge by, and the daemon's estimate must be checked against it, not share it.
public struct LesionEstimator: Sendable {
    /// The tissue the estimate assumes.
    public struct Parameters: Hashable, Sendable {
        /// Radius of the electrode sphere, metres.
        public var electrodeRadius: Double
        /// Radius of the modelled region; beyond it tissue stays at body temperature, metres.
        public var outerRadius: Double
        /// Radial grid spacing, metres.
        public var gridSpacing: Double
        /// Thermal conductivity at 37 °C, W/(m·K), and its relative change per kelvin.
        public var thermalConductivity: Double
        public var thermalConductivityPerKelvin: Double
        /// Volumetric heat capacity ρc, J/(m³·K).
        public var volumetricHeatCapacity: Double
        /// Blood perfusion, 1/s, and the blood's volumetric heat capacity, J/(m³·K).
        public var perfusionRate: Double
        public var bloodHeatCapacity: Double
        /// Body temperature, °C.
        public var bodyTemperature: Double

        /// Normal cancellous bone of a lumbar vertebral body (Simulator/README.md, "Parameters
        /// and sources"; `LesionEstimateTests` checks these stay equal to the simulator's
        /// `normal` preset).
        public static let bone = Parameters(
            electrodeRadius: 1.5e-3,
            outerRadius: 30e-3,
            gridSpacing: 0.5e-3,
            thermalConductivity: 0.29,
            thermalConductivityPerKelvin: 0.002,
            volumetricHeatCapacity: 3.05e6,
            perfusionRate: 0.003,
            bloodHeatCapacity: 3.83e6,
            bodyTemperature: 37
        )
    }

    /// The time step of the tissue model, seconds: readings are averaged over it. Explicit
    /// stepping is stable up to about 1 s on the bone grid; 0.1 s keeps the dose integration close
    /// to a per-reading sum at one hundredth of a 100 Hz tick's cost.
    public static let stepSeconds = 0.1

    public let parameters: Parameters
    /// Temperature of each shell, °C; shell 0 touches the electrode and takes the reading.
    public private(set) var temperatures: [Double]
    /// Thermal dose of each shell, CEM43 minutes.
    public private(set) var doseMinutes: [Double]
    private let radii: [Double]
    private let volumes: [Double]
    private let conductanceGeometry: [Double]
    /// The share of the electrode's Joule heat that each shell takes: its part of the spreading
    /// resistance, (1/r_in − 1/r_out), at uniform conductivity.
    private let heatShare: [Double]
    private var pendingSeconds = 0.0
    private var pendingTemperatureSum = 0.0
    private var heatFlow: [Double]

    public init(parameters: Parameters = .bone) {
        self.parameters = parameters
        let count = Int(((parameters.outerRadius - parameters.electrodeRadius) / parameters.gridSpacing).rounded())
        precondition(count >= 4, "the estimate's grid needs at least 4 shells")
        let a = parameters.electrodeRadius
        let dr = parameters.gridSpacing
        var radii: [Double] = []
        var volumes: [Double] = []
        var conductance: [Double] = []
        var share: [Double] = []
        for i in 0..<count {
            let r = a + Double(i) * dr
            let inner = i == 0 ? a : r - dr / 2
            let outer = r + dr / 2
            radii.append(r)
            volumes.append(4.0 / 3.0 * Double.pi * (outer * outer * outer - inner * inner * inner))
            conductance.append(4 * Double.pi * outer * outer / dr)
            share.append(1 / inner - 1 / outer)
        }
        let total = share.reduce(0, +)
        heatShare = share.map { $0 / total }
        self.radii = radii
        self.volumes = volumes
        conductanceGeometry = conductance
        temperatures = Array(repeating: parameters.bodyTemperature, count: count)
        doseMinutes = Array(repeating: 0, count: count)
        heatFlow = Array(repeating: 0, count: count)
    }

    /// Adds a tip reading held for `seconds`; the tissue advances once a whole step has gathered.
    /// - Returns: whether it advanced.
    @discardableResult
    public mutating func add(celsius: Double, seconds: Double) -> Bool {
        precondition(seconds >= 0 && celsius.isFinite, "a reading is finite and its interval not negative")
        pendingSeconds += seconds
        pendingTemperatureSum += celsius * seconds
        var stepped = false
        while pendingSeconds >= Self.stepSeconds {
            stepped = true
            let mean = pendingTemperatureSum / pendingSeconds
            step(tipCelsius: mean)
            pendingSeconds -= Self.stepSeconds
            pendingTemperatureSum = mean * pendingSeconds
        }
        return stepped
    }

    /// One step of the tissue: the heat the electrode put into the tissue is what brings the
    /// shell at the electrode to the reading; it is spread over the shells as the current spreads
    /// it (most of it beyond the first half-millimetre), conduction and blood carry it on.
    private mutating func step(tipCelsius: Double) {
        let p = parameters
        let dt = Self.stepSeconds
        let count = temperatures.count
        for i in 0..<count { heatFlow[i] = 0 }
        for i in 0..<count {
            let here = temperatures[i]
            let there = i + 1 < count ? temperatures[i + 1] : p.bodyTemperature
            let k =
                p.thermalConductivity * (1 + p.thermalConductivityPerKelvin * ((here + there) / 2 - p.bodyTemperature))
            let heat = k * conductanceGeometry[i] * (there - here)
            heatFlow[i] += heat
            if i + 1 < count { heatFlow[i + 1] -= heat }
        }
        func sink(_ i: Int) -> Double {
            // Blood carries heat away, except where the tissue has coagulated.
            let perfusion = doseMinutes[i] >= CEM43.necrosisMinutes ? 0 : p.perfusionRate
            return perfusion * p.bloodHeatCapacity * volumes[i] * (temperatures[i] - p.bodyTemperature)
        }
        // The electrode's heat that takes shell 0 from its temperature to the reading in one step;
        // never negative (RF heats, it cannot cool): a reading that falls faster than the tissue
        // can cool is taken as it is.
        let capacity0 = p.volumetricHeatCapacity * volumes[0]
        let needed = capacity0 * (tipCelsius - temperatures[0]) / dt - heatFlow[0] + sink(0)
        let heat = max(0, needed / heatShare[0])
        for i in 0..<count {
            let capacity = p.volumetricHeatCapacity * volumes[i]
            temperatures[i] += dt * (heatFlow[i] + heat * heatShare[i] - sink(i)) / capacity
        }
        temperatures[0] = tipCelsius
        for i in 0..<count {
            doseMinutes[i] += CEM43.minutes(celsius: temperatures[i], seconds: dt)
        }
    }

    /// Diameter of the 240 CEM43-minute isodose, millimetres; 0 while the tissue at the electrode
    /// has not received it. The crossing between shells is interpolated in log(dose), which falls
    /// nearly linearly with distance, so the estimate grows smoothly rather than by whole shells.
    public var diameterMillimetres: Double {
        let threshold = CEM43.necrosisMinutes
        guard let last = doseMinutes.lastIndex(where: { $0 >= threshold }) else { return 0 }
        guard last + 1 < doseMinutes.count, doseMinutes[last + 1] > 0 else { return 2000 * radii[last] }
        let inside = log(doseMinutes[last])
        let outside = log(doseMinutes[last + 1])
        let fraction = min(max((inside - log(threshold)) / (inside - outside), 0), 1)
        return 2000 * (radii[last] + fraction * (radii[last + 1] - radii[last]))
    }
}

/// What a lesion delivered: the tip's CEM43 dose, summed reading by reading, and the estimated
/// lesion. The core adds every fresh tip reading while RF is commanded on (ramp and hold).
///
/// The dose after RF off, while the tissue cools, is not counted: it would need readings the
/// lesion no longer owns (the next lesion may begin), and leaving it out errs on the side of
/// calling a lesion smaller, never larger, than it is.
public struct ThermalDose: Sendable {
    /// CEM43 at the tip, minutes.
    public private(set) var tipMinutes = 0.0
    public private(set) var estimator: LesionEstimator

    public init(parameters: LesionEstimator.Parameters = .bone) {
        estimator = LesionEstimator(parameters: parameters)
    }

    public mutating func add(celsius: Double, seconds: Double) {
        tipMinutes += CEM43.minutes(celsius: celsius, seconds: seconds)
        if estimator.add(celsius: celsius, seconds: seconds) {
            diameterMillimetres = (estimator.diameterMillimetres * 10).rounded() / 10
        }
    }

    /// The estimated lesion diameter, millimetres, to the 0.1 mm it is shown and recorded with
    /// (its error is a millimetre or more, docs/DOSE.md); computed once per estimator step.
    public private(set) var diameterMillimetres = 0.0
}

/// Whether a lesion delivered what its profile asked: time at temperature and dose. Judged once,
/// when it ends; a lesion that ends early for any reason (stopped, an alarm) is incomplete unless
/// both were already reached.
public enum LesionCompleteness {
    /// Why the lesion is incomplete, in words; nil when it is complete.
    public static func shortfall(
        profile: TreatmentProfile,
        holdSeconds: Double,
        doseMinutes: Double
    ) -> String? {
        var reasons: [String] = []
        // Hold time is summed tick by tick: allow the rounding of a sum of ticks, not a tick.
        if holdSeconds + 1e-6 < profile.holdSeconds {
            reasons.append(
                "time at temperature \(format(holdSeconds)) s of the \(format(profile.holdSeconds)) s asked"
            )
        }
        if doseMinutes < profile.minimumDoseCEM43Minutes {
            // In percent of what was asked: the doses themselves run to 10^13 and more.
            let percent = Int((100 * doseMinutes / profile.minimumDoseCEM43Minutes).rounded(.down))
            reasons.append("CEM43 dose \(percent) % of the dose asked")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    private static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded() / 10
        return tenths == tenths.rounded() ? "\(Int(tenths))" : "\(tenths)"
    }

}
