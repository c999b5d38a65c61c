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
    /// Bone rises 25-30 °C per watt held (the simulator's presets, Simulator/README.md), so
    /// 30 J leave a heated tip far above 3 °C; a reading that does not rise makes the controller
    /// push its power limit, and bone around the electrode boils after about 40 J of that.
    public static let noRiseEnergyJoules = 30.0
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
    /// A treatment ends when a step of its control loop comes later than this after the tick it
    /// was due (one period after the step before it), microseconds (`control_loop_overrun`): the
    /// stale-telemetry limit, so that the loop is held to what its readings are held to, at any
    /// tick rate (a 10 Hz loop runs every 100 ms by design; it is hung when it is 50 ms late).
    /// Judged in time, not in late ticks: six ticks late in a row is 60 ms at 100 Hz but 6 ms at
    /// 1 kHz, scheduling noise on a loaded machine that the rest of the chain tolerates (each set
    /// point is valid at the generator for at least `setPointValidityMinimumMilliseconds`); a loop
    /// 50 ms late is hung or starved, whatever its rate.
    public static let controlLoopStallMicroseconds: Int64 = staleMicroseconds
    /// The least validity of a power set point at the generator, milliseconds: the generator cuts
    /// RF itself (`setpoint_expired`) when no new one comes in time. Three ticks, but never less
    /// than 30 ms (three ticks at 100 Hz): at a faster tick three ticks is a few milliseconds, which
    /// a loaded machine's scheduler or a USB-serial adapter's latency can take, ending a treatment
    /// for nothing, while 30 ms still bounds how long a hung host's last set point can act.
    public static let setPointValidityMinimumMilliseconds = 30
    /// How long an impedance check may take to answer, microseconds.
    public static let impedanceCheckTimeoutMicroseconds: Int64 = 2_000_000
    /// How long RF may wait, after a passed impedance check, for the lesion's start to be durable
    /// in the record, microseconds. The record thread writes a start within 50 ms of it and
    /// commits with an fsync; 3 s covers a slow card, and a disk that cannot do it in 3 s (full,
    /// failing) is not one to treat a patient on without a record.
    public static let startRecordMicroseconds: Int64 = 3_000_000
    /// The impedance check's duration, milliseconds.
    public static let impedanceCheckMilliseconds: UInt16 = 200

    // MARK: temperature_implausible (TemperaturePlausibility; docs/INTERLOCKS.md derives each)

    /// The highest relative rise of tissue's electrical conductivity per kelvin that the impedance
    /// evidence assumes: about 2 %/K near 500 kHz (the simulator's and the usual modelling value).
    /// A fall of the load by R₀/R needs a rise of at least (R₀/R − 1)/α somewhere, and the
    /// electrodes, where the thermocouples are, are the hottest place.
    public static let tissueConductivityPerKelvin = 0.02
    /// The impedance evidence trips when the load's fall needs the tissue this much warmer than the
    /// coolest channel's rise since the reference, °C. Normal lesions stay below 0.1 °C of excess
    /// (the load reflects about 40 % of the tip's rise); 4 °C leaves room for a real tissue's
    /// coefficient up to twice the assumed one and for a noisy impedance.
    public static let plausibilityImpedanceMarginCelsius = 4.0
    /// The impedance reference is the first measurement with at least this much power flowing, W.
    public static let plausibilityImpedanceReferenceWatts = 0.5
    /// The tip's thermal response is identified over the first seconds of RF, microseconds: long
    /// enough for a few kelvin of rise above the noise, short enough to end before the ramp reaches
    /// 43 °C (about 7 s at 1 °C/s), where a fault in the window would teach the model the fault.
    public static let plausibilityIdentificationMicroseconds: Int64 = 5_000_000
    /// Less energy than this in the identification window identifies nothing, joules.
    public static let plausibilityIdentificationJoules = 1.0
    /// An identified model outside these ranges is refused (the energy evidence then stays off for
    /// the lesion): °C per W and seconds. The simulator's presets give 9-11 °C/W and 2-7 s.
    public static let plausibilityModelGain: ClosedRange<Double> = 1...50
    public static let plausibilityModelTimeConstant: ClosedRange<Double> = 0.5...60
    /// A new prediction starts every second and lives this long, microseconds: long enough to see a
    /// reading that does not follow the power, short enough that the tissue's slow changes, which
    /// the first-order model does not know, stay well inside the margin (0.6 °C in normal lesions).
    public static let plausibilityAnchorMicroseconds: Int64 = 1_000_000
    public static let plausibilityWindowMicroseconds: Int64 = 20_000_000
    /// A prediction is compared only from this age on: shorter ones are mostly noise, microseconds.
    public static let plausibilityMinimumAnchorAgeMicroseconds: Int64 = 2_000_000
    /// A fall of power is predicted to cool the tip this many times more than the identified fast
    /// response says, at the same speed: the bound that a cooling tip must not pass. The tissue's
    /// steady response is about three times its fast one (14 against 5 °C/W in the hold), and a
    /// controller rolling power off for a rising load cut 2-4 W at once.
    public static let plausibilityFallGainFactor = 4.0
    /// The fraction of a predicted rise by which the model may overstate it, reached once the tip
    /// has risen `plausibilityModelErrorRiseCelsius` above its start (in proportion before): the
    /// model is identified at body temperature, and a warm tip gains less per watt (tissue
    /// conducts heat and current better warm: +0.2 %/K and +2 %/K). A 7 W surge onto a tip at
    /// 70 °C, after a controller had rolled power off for a load 1.4 times its lowest, rose 15-20 %
    /// less than the model said.
    public static let plausibilityModelErrorAtHold = 0.2
    public static let plausibilityModelErrorRiseCelsius = 48.0
    /// The energy evidence trips when the reading falls short of the prediction by this much, °C.
    public static let plausibilityEnergyMarginCelsius = 4.0
    /// A lesion that starts below this, °C, starts from body temperature: nothing but the power
    /// moves its tip, and the identification's free rate is judged.
    public static let plausibilityBodyStartCelsius = 40.0
    /// From body temperature, an identified free rate below minus this is a drifting reading,
    /// °C/s. Normal starts fit -1.16 to +0.34 °C/s (400 sensor seeds on each of two presets: the
    /// fit's c trades against its a while the ramp's power is nearly constant, so the sensor's
    /// noise spreads it); a reading drifting at 1 °C/s fits -2.9 to -1.06, so this catches most
    /// such drifts, not all (docs/INTERLOCKS.md, the drift table).
    public static let plausibilityFreeRateCelsiusPerSecond = 1.5
    /// A reading this far below its value at the start command, with RF on, is implausible, °C:
    /// RF only heats. Wide enough for noise and for a warm tip (a lesion started again after an
    /// interruption) cooling a little before the controller catches it.
    public static let plausibilityBelowStartCelsius = 3.0
    /// A lesion may start only with every channel reading at least this, °C: a probe in a vertebral
    /// body reads body temperature (35-39 °C under anaesthesia); below this it is not in a body or
    /// the reading is wrong, and a reading that starts low makes the controller overheat by as much.
    public static let minimumStartCelsius = 33.0
    /// A channel whose reading has not changed at all for this long with RF on is stuck,
    /// microseconds: 200 frames at 100 Hz, each with the sensor's noise (the simulator's σ is
    /// 0.05 °C, five steps of the wire's 0.01 °C); a stuck reading near the set point otherwise lets
    /// the controller's integral creep the tip up at about 0.1 °C/s, too slowly for the energy
    /// evidence's 20-second predictions.
    public static let frozenReadingMicroseconds: Int64 = 2_000_000
    /// Either evidence must hold this long, so that one glitched sample does not end a lesion.
    public static let plausibilityHoldMicroseconds: Int64 = 100_000
}
