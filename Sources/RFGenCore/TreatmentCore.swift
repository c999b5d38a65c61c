import RFGenProtocol

/// The decision logic of the daemon: the treatment state machine, the temperature controller and
/// the interlocks, stepped once per control tick.
///
/// Pure: `step` takes the time, what the link knows and the operator's commands, and returns what
/// to do. It reads no clock and touches no descriptor, so the same code runs in real time in the
/// daemon and in virtual time in tests.
///
/// Safety rules it keeps:
/// - RF_ON is emitted only on the way from a successful impedance check into the ramp, and the
///   only way into the impedance check is an operator's `start`. A new core (start-up, restart)
///   is idle; a reconnect does not change the phase it is in, and a lost link faults an active one.
/// - Every interlock is checked on every telemetry frame while a treatment is active, once, when
///   the frame arrives (`telemetryArrived`) or at the first tick after it, and the link's and the
///   loop's every tick; a trip switches RF off first in the same call's actions, latches an alarm
///   and ends the treatment (`faulted`).
/// - While RF should be off and the generator reports it on or delivering power, RF_OFF goes out
///   on every frame.
public struct TreatmentCore: Sendable {
    /// The control tick, seconds; set points last a few ticks so that a silent host drops RF fast.
    public let tickSeconds: Double
    public private(set) var phase: TreatmentPhase = .idle
    public private(set) var profile: TreatmentProfile?
    /// Alarms latched since the last accepted acknowledgement.
    public private(set) var alarms: [Alarm] = []
    /// The id of the last alarm raised; 0 before the first.
    public private(set) var lastAlarmID: UInt64 = 0
    public private(set) var controller = TemperatureController()
    /// The ramped set point in force, °C.
    public private(set) var setPointCelsius = 0.0
    /// Time within the hold band so far, seconds.
    public private(set) var holdSeconds = 0.0
    /// Energy delivered in this lesion, joules.
    public private(set) var energyJoules = 0.0
    /// Highest valid tip reading in this lesion, °C.
    public private(set) var peakCelsius = 0.0
    /// The thermal dose this lesion delivered and the lesion it is estimated to have made, from
    /// every fresh tip reading while RF was commanded on.
    public private(set) var dose = ThermalDose()

    /// Why the running or last lesion falls short of its profile (time at temperature, dose), or
    /// nil when it has delivered both; nil before the first lesion.
    public var shortfall: String? {
        guard let profile else { return nil }
        return LesionCompleteness.shortfall(profile: profile, holdSeconds: holdSeconds, doseMinutes: dose.tipMinutes)
    }

    /// Whether the core wants RF on (ramp and hold).
    public private(set) var rfCommanded = false
    private var commandedMilliwatts: UInt32 = 0
    private var lastTick: Int64?
    /// When the last frame check ran, and the arrival time of the frame it checked: each frame
    /// is checked once, on arrival or at the first tick after it.
    private var lastCheck: Int64?
    private var checkedFrameAt: Int64?
    private var phaseStart: Int64 = 0
    private var treatmentStart: Int64 = 0
    private var rfOnSentAt: Int64 = 0
    private var startReading = 0.0
    private var impedanceFloor: Double?
    /// Tip readings of the last `riseWindowMicroseconds`, oldest first; bounded by the tick rate.
    private var recentReadings: [(microseconds: Int64, celsius: Double)] = []
    // The interlocks that trip only on a condition held for a while.
    private var disagreement = HeldCondition(microseconds: InterlockLimits.disagreementMicroseconds)
    private var powerExcess = HeldCondition(microseconds: InterlockLimits.powerExcessMicroseconds)
    private var powerShort = HeldCondition(microseconds: InterlockLimits.powerShortMicroseconds)
    private var stuck = HeldCondition(microseconds: InterlockLimits.stuckMicroseconds)
    /// Counted from RF_ON at the earliest: the check runs only once RF is commanded on.
    private var rfDropped = HeldCondition(microseconds: InterlockLimits.rfDroppedMicroseconds)
    /// Whether the readings agree with the load and the energy delivered (`temperature_implausible`).
    public private(set) var plausibility = TemperaturePlausibility()

    /// The most readings the rise-rate window holds (1 s at the fastest tick, 1 kHz).
    static let maxRecentReadings = 1001

    /// - Parameter tickSeconds: the control period; 0.001-0.1 s (10-1000 Hz).
    public init(tickSeconds: Double = 0.01) {
        precondition((0.001...0.1).contains(tickSeconds), "the control tick is 1-100 ms")
        self.tickSeconds = tickSeconds
    }

    /// The validity given to each power set point: three ticks, at least
    /// `InterlockLimits.setPointValidityMinimumMilliseconds`, within the protocol's range.
    var setPointValidityMilliseconds: UInt16 {
        let minimum = Double(InterlockLimits.setPointValidityMinimumMilliseconds)
        return UInt16(max(minimum, min(1000, (tickSeconds * 3000).rounded(.up))))
    }

    /// One control tick.
    /// - Parameters:
    ///   - instant: the host's monotonic time; never earlier than the last call's.
    ///   - link: what the link knows now.
    ///   - commands: operator commands received since the last tick, in order.
    ///   - startRecorded: whether the running lesion's start is durable in the treatment record
    ///     (true when no record is kept). RF_ON waits for it (`record_unavailable`).
    /// - Returns: what to do, generator commands first.
    public mutating func step(
        now instant: MonotonicInstant,
        link: LinkSnapshot,
        commands: [OperatorCommand] = [],
        startRecorded: Bool = true
    ) -> [CoreAction] {
        // Inside the core, time is microseconds on the one monotonic clock.
        let now = instant.microseconds
        assert(lastTick.map { now >= $0 } ?? true, "time never goes back")
        var out = Output()
        let dt = lastTick.map { min(Double(now - $0) / 1e6, 0.1) } ?? tickSeconds
        // How late this step is after the one before it, while a treatment ran: a lesion begun
        // by this step's start was not left unattended, whatever the gap before it.
        let tickMicroseconds = Int64((tickSeconds * 1e6).rounded())
        let late = phase.isActive ? lastTick.map { now - $0 - tickMicroseconds } : nil
        lastTick = now
        let fresh = link.freshTelemetry(at: instant)

        for (index, command) in commands.enumerated() {
            handle(command, index: index, now: now, link: link, fresh: fresh, out: &out)
        }

        if phase.isActive, let trip = checkLink(now: now, link: link, late: late) {
            self.trip(trip, now: now, out: &out)
        }
        if fresh == nil { stuck.reset() }
        // A frame not checked on its arrival (`telemetryArrived`) is checked here, before the
        // controller acts on it.
        checkFrame(now: now, link: link, out: &out)
        if phase.isActive, let telemetry = fresh {
            advance(now: now, telemetry: telemetry, link: link, dt: dt, startRecorded: startRecorded, out: &out)
        }
        assertInvariants(out.actions)
        return out.actions
    }

    /// A telemetry frame has just arrived: the interlocks that read it are checked now, by the
    /// same code the tick runs (`checkFrame`), so that a reading that trips one switches RF off
    /// at once rather than at the next tick. The controller still acts only on the tick.
    /// - Parameters:
    ///   - instant: the host's monotonic time; never earlier than the last call's.
    ///   - link: what the link knows, with the new frame.
    /// - Returns: RF_OFF and the alarm when a check trips; nothing otherwise.
    public mutating func telemetryArrived(now instant: MonotonicInstant, link: LinkSnapshot) -> [CoreAction] {
        let now = instant.microseconds
        assert(lastCheck.map { now >= $0 } ?? true, "time never goes back")
        var out = Output()
        checkFrame(now: now, link: link, out: &out)
        assertInvariants(out.actions)
        return out.actions
    }

    /// What holds after every step: RF goes off first; an inactive phase never wants RF.
    private func assertInvariants(_ actions: [CoreAction]) {
        assert(!rfCommanded || TreatmentStateTable.rfPhases.contains(phase), "only the ramp and the hold want RF")
        if actions.contains(.generator(.rfOff)) {
            assert(actions.first == .generator(.rfOff), "RF_OFF goes first")
        }
        // A start's impedance check or RF_ON goes out only if the step ends in a treatment (a
        // stop and a new start in one tick; never a start ended by an estop in the same tick).
        assert(
            phase.isActive || !actions.contains { $0 == .generator(.rfOn) || $0.isImpedanceCheck },
            "nothing that switches the output on goes out for a treatment that has ended"
        )
    }

    // MARK: - Operator commands

    private mutating func handle(
        _ command: OperatorCommand,
        index: Int,
        now: Int64,
        link: LinkSnapshot,
        fresh: Telemetry?,
        out: inout Output
    ) {
        switch command {
        case .emergencyStop:
            trip(
                Alarm(.emergencyStop, at: MonotonicInstant(microseconds: now), "emergency stop by the operator"),
                now: now,
                out: &out
            )
        case .stop:
            // Idempotent: a stop with nothing running is done, not refused (an operator, a script
            // or a second console that stops twice must not read failure), and RF_OFF goes out all
            // the same, as for an emergency stop while idle: RF off is what a stop asks for.
            guard phase.isActive else { return switchOff(out: &out) }
            switchOff(out: &out)
            enter(.stopped, because: .stop, now: now, out: &out)
        case .acknowledge:
            guard phase == .faulted else { return out.refuse(command, index, "no alarm to acknowledge") }
            if let reason = conditionsPersisting(link: link, fresh: fresh) {
                return out.refuse(command, index, reason)
            }
            alarms.removeAll()
            // The generator may have latched faults of its own (watchdog, set point expired).
            out.send(.clearFault)
            enter(.idle, because: .acknowledge, given: [.conditionsCleared], now: now, out: &out)
        case .start(let requested):
            if let reason = startRefusal(requested, link: link, fresh: fresh) {
                return out.refuse(command, index, reason)
            }
            begin(requested, now: now, fresh: fresh, out: &out)
        }
    }

    private func startRefusal(_ requested: TreatmentProfile, link: LinkSnapshot, fresh: Telemetry?) -> String? {
        if phase.isActive { return "a treatment is running (\(phase.rawValue))" }
        if phase == .faulted { return "alarms are latched: acknowledge them first" }
        let problems = requested.problems(generatorMaxPowerWatts: link.generatorMaxPowerWatts)
        if !problems.isEmpty { return "profile \(requested.name): " + problems.joined(separator: "; ") }
        guard link.connected, link.generatorMaxPowerWatts != nil else { return "no generator connected" }
        guard let telemetry = fresh else { return "no current telemetry from the generator" }
        if !telemetry.faults.isEmpty {
            return "the generator reports faults: " + telemetry.faults.text
        }
        if telemetry.rfState != .off { return "the generator reports RF \(telemetry.rfState)" }
        if let bad = telemetry.temperatures.firstIndex(where: { $0.status != .ok }) {
            return "temperature channel \(bad) is \(telemetry.temperatures[bad].status)"
        }
        if let cold = telemetry.temperatures.firstIndex(where: {
            Double($0.centiCelsius) / 100 < InterlockLimits.minimumStartCelsius
        }) {
            return "temperature channel \(cold) reads \(Double(telemetry.temperatures[cold].centiCelsius) / 100) °C, "
                + "below the \(InterlockLimits.minimumStartCelsius) °C of a probe in a body"
        }
        return nil
    }

    private func conditionsPersisting(link: LinkSnapshot, fresh: Telemetry?) -> String? {
        guard link.connected, let telemetry = fresh else {
            return "the generator is not connected with current telemetry"
        }
        if telemetry.rfState != .off || Double(telemetry.powerMilliwatts) / 1000 > InterlockLimits.stuckPowerWatts {
            return "the generator still reports RF on or power flowing"
        }
        if let bad = telemetry.temperatures.firstIndex(where: { $0.status != .ok }) {
            return "temperature channel \(bad) is still \(telemetry.temperatures[bad].status)"
        }
        if let hot = telemetry.temperatures.first(where: {
            Double($0.centiCelsius) / 100 >= InterlockLimits.maxTemperatureCelsius
        }) {
            return "temperature still \(Double(hot.centiCelsius) / 100) °C"
        }
        return nil
    }

    private mutating func begin(_ requested: TreatmentProfile, now: Int64, fresh: Telemetry?, out: inout Output) {
        profile = requested
        var parameters = ControllerParameters.standard
        parameters.maxPowerWatts = requested.powerLimitWatts
        controller = TemperatureController(parameters: parameters)
        treatmentStart = now
        holdSeconds = 0
        energyJoules = 0
        dose = ThermalDose()
        startReading = fresh.map { Double($0.temperatures[0].centiCelsius) / 100 } ?? 37
        peakCelsius = startReading
        // In power mode the set point is a limit from the start, never ramped: below it the
        // controller saturates at the profile's power.
        setPointCelsius = requested.mode == .power ? requested.setPointCelsius : startReading
        impedanceFloor = nil
        recentReadings.removeAll(keepingCapacity: true)
        disagreement.reset()
        powerExcess.reset()
        powerShort.reset()
        rfDropped.reset()
        plausibility = TemperaturePlausibility(
            beforeRF: fresh.map { $0.temperatures.map { Double($0.centiCelsius) / 100 } } ?? []
        )
        out.send(.impedanceCheck(milliseconds: InterlockLimits.impedanceCheckMilliseconds))
        enter(.impedanceCheck, because: .start, now: now, out: &out)
    }

    // MARK: - Phases

    private mutating func advance(
        now: Int64,
        telemetry: Telemetry,
        link: LinkSnapshot,
        dt: Double,
        startRecorded: Bool,
        out: inout Output
    ) {
        guard let profile else { return }
        let reading = Double(telemetry.temperatures[0].centiCelsius) / 100
        switch phase {
        case .impedanceCheck:
            if let result = link.impedanceResult, link.impedanceResultReceivedAt.microseconds >= phaseStart {
                let ohms = Double(result.impedanceDeciohms) / 10
                guard result.outcome == .ok, InterlockLimits.startImpedanceOhms.contains(ohms) else {
                    let seen = result.outcome == .ok ? "\(ohms) Ω" : "\(result.outcome)"
                    return trip(
                        Alarm(
                            .impedanceCheckFailed,
                            at: MonotonicInstant(microseconds: now),
                            "impedance check: \(seen), needed \(InterlockLimits.startImpedanceOhms) Ω"
                        ),
                        now: now,
                        out: &out
                    )
                }
                guard startRecorded else {
                    // No record, no RF: a lesion that delivered energy must have a record that
                    // survives a crash, so RF_ON waits until its start is on the disk.
                    if now - phaseStart > InterlockLimits.startRecordMicroseconds {
                        trip(
                            Alarm(
                                .recordUnavailable,
                                at: MonotonicInstant(microseconds: now),
                                "the lesion's record could not be written within 3 s; RF was not switched on"
                            ),
                            now: now,
                            out: &out
                        )
                    }
                    return
                }
                enter(.ramp, because: .impedanceAccepted, now: now, out: &out)
                rfCommanded = true
                rfOnSentAt = now
                // A valid set point must exist before RF_ON (PROTOCOL.md 6.1): 0 W first.
                commandedMilliwatts = 0
                out.send(.setPower(milliwatts: 0, validityMilliseconds: setPointValidityMilliseconds))
                out.send(.rfOn)
                return
            }
            if now - phaseStart > InterlockLimits.impedanceCheckTimeoutMicroseconds {
                trip(
                    Alarm(
                        .impedanceCheckFailed,
                        at: MonotonicInstant(microseconds: now),
                        "no impedance result within 2 s"
                    ),
                    now: now,
                    out: &out
                )
            }
        case .ramp, .hold:
            energyJoules += Double(telemetry.powerMilliwatts) / 1000 * dt
            dose.add(celsius: reading, seconds: dt)
            setPointCelsius = min(profile.setPointCelsius, setPointCelsius + profile.rampCelsiusPerSecond * dt)
            // The target reached: the band in temperature mode; in power mode, power flowing (the
            // first tick with RF on), since the hold is time at power.
            let reached =
                profile.mode == .power
                ? telemetry.rfState == .on
                : reading >= profile.setPointCelsius - profile.holdBandCelsius
            if phase == .ramp && reached {
                enter(.hold, because: .bandReached, now: now, out: &out)
            }
            if phase == .hold
                && (profile.mode == .power || abs(reading - profile.setPointCelsius) <= profile.holdBandCelsius)
            {
                holdSeconds += dt
            }
            if holdSeconds >= profile.holdSeconds {
                switchOff(out: &out)
                enter(.done, because: .holdComplete, now: now, out: &out)
                return
            }
            let ohms = telemetry.impedanceValid ? Double(telemetry.impedanceDeciohms) / 10 : nil
            let watts = controller.step(
                seconds: dt,
                setPointCelsius: setPointCelsius,
                measuredCelsius: reading,
                impedanceOhms: ohms
            )
            commandedMilliwatts = UInt32((watts * 1000).rounded())
            out.send(.setPower(milliwatts: commandedMilliwatts, validityMilliseconds: setPointValidityMilliseconds))
        case .idle, .done, .stopped, .faulted:
            break
        }
    }

    /// - Parameter holding: the table's conditions the caller has established (the acknowledgement's
    ///   cleared conditions).
    private mutating func enter(
        _ next: TreatmentPhase,
        because trigger: PhaseTrigger,
        given holding: Set<TreatmentStateTable.Condition> = [],
        now: Int64,
        out: inout Output
    ) {
        assert(
            TreatmentStateTable.next(from: phase, on: trigger, given: holding) == next,
            "\(phase.rawValue) --\(trigger.rawValue)--> \(next.rawValue) is not in TreatmentStateTable"
        )
        guard next != phase else { return }
        out.actions.append(.phaseChanged(from: phase, to: next))
        phase = next
        phaseStart = now
    }

    private mutating func switchOff(out: inout Output) {
        rfCommanded = false
        commandedMilliwatts = 0
        stuck.reset()
        out.send(.rfOff)
    }

    /// Switches RF off, latches the alarm and ends the treatment. RF_OFF goes first.
    private mutating func trip(_ alarm: Alarm, now: Int64, out: inout Output) {
        switchOff(out: &out)
        latch(alarm, out: &out)
        enter(.faulted, because: .alarm, now: now, out: &out)
    }

    /// Latches an alarm under the next id; ids are never reused while the core lives, so an
    /// operator acknowledging "alarm 7" cannot hit a different alarm raised since.
    private mutating func latch(_ alarm: Alarm, out: inout Output) {
        var alarm = alarm
        lastAlarmID += 1
        alarm.id = lastAlarmID
        alarms.append(alarm)
        out.actions.append(.alarm(alarm))
    }

    // MARK: - Interlocks

    /// The interlocks of time rather than of a reading: the link, the readings' age, the loop.
    /// Checked every tick while active.
    private func checkLink(now: Int64, link: LinkSnapshot, late: Int64?) -> Alarm? {
        func alarm(_ interlock: Interlock, _ detail: String) -> Alarm {
            Alarm(interlock, at: MonotonicInstant(microseconds: now), detail)
        }
        let instant = MonotonicInstant(microseconds: now)
        guard link.connected else { return alarm(.linkLost, "the generator link is lost") }
        guard link.freshTelemetry(at: instant) != nil else {
            return alarm(.staleTelemetry, "no telemetry for \((instant - link.telemetryReceivedAt) / 1000) ms")
        }
        if let late, late > InterlockLimits.controlLoopStallMicroseconds {
            return alarm(
                .controlLoopOverrun,
                "the control loop ran \(late / 1000) ms late "
                    + "(limit \(InterlockLimits.controlLoopStallMicroseconds / 1000) ms)"
            )
        }
        return nil
    }

    /// Checks the newest frame once: the interlocks that read it while a treatment is active, and
    /// the stuck output whenever RF is meant off. The one check of a reading, whichever caller
    /// (the frame's arrival, the tick) comes first.
    private mutating func checkFrame(now: Int64, link: LinkSnapshot, out: inout Output) {
        // Frames are checked in the order they arrived; one already checked, or older, is not
        // checked again.
        let arrived = link.telemetryReceivedAt.microseconds
        guard let t = link.freshTelemetry(at: MonotonicInstant(microseconds: now)),
            checkedFrameAt.map({ arrived > $0 }) ?? true
        else { return }
        // The time the frame stands for: from the last frame checked, at most 0.1 s (a gap).
        let dt = checkedFrameAt.map { min(Double(arrived - $0) / 1e6, 0.1) } ?? tickSeconds
        checkedFrameAt = arrived
        lastCheck = now
        if phase.isActive, let alarm = checkReading(now: now, t, dt: dt) {
            trip(alarm, now: now, out: &out)
        }
        checkStuckOutput(now: now, t, out: &out)
    }

    /// The first interlock whose condition the reading shows, if any.
    private mutating func checkReading(now: Int64, _ t: Telemetry, dt: Double) -> Alarm? {
        func alarm(_ interlock: Interlock, _ detail: String) -> Alarm {
            Alarm(interlock, at: MonotonicInstant(microseconds: now), detail)
        }
        // The specific causes first; a generator fault raised for the same reason comes after.
        for (channel, reading) in t.temperatures.enumerated() where reading.status != .ok {
            return alarm(.temperatureSensor, "temperature channel \(channel) is \(reading.status)")
        }
        let celsius = t.temperatures.map { Double($0.centiCelsius) / 100 }
        if let hottest = celsius.max(), hottest >= InterlockLimits.maxTemperatureCelsius {
            return alarm(
                .overTemperature,
                "temperature \(hottest) °C reached the \(InterlockLimits.maxTemperatureCelsius) °C cap"
            )
        }
        if !t.faults.isEmpty {
            return alarm(.generatorFault, "the generator reports faults: " + t.faults.text)
        }
        let tip = celsius[0]
        peakCelsius = max(peakCelsius, tip)

        // Rise rate over the window.
        recentReadings.append((now, tip))
        while let first = recentReadings.first,
            now - first.microseconds > InterlockLimits.riseWindowMicroseconds
                || recentReadings.count > Self.maxRecentReadings
        {
            recentReadings.removeFirst()
        }
        if let first = recentReadings.first, now - first.microseconds >= InterlockLimits.riseWindowMicroseconds / 2 {
            let rate = (tip - first.celsius) / (Double(now - first.microseconds) / 1e6)
            if rate > InterlockLimits.maxRiseCelsiusPerSecond {
                return alarm(.temperatureRiseTooFast, "tip rising \(rate) °C/s")
            }
        }

        if celsius.count >= 2 {
            if disagreement.observe(
                abs(celsius[0] - celsius[1]) > InterlockLimits.maxChannelDifferenceCelsius,
                at: now
            ) {
                return alarm(.channelDisagreement, "channels read \(celsius[0]) and \(celsius[1]) °C")
            }
        }

        guard rfCommanded, let profile else { return nil }
        if energyJoules >= InterlockLimits.noRiseEnergyJoules
            && peakCelsius - startReading < InterlockLimits.minimumRiseCelsius
        {
            return alarm(
                .noTemperatureRise,
                "\(Int(energyJoules)) J delivered and the tip rose only \(peakCelsius - startReading) °C"
            )
        }
        if energyJoules >= profile.energyCapJoules {
            return alarm(
                .energyCap,
                "\(Int(energyJoules)) J delivered, the cap is \(Int(profile.energyCapJoules)) J"
            )
        }
        if Double(now - treatmentStart) / 1e6 > profile.holdSeconds + InterlockLimits.treatmentOverrunSeconds {
            return alarm(.treatmentTimeCap, "the lesion has run \(Int(Double(now - treatmentStart) / 1e6)) s")
        }

        let dropped = rfDropped.observe(t.rfState != .on, at: now)
        assert(rfDropped.since.map { $0 > rfOnSentAt } ?? true, "RF counts as dropped only after RF_ON went out")
        if dropped {
            return alarm(.rfDroppedByGenerator, "the generator reports RF \(t.rfState) while it should be on")
        }

        let delivered = Double(t.powerMilliwatts) / 1000
        let commanded = Double(max(commandedMilliwatts, t.setPointMilliwatts)) / 1000
        let allowed = commanded + max(InterlockLimits.powerExcessWatts, commanded * InterlockLimits.powerExcessFraction)
        if powerExcess.observe(delivered > allowed, at: now) {
            return alarm(.powerAboveSetPoint, "delivering \(delivered) W for a set point of \(commanded) W")
        }
        // Falling short is checked against what the generator was asked for and reports as its
        // set point: both must agree, so a set point still in flight does not count.
        let reported = Double(t.setPointMilliwatts) / 1000
        let asked = Double(commandedMilliwatts) / 1000
        let shortfall = max(InterlockLimits.powerExcessWatts, reported * InterlockLimits.powerExcessFraction)
        if powerShort.observe(t.rfState == .on && delivered < min(reported, asked) - shortfall, at: now) {
            return alarm(.powerBelowSetPoint, "delivering \(delivered) W for a set point of \(reported) W")
        }

        if t.impedanceValid && t.rfState == .on {
            let ohms = Double(t.impedanceDeciohms) / 10
            if !InterlockLimits.impedanceOhms.contains(ohms) {
                return alarm(.impedanceOutOfRange, "impedance \(ohms) Ω outside \(InterlockLimits.impedanceOhms) Ω")
            }
            let floor = min(impedanceFloor ?? ohms, ohms)
            impedanceFloor = floor
            if ohms >= floor * InterlockLimits.impedanceRiseRatio {
                return alarm(.impedanceRise, "impedance rose from \(floor) to \(ohms) Ω")
            }
        }

        // Last: every more specific cause above has had its say. Fed every tick of RF, from the
        // first on, so that it is armed for the whole lesion.
        if let finding = plausibility.observe(
            now: now,
            seconds: dt,
            celsius: celsius,
            powerWatts: delivered,
            impedanceOhms: t.impedanceValid && t.rfState == .on ? Double(t.impedanceDeciohms) / 10 : nil
        ) {
            return alarm(.temperatureImplausible, "\(finding.evidence.rawValue): \(finding.detail)")
        }
        return nil
    }

    /// With RF meant off, a generator that reports it on or delivers power has a stuck output:
    /// keep commanding off on every frame and raise the highest-priority alarm once.
    private mutating func checkStuckOutput(now: Int64, _ t: Telemetry, out: inout Output) {
        guard !rfCommanded, phase != .impedanceCheck else {
            stuck.reset()
            return
        }
        let delivering = t.rfState == .on || Double(t.powerMilliwatts) / 1000 > InterlockLimits.stuckPowerWatts
        let held = stuck.observe(delivering, at: now)
        guard delivering else { return }
        if !out.actions.contains(.generator(.rfOff)) { out.send(.rfOff) }
        if held && !alarms.contains(where: { $0.interlock == .rfOnWhileCommandedOff }) {
            let alarm = Alarm(
                .rfOnWhileCommandedOff,
                at: MonotonicInstant(microseconds: now),
                "RF \(t.rfState), \(t.powerMilliwatts) mW while commanded off"
            )
            latch(alarm, out: &out)
            enter(.faulted, because: .alarm, now: now, out: &out)
        }
    }
}

/// Collects a tick's actions: generator commands ahead of everything else.
private struct Output {
    var actions: [CoreAction] = []

    mutating func send(_ command: GeneratorCommand) {
        if command == .rfOff {
            // RF_OFF goes first, and whatever would have switched the output on earlier in the
            // same call (a start's impedance check, RF_ON) does not go at all: an estop racing a
            // start in one tick must not energise the probe for an instant.
            actions.removeAll { $0 == .generator(.rfOn) || $0 == .generator(.rfOff) || $0.isImpedanceCheck }
            actions.insert(.generator(.rfOff), at: 0)
            return
        }
        let firstOther = actions.firstIndex { if case .generator = $0 { false } else { true } } ?? actions.endIndex
        actions.insert(.generator(command), at: firstOther)
    }

    mutating func refuse(_ command: OperatorCommand, _ index: Int, _ reason: String) {
        actions.append(.refused(command, index: index, reason: reason))
    }
}

extension CoreAction {
    var isImpedanceCheck: Bool { if case .generator(.impedanceCheck) = self { true } else { false } }
}
