/// Every threshold of the interlocks, in one place. `docs/INTERLOCKS.md` explains each. They are
/// constants, not settings: no API call can change or disable them.
public enum InterlockLimits {
    /// Any valid channel at or above this is over temperature, °C. Above the 85 °C set point with
    /// room for the controller's overshoot, below boiling (100 °C) and the generator's own 105 °C.
    public static let maxTemperatureCelsius = 95.0
    /// The tip may not rise faster than this, °C per second, measured over `riseWindowMicroseconds`.
    /// The ramp asks for 1 °C/s; a faster rise means runaway heating or a failing sensor.
    public static let maxRiseCelsiusPerSecond = 5.0
    public static let riseWindowMicroseconds: Int64 = 1_000_000
    /// After this much energy with the tip less than `minimumRiseCelsius` above where it started,
    /// the probe is not heating what it measures (not in bone, or a shorted thermocouple), joules.
    /// Bone at 3-5 W rises several degrees within 10 s.
    public static let noRiseEnergyJoules = 60.0
    public static let minimumRiseCelsius = 3.0
    /// Two valid channels may differ by this much at most, °C, for at most `disagreementMicroseconds`.
    public static let maxChannelDifferenceCelsius = 5.0
    public static let disagreementMicroseconds: Int64 = 1_000_000
    /// The load must lie within this while RF is on, ohms.
    public static let impedanceOhms: ClosedRange<Double> = 50...2500
    /// The load must lie within this for a treatment to start (impedance check), ohms: a probe in bone.
    public static let startImpedanceOhms: ClosedRange<Double> = 150...2200
    /// A load this many times above its lowest value in the lesion is a sudden rise (vapour,
    /// desiccation): the controller rolls power off from 1.2 times, the interlock stops at this.
    public static let impedanceRiseRatio = 1.6
    /// Delivered power may exceed the set point by the larger of these for at most
    /// `powerExcessMicroseconds` (the generator's regulator settles within a few ms).
    public static let powerExcessWatts = 0.5
    public static let powerExcessFraction = 0.2
    public static let powerExcessMicroseconds: Int64 = 100_000
    /// Delivered power below the set point by the same margin for this long: the output stage or
    /// the load cannot take what the controller asks for (voltage limit, failing amplifier).
    public static let powerShortMicroseconds: Int64 = 1_000_000
    /// With RF commanded off, a generator reporting this much power, or RF on, for longer than
    /// `stuckMicroseconds` has a stuck output stage, watts.
    public static let stuckPowerWatts = 0.2
    public static let stuckMicroseconds: Int64 = 100_000
    /// A reading older than this is stale and never used as current, microseconds (5 ticks at 100 Hz).
    public static let staleMicroseconds: Int64 = 50_000
    /// RF reported off by the generator while the core keeps it on, for longer than this, ends the
    /// treatment (a refused RF_ON or a generator-side fault).
    public static let rfDroppedMicroseconds: Int64 = 200_000
    /// The most energy any profile may allow one lesion, joules: 15 W for 20 minutes. Each profile
    /// sets its own cap below it (`TreatmentProfile.energyCapJoules`).
    public static let energyCeilingJoules = 18_000.0
    /// A lesion may last at most its hold time plus this, seconds (ramp, time out of band).
    public static let treatmentOverrunSeconds = 600.0
    /// Consecutive control ticks that may overrun their deadline before the loop is not trusted.
    public static let maxConsecutiveOverruns = 5
    /// How long an impedance check may take to answer, microseconds.
    public static let impedanceCheckTimeoutMicroseconds: Int64 = 2_000_000
    /// The impedance check's duration, milliseconds.
    public static let impedanceCheckMilliseconds: UInt16 = 200
}
