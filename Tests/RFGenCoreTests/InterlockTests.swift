import RFGenCore
import RFGenProtocol
import RFGenSimulator
import Testing

/// One test per interlock: its fault is driven through the simulator (or, where the simulator has
/// no such fault, through the link snapshot), and the test checks the reaction from the
/// generator's own record: RF off within the bound, the alarm raised, the treatment ended.
struct InterlockTests {
    /// Runs until the core faults (at most `seconds`) and checks the reaction.
    static func expectTrip(
        _ h: inout CoreHarness,
        _ interlock: Interlock,
        within seconds: Double,
        since: Int64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        h.run(seconds: seconds) { $0.core.phase == .faulted }
        h.run(seconds: 0.05)
        #expect(h.core.phase == .faulted, sourceLocation: sourceLocation)
        #expect(h.alarms.first?.interlock == interlock, "\(h.alarms)", sourceLocation: sourceLocation)
        guard let alarm = h.alarms.first else { return }
        #expect(alarm.raisedAt.microseconds - since <= Int64(seconds * 1e6), sourceLocation: sourceLocation)
        // RF off on the generator's record within one tick of the alarm.
        let off = h.generator.recorder.edges.last
        #expect(off?.on == false, sourceLocation: sourceLocation)
        #expect(
            (off?.microseconds ?? .max) - alarm.raisedAt.microseconds <= CoreHarness.tick,
            sourceLocation: sourceLocation
        )
        #expect(h.core.rfCommanded == false, sourceLocation: sourceLocation)
    }

    static func oneChannel() -> GeneratorConfiguration {
        var config = GeneratorConfiguration()
        config.temperatureChannels = 1
        return config
    }

    /// An interlock whose fault the simulator injects during a lesion held at temperature.
    struct InjectedCase: Sendable, CustomTestStringConvertible {
        var interlock: Interlock
        var fault: InjectedFault
        /// Seconds from the injection within which the alarm must come.
        var within: Double
        var channels = 2
        /// Seconds to hold at temperature before the fault (the controller has settled).
        var settle = 0.0
        var testDescription: String { "\(interlock.rawValue) after \(fault)" }
    }

    static let injected: [InjectedCase] = [
        // A reading climbing 10 °C/s (one channel, so that disagreement cannot answer first).
        InjectedCase(
            interlock: .temperatureRiseTooFast,
            fault: .thermocouple(channel: 0, .drifting(celsiusPerSecond: 10)),
            within: 1.0,
            channels: 1
        ),
        // An open thermocouple.
        InjectedCase(interlock: .temperatureSensor, fault: .thermocouple(channel: 1, .open), within: 0.05),
        // The channels drifting apart at 3 °C/s: more than 5 °C for a second.
        InjectedCase(
            interlock: .channelDisagreement,
            fault: .thermocouple(channel: 1, .drifting(celsiusPerSecond: -3)),
            within: 3.5
        ),
        // A load above 2500 Ω: the host trips before the generator's own 3000 Ω.
        InjectedCase(interlock: .impedanceOutOfRange, fault: .impedance(.step(ohms: 2000)), within: 0.05),
        // A load 1.6 times its lowest in the lesion.
        InjectedCase(interlock: .impedanceRise, fault: .impedance(.step(ohms: 600)), within: 0.05),
        // Twice the set point delivered: stopped within 0.1 s and a tick or two.
        InjectedCase(interlock: .powerAboveSetPoint, fault: .powerMismatch(factor: 2), within: 0.15),
        // A third of the set point delivered: stopped within 1 s.
        InjectedCase(interlock: .powerBelowSetPoint, fault: .powerMismatch(factor: 0.3), within: 1.1, settle: 30),
        // Telemetry that stops: stale after 50 ms.
        InjectedCase(interlock: .staleTelemetry, fault: .telemetryStall(true), within: 0.07),
    ]

    @Test("An interlock driven through the simulator's fault ends the lesion with RF off", arguments: injected)
    func injectedFault(_ c: InjectedCase) {
        var config = GeneratorConfiguration()
        config.temperatureChannels = c.channels
        var h = CoreHarness(configuration: config)
        h.startAndReachHold()
        h.run(seconds: c.settle)
        let at = h.now
        h.generator.inject(c.fault)
        Self.expectTrip(&h, c.interlock, within: c.within, since: at)
    }

    @Test("over_temperature: a reading at 95 °C ends the lesion")
    func overTemperature() {
        var h = CoreHarness()
        var hot = TreatmentProfile.bvn
        hot.setPointCelsius = 95
        h.tick([.start(hot)])
        Self.expectTrip(&h, .overTemperature, within: 400, since: h.now)
    }

    @Test("no_temperature_rise: a thermocouple shorted before the start shows no rise despite power")
    func noRise() {
        // A tissue whose conductivity does not change with temperature gives the plausibility
        // interlock no impedance evidence, and a reading that never rises identifies no model, so
        // that this interlock's own threshold is what ends the lesion (PlausibilityTests shows the
        // plausibility interlock ending the same fault sooner in bone).
        var config = Self.oneChannel()
        config.tissue.electricalConductivityPerKelvin = 0
        var h = CoreHarness(configuration: config)
        h.generator.inject(.thermocouple(channel: 0, .shorted))
        h.run(seconds: 0.1)
        let at = h.now
        h.tick([.start(.bvn)])
        Self.expectTrip(&h, .noTemperatureRise, within: 30, since: at)
        #expect(h.core.energyJoules >= InterlockLimits.noRiseEnergyJoules)
    }

    @Test("rf_on_while_commanded_off: a stuck output keeps RF_OFF going out and raises a high alarm")
    func stuckOutput() {
        var h = CoreHarness()
        h.startAndReachHold()
        h.generator.inject(.rfStuckOn(true))
        h.tick([.stop])
        let stoppedAt = h.now
        h.run(seconds: 1)
        #expect(h.core.phase == .faulted)
        #expect(h.alarms.first?.interlock == .rfOnWhileCommandedOff)
        #expect(h.alarms.first?.priority == .high)
        #expect(h.alarms.first!.raisedAt.microseconds - stoppedAt <= 150_000)
        let offs = h.actions.filter { $0.microseconds > stoppedAt && $0.action == .generator(.rfOff) }
        #expect(offs.count >= 95, "RF_OFF every tick while power flows (\(offs.count) in 1 s)")
        #expect(h.generator.isOutputEnabled, "the simulator's output is still stuck: the alarm is what is left")
    }

    @Test("link_lost: a pulled cable ends the lesion; the generator's watchdog switches RF off")
    func linkLost() {
        var h = CoreHarness()
        h.startAndReachHold()
        let at = h.now
        h.pullCable()
        h.run(seconds: 0.5)
        #expect(h.core.phase == .faulted)
        #expect(h.alarms.first?.interlock == .linkLost)
        let off = h.generator.recorder.edges.last
        #expect(off?.on == false)
        // The set point's validity (3 ticks) lapses before the 100 ms watchdog would.
        #expect(off?.cause == .fault(.setPointExpired))
        #expect(off!.microseconds - at <= 30_000 + CoreHarness.tick)
    }

    @Test(
        "A cable pulled during the impedance check and plugged back 80 ms later: the reconnect switches the check off and the link comes up (simulation seed 757054)"
    )
    func cableBackMidCheck() {
        var h = CoreHarness()
        h.tick([.start(.bvn)])
        h.run(seconds: 0.05)
        #expect(h.generator.rfState == .impedanceCheck)
        h.pullCable()
        h.run(seconds: 0.08)
        #expect(h.core.phase == .faulted)
        #expect(h.alarms.first?.interlock == .linkLost)
        #expect(h.generator.rfState == .impedanceCheck, "nothing reaches a generator with its cable out")
        let plugged = h.now
        h.plugCable()
        h.run(seconds: 0.05)
        let off = h.generator.recorder.edges.last
        #expect(off?.on == false)
        #expect(off?.cause == .command(.rfOff), "the handshake's RF_OFF ends the check, not its own end")
        #expect(off.map { $0.microseconds - plugged <= 2 * CoreHarness.tick } == true)
        #expect(h.engine.state == .ready, "CONFIGURE is not refused with rf_active")
        #expect(h.core.phase == .faulted, "the lesion stays ended until the operator acknowledges")
    }

    @Test("generator_fault: a fault the generator latches ends the lesion")
    func generatorFault() {
        var h = CoreHarness()
        h.startAndReachHold()
        let at = h.now
        h.dropCommands = true  // host to generator only: the generator's watchdog trips, telemetry still flows
        h.run(seconds: 0.5) { $0.core.phase == .faulted }
        #expect(h.alarms.first?.interlock == .generatorFault)
        // The operator reads the bits by PROTOCOL.md's names, never as a mask.
        let detail = h.alarms.first?.detail ?? ""
        #expect(detail.contains("watchdog") || detail.contains("setpoint_expired"), "\(detail)")
        #expect(!detail.contains("0x"), "\(detail)")
        #expect(h.alarms.first!.raisedAt.microseconds - at <= 130_000)
        #expect(h.generator.recorder.edges.last?.on == false)
    }

    @Test("rf_dropped_by_generator: a generator that never switches on ends the treatment")
    func rfDropped() {
        var h = CoreHarness()
        h.dropTypes = [.rfOn]
        h.tick([.start(.bvn)])
        h.run(seconds: 2) { $0.core.phase == .faulted }
        #expect(h.alarms.first?.interlock == .rfDroppedByGenerator)
        #expect(h.generator.recorder.edges.map(\.on) == [true, false], "only the impedance check had RF")
    }

    @Test("impedance_check_failed: an open probe is found before any RF")
    func impedanceCheckFailed() {
        var h = CoreHarness()
        h.generator.inject(.impedance(.open))
        h.tick([.start(.bvn)])
        h.run(seconds: 1) { $0.core.phase == .faulted }
        #expect(h.alarms.first?.interlock == .impedanceCheckFailed)
        #expect(!h.actions.contains { $0.action == .generator(.rfOn) })
    }

    /// A generator without its own protection (no set-point expiry), so that the host's own
    /// judgement of its loop is what is tested, not the generator's.
    static var unprotected: GeneratorConfiguration {
        var configuration = GeneratorConfiguration()
        configuration.selfProtection = false
        return configuration
    }

    @Test(
        "control_loop_overrun is judged in time: a tick more than 50 ms late ends the lesion, 50 ms does not, at 100 Hz, 1 kHz and 10 Hz",
        arguments: [10_000, 1_000, 100_000] as [Int64]
    )
    func overrun(tick: Int64) {
        var h = CoreHarness(configuration: Self.unprotected, tickMicroseconds: tick)
        // In the ramp, RF on: the loop matters as much as in the hold, and the ramp is reached fast.
        h.tick([.start(.bvn)])
        h.run(seconds: 1)
        #expect(h.core.phase == .ramp)
        // The documented limit, written out: a nudged constant fails here. The tick after the
        // stall comes exactly 50 ms after it was due (one period after the one before it).
        h.pass(microseconds: 50_000)
        h.run(seconds: 0.5)
        #expect(h.core.phase == .ramp, "a tick 50 ms late is tolerated: \(h.alarms)")
        let at = h.now
        h.pass(microseconds: 50_001)
        Self.expectTrip(&h, .controlLoopOverrun, within: 0.002, since: at + 50_001)
        #expect(h.alarms.last?.detail.contains("ran 50 ms late (limit 50 ms)") == true, "\(h.alarms)")
    }

    @Test(
        "At 1 kHz a 5 ms (or 15 ms) hiccup of the loop is noise the whole chain tolerates; a loop stalled for 200 ms has RF off"
    )
    func hiccupAndStallAtOneKilohertz() {
        // The generator with its own protection: the set point it holds is valid 30 ms at any rate.
        var h = CoreHarness(tickMicroseconds: 1_000)
        h.tick([.start(.bvn)])
        h.run(seconds: 1)
        #expect(h.core.phase == .ramp)
        // Hiccups of 5 ms, and of 15 ms as a loaded virtual machine shows (longer than three
        // ticks at this rate, which was the set point's validity once).
        for hiccup: Int64 in [5_000, 15_000, 5_000, 15_000, 5_000, 5_000, 15_000, 5_000, 5_000, 15_000] {
            h.pass(microseconds: hiccup)
            h.run(seconds: 0.05)
        }
        #expect(h.core.phase == .ramp, "5 ms and 15 ms hiccups end nothing: \(h.alarms)")
        #expect(h.alarms.isEmpty)
        #expect(!h.generator.faults.contains(.setPointExpired), "the generator's set point never expired")
        // A stall: the generator's set point expires (RF off by the generator itself, 30 ms), and
        // the first tick after it trips the loop's own interlock, if nothing tripped before.
        let at = h.now
        h.pass(microseconds: 200_000)
        h.tick()
        #expect(h.core.phase == .faulted)
        #expect(
            h.rfOffAt.map { $0 - at <= 31_000 } == true,
            "RF off by the generator within 30 ms of the last set point"
        )
    }

    @Test("impedance_check_failed: a check that answers 2250 Ω gets no RF; 2150 Ω does (the range ends at 2200 Ω)")
    func impedanceCheckOutOfRange() throws {
        // What the check measures in this bone (the simulator's seed is fixed, so each harness
        // measures the same), then a load in series that puts it just past the range's end, and
        // just inside: the documented bound, written out, so that a nudged constant fails here.
        var probe = CoreHarness()
        probe.tick([.start(.bvn)])
        probe.run(seconds: 1) { $0.core.phase == .ramp }
        let bone = Double(try #require(probe.link.impedanceResult?.impedanceDeciohms)) / 10
        func check(at ohms: Double) -> CoreHarness {
            var h = CoreHarness()
            h.generator.inject(.impedance(.step(ohms: ohms - bone)))
            h.tick([.start(.bvn)])
            h.run(seconds: 1) { $0.core.phase == .faulted || $0.core.phase == .ramp }
            return h
        }
        let high = check(at: 2250)
        #expect(high.alarms.first?.interlock == .impedanceCheckFailed, "\(high.alarms)")
        #expect(high.alarms.first?.detail.contains(" Ω, needed") == true, "\(high.alarms)")
        #expect(!high.actions.contains { $0.action == .generator(.rfOn) })
        let within = check(at: 2150)
        #expect(within.core.phase == .ramp, "\(within.alarms)")
    }

    @Test("impedance_check_failed: a check never answered ends the start after 2 s, not before")
    func impedanceCheckUnanswered() {
        var h = CoreHarness()
        h.dropTypes = [.impedanceCheck]
        let started = h.now
        h.tick([.start(.bvn)])
        h.run(seconds: 1.95)
        #expect(h.core.phase == .impedanceCheck, "still waiting at 1.95 s")
        h.run(seconds: 0.2) { $0.core.phase == .faulted }
        #expect(h.alarms.first?.interlock == .impedanceCheckFailed)
        #expect(h.alarms.first?.detail == "no impedance result within 2 s")
        // The first tick past 2 s (10 ms ticks), written out: a timer a tick late fails here.
        #expect(h.alarms.first?.raisedAt.microseconds == started + 2_010_000, "\(h.alarms)")
        #expect(!h.actions.contains { $0.action == .generator(.rfOn) })
    }

    @Test("stale_telemetry: a reading 50 ms old is current, one a microsecond older is not")
    func staleBoundary() {
        var link = LinkSnapshot(connected: true)
        link.telemetry = Telemetry(
            timestampMicroseconds: 0,
            rfState: .off,
            faults: [],
            setPointMilliwatts: 0,
            powerMilliwatts: 0,
            voltageMillivolts: 0,
            currentMilliamps: 0,
            impedanceDeciohms: 0,
            impedanceValid: false,
            temperatures: [TemperatureReading(centiCelsius: 3700, status: .ok)]
        )
        link.telemetryReceivedAt = MonotonicInstant(microseconds: 1_000_000)
        #expect(link.freshTelemetry(at: MonotonicInstant(microseconds: 1_050_000)) != nil)
        #expect(link.freshTelemetry(at: MonotonicInstant(microseconds: 1_050_001)) == nil)
    }

    @Test(
        "Every power set point is valid for three ticks and at least 30 ms (30 ms at 100 Hz and at 1 kHz, 60 ms at 50 Hz): the generator's dead-man",
        arguments: [(10_000, 30), (1_000, 30), (20_000, 60)] as [(Int64, UInt16)]
    )
    func setPointValidity(tick: Int64, milliseconds: UInt16) {
        var h = CoreHarness(tickMicroseconds: tick)
        h.tick([.start(.bvn)])
        h.run(seconds: 1) { $0.core.phase == .ramp }
        h.run(seconds: 0.5)
        let validities = Set(
            h.actions.compactMap { if case .generator(.setPower(_, let ms)) = $0.action { ms } else { nil } }
        )
        #expect(validities == [milliseconds])
    }

    @Test("emergency_stop: RF off in the same tick, high alarm, even when idle")
    func emergencyStop() {
        var h = CoreHarness()
        h.startAndReachHold()
        let at = h.now
        h.tick([.emergencyStop])
        Self.expectTrip(&h, .emergencyStop, within: 0.01, since: at)
        #expect(h.rfOffAt == at)
        var idle = CoreHarness()
        idle.tick([.emergencyStop])
        #expect(idle.core.phase == .faulted)
    }

    @Test("treatment_time_cap: a lesion that cannot reach its band ends at hold + 600 s")
    func treatmentTimeCap() {
        var config = GeneratorConfiguration()
        config.tissue = .highPerfusion
        var h = CoreHarness(configuration: config)
        var weak = TreatmentProfile.bvn.withHold(seconds: 60)
        weak.powerLimitWatts = 1.0  // not enough to reach 83 °C in perfused bone (about 2 W holds 85 °C)
        let at = h.now
        h.tick([.start(weak)])
        Self.expectTrip(&h, .treatmentTimeCap, within: 661, since: at)
    }

    @Test("energy_cap: the lesion ends when it has delivered its profile's energy")
    func energyCap() {
        var h = CoreHarness()
        var capped = TreatmentProfile.bvn
        capped.energyCapJoules = 500
        h.tick([.start(capped)])
        Self.expectTrip(&h, .energyCap, within: 400, since: h.now)
        #expect(h.core.energyJoules >= 500)
        #expect(h.core.energyJoules < 500 + 15 * 0.02, "stopped within a tick of the cap")
    }

    @Test("record_unavailable: a lesion whose start is not durable in the record within 3 s gets no RF")
    func recordUnavailable() {
        var h = CoreHarness()
        h.rig.recordedStarts = 0
        h.tick([.start(.bvn)])
        Self.expectTrip(&h, .recordUnavailable, within: 3.5, since: h.now)
        #expect(!h.generator.recorder.edges.contains { $0.on && $0.cause != .impedanceCheck }, "RF never came on")
    }

    @Test("Every interlock has a documented priority and a test here")
    func everyInterlockCovered() {
        #expect(Interlock.allCases.count == 21)
    }
}
