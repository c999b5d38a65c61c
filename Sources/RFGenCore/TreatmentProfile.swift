/// How a profile controls the output.
public enum ControlMode: String, Hashable, Sendable, CaseIterable {
    /// The tip is held at the set point (ramped to it); power is what that takes, up to the limit.
    case temperature
    /// Constant power (`powerLimitWatts`) for the hold time, the set point a limit the tip is never
    /// driven past: the controller gives less power only to keep the tip at or below it.
    case power
}

/// What one lesion should do: the temperature, how fast to get there, how long to hold it, and the
/// power the controller may use.
public struct TreatmentProfile: Hashable, Sendable {
    /// The name operators choose it by.
    public var name: String
    /// Temperature-controlled (the default, and `bvn`) or power-controlled.
    public var mode: ControlMode = .temperature
    /// The tip temperature to hold, °C.
    public var setPointCelsius: Double
    /// How fast the set point rises from the starting reading to `setPointCelsius`, °C per second.
    public var rampCelsiusPerSecond: Double
    /// Time at temperature that completes the lesion, seconds. Only time within `holdBandCelsius`
    /// of the set point counts. In power mode, time at power: every second of the hold counts.
    public var holdSeconds: Double
    /// Half-width of the band around the set point within which hold time counts, °C.
    public var holdBandCelsius: Double
    /// The most power the controller may ask for, watts; also capped by the generator's
    /// `max_power_mW`. In power mode, the power delivered while the tip is below the set point.
    public var powerLimitWatts: Double
    /// The most energy the lesion may deliver, joules; the `energy_cap` interlock ends it there.
    public var energyCapJoules: Double
    /// The CEM43 dose at the tip, minutes, that a complete lesion has delivered
    /// (`LesionCompleteness`); with the hold time, what makes a lesion complete.
    public var minimumDoseCEM43Minutes: Double

    /// Basivertebral nerve ablation: 85 °C held for 15 minutes per vertebral body
    /// (`shared/domain.md`; the dose is widely quoted, unconfirmed in the trial methods).
    /// Ramp 1 °C/s; hold counts within ±2 °C; at most 15 W, well above the 3-5 W bone needs at
    /// 85 °C and below a 20 W spine generator's limit; at most 12 kJ, three times what the
    /// simulated presets need (3-4 kJ), so that only a lesion gone wrong reaches it. Its dose is
    /// what the hold delivers at the band's lower edge, 15 min at 83 °C: 15 × 2^40 CEM43 minutes.
    /// A hold that counted its full time in the band has delivered it; one that sat low, cut
    /// short, or a profile of another shape need not have.
    public static let bvn = TreatmentProfile(
        name: "bvn",
        setPointCelsius: 85,
        rampCelsiusPerSecond: 1,
        holdSeconds: 900,
        holdBandCelsius: 2,
        powerLimitWatts: 15,
        energyCapJoules: 12_000,
        minimumDoseCEM43Minutes: 15 * 1_099_511_627_776
    )

    /// The profiles built into the daemon.
    public static let builtIn: [TreatmentProfile] = [.bvn]

    /// The most profiles a configuration may add: a device maker's handful, not a database.
    public static let maxConfigured = 32

    /// The profiles a daemon offers: the built-in ones, then a device maker's from the
    /// configuration file, each checked against the limits no profile can pass.
    /// - Returns: the list, or one message per problem (naming the profile) when any is wrong:
    ///   a daemon with a bad profile does not start, rather than start without it.
    public static func catalogue(adding configured: [TreatmentProfile]) -> Result<[TreatmentProfile], ProfileError> {
        var problems: [String] = []
        if configured.count > maxConfigured {
            problems.append("at most \(maxConfigured) profiles may be configured; got \(configured.count)")
        }
        var names = Set(builtIn.map(\.name))
        for profile in configured {
            if !names.insert(profile.name).inserted {
                problems.append(
                    builtIn.contains { $0.name == profile.name }
                        ? "profile \(profile.name) is built in and cannot be redefined"
                        : "profile \(profile.name) is configured twice"
                )
            }
            problems += profile.problems().map { "profile \(profile.name): \($0)" }
        }
        return problems.isEmpty ? .success(builtIn + configured) : .failure(ProfileError(problems: problems))
    }

    public init(
        name: String,
        setPointCelsius: Double,
        rampCelsiusPerSecond: Double,
        holdSeconds: Double,
        holdBandCelsius: Double,
        powerLimitWatts: Double,
        energyCapJoules: Double,
        minimumDoseCEM43Minutes: Double,
        mode: ControlMode = .temperature
    ) {
        self.name = name
        self.mode = mode
        self.setPointCelsius = setPointCelsius
        self.rampCelsiusPerSecond = rampCelsiusPerSecond
        self.holdSeconds = holdSeconds
        self.holdBandCelsius = holdBandCelsius
        self.powerLimitWatts = powerLimitWatts
        self.energyCapJoules = energyCapJoules
        self.minimumDoseCEM43Minutes = minimumDoseCEM43Minutes
    }

    /// This profile with a shorter hold (the `hold_s` of a start, for tests and demonstrations):
    /// the dose asked shrinks with the hold, so that a lesion that held its shorter time in the
    /// band is complete.
    public func withHold(seconds: Double) -> TreatmentProfile {
        var profile = self
        profile.minimumDoseCEM43Minutes *= seconds / holdSeconds
        profile.holdSeconds = seconds
        return profile
    }

    /// The most dose the hold can deliver, minutes: its whole time at the band's upper edge.
    public var maximumHoldDoseCEM43Minutes: Double {
        CEM43.minutes(celsius: setPointCelsius + holdBandCelsius, seconds: holdSeconds)
    }

    /// The ranges a profile must stay within, whoever wrote it.
    public enum Limits {
        /// Above body temperature, below boiling with margin.
        public static let setPointCelsius: ClosedRange<Double> = 40...95
        public static let rampCelsiusPerSecond: ClosedRange<Double> = 0.1...5
        public static let holdSeconds: ClosedRange<Double> = 1...1800
        public static let holdBandCelsius: ClosedRange<Double> = 0.5...5
        public static let powerLimitWatts: ClosedRange<Double> = 0.1...50
        /// Up to `InterlockLimits.energyCeilingJoules`, which no profile can raise.
        public static let energyCapJoules: ClosedRange<Double> = 1...InterlockLimits.energyCeilingJoules
        /// Not negative; its upper bound is what the profile's own hold can deliver.
        public static let minimumDoseCEM43Minutes: PartialRangeFrom<Double> = 0...
    }

    /// Checks the profile against `Limits` and a generator's power limit.
    /// - Parameter generatorMaxPowerWatts: the generator's `max_power_mW` in watts, if known.
    /// - Returns: one message per problem; empty when the profile can be used.
    public func problems(generatorMaxPowerWatts: Double? = nil) -> [String] {
        var problems: [String] = []
        func check(_ value: Double, _ range: ClosedRange<Double>, _ what: String) {
            if !range.contains(value) {
                problems.append("\(what) \(value) is outside \(range.lowerBound)-\(range.upperBound)")
            }
        }
        if name.isEmpty || name.utf8.count > 32 { problems.append("name must be 1-32 bytes") }
        check(setPointCelsius, Limits.setPointCelsius, "set point (°C)")
        check(rampCelsiusPerSecond, Limits.rampCelsiusPerSecond, "ramp (°C/s)")
        check(holdSeconds, Limits.holdSeconds, "hold (s)")
        check(holdBandCelsius, Limits.holdBandCelsius, "hold band (°C)")
        check(powerLimitWatts, Limits.powerLimitWatts, "power limit (W)")
        check(energyCapJoules, Limits.energyCapJoules, "energy cap (J)")
        if !minimumDoseCEM43Minutes.isFinite || !Limits.minimumDoseCEM43Minutes.contains(minimumDoseCEM43Minutes) {
            problems.append("dose (CEM43 min) \(minimumDoseCEM43Minutes) must be 0 or more")
        } else if Limits.holdSeconds.contains(holdSeconds) && Limits.setPointCelsius.contains(setPointCelsius)
            && Limits.holdBandCelsius.contains(holdBandCelsius)
            && minimumDoseCEM43Minutes > maximumHoldDoseCEM43Minutes
        {
            // Judged only on a hold that is itself valid, so that one bad value is one problem.
            problems.append(
                "dose (CEM43 min) \(minimumDoseCEM43Minutes) is more than the hold can deliver, "
                    + "\(maximumHoldDoseCEM43Minutes) at the band's upper edge"
            )
        }
        if let generatorMaxPowerWatts, powerLimitWatts > generatorMaxPowerWatts {
            problems.append("power limit \(powerLimitWatts) W exceeds the generator's \(generatorMaxPowerWatts) W")
        }
        return problems
    }
}

/// Why a set of profiles cannot be used: every problem, each naming its profile.
public struct ProfileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }

    public init(problems: [String]) { self.problems = problems }
}
