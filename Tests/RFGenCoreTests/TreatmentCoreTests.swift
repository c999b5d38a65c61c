import RFGenCore
import RFGenProtocol
import RFGenSimulator
import Testing

struct TreatmentCoreTests {
    @Test("Without an explicit start RF never comes on: start-up, a long idle, a reconnect")
    func noRFWithoutStart() {
        var h = CoreHarness()
        h.run(seconds: 5)
        h.pullCable()
        h.run(seconds: 1)
        h.plugCable()
        h.run(seconds: 5)
        #expect(!h.actions.contains { $0.action == .generator(.rfOn) })
        #expect(h.generator.recorder.edges.isEmpty, "the generator's record: RF never on")
        #expect(h.core.phase == .idle)
    }

    @Test("Two starts and two stops in one tick: each command gets its own outcome, by its position")
    func equalCommandsInOneTick() {
        var h = CoreHarness()
        let starts: [OperatorCommand] = [.start(.bvn), .start(.bvn)]
        let started = h.tick(starts)
        let startRefusals = TickOutcomes.refusals(count: 2, actions: started)
        #expect(startRefusals[0] == nil, "the first start is carried out")
        #expect(startRefusals[1]?.contains("running") == true, "\(startRefusals)")
        #expect(TickOutcomes.acceptedStart(commands: starts, actions: started) == 0)
        h.run(seconds: 1)
        let stopped = h.tick([.stop, .stop])
        let stopRefusals = TickOutcomes.refusals(count: 2, actions: stopped)
        #expect(stopRefusals[0] == nil, "the first stop is carried out")
        #expect(stopRefusals[1] == nil, "a second stop is done too: stop is idempotent")
        #expect(h.core.phase == .stopped)
        let none = h.tick([.stop, .acknowledge])
        #expect(TickOutcomes.refusals(count: 2, actions: none) == [nil, "no alarm to acknowledge"])
        #expect(none.contains(.generator(.rfOff)), "a stop with nothing running still sends RF_OFF")
        #expect(h.core.phase == .stopped, "and changes nothing else")
        #expect(TickOutcomes.acceptedStart(commands: [.stop, .acknowledge], actions: none) == nil)
    }

    @Test("A bvn lesion runs idle → impedance check → ramp → hold → done and switches RF off")
    func fullLesion() {
        var h = CoreHarness()
        h.tick([.start(.bvn)])
        h.run(seconds: 1200) { $0.core.phase == .done || $0.core.phase == .faulted }
        let phases = h.actions.compactMap { if case .phaseChanged(_, let to) = $0.action { to } else { nil } }
        #expect(phases == [.impedanceCheck, .ramp, .hold, .done])
        #expect(h.core.holdSeconds >= 900)
        #expect(h.alarms.isEmpty, "\(h.alarms)")
        h.run(seconds: 1)
        #expect(h.generator.recorder.edges.map(\.on) == [true, false, true, false], "impedance check, then the lesion")
        #expect(h.generator.recorder.edges.last?.cause == .command(.rfOff))
        #expect(
            h.rfOffAt! - h.actions.last { $0.action == .phaseChanged(from: .hold, to: .done) }!.microseconds
                <= CoreHarness.tick
        )
    }

    @Test("Stop ends the lesion with RF off within a tick and no alarm")
    func stop() {
        var h = CoreHarness()
        h.startAndReachHold()
        h.run(seconds: 10)
        let stopAt = h.now
        h.tick([.stop])
        h.run(seconds: 0.1)
        #expect(h.core.phase == .stopped)
        #expect(h.alarms.isEmpty)
        #expect(h.rfOffAt == stopAt)
    }

    @Test("Start is refused with a reason while running, while faulted, and with a bad profile")
    func startRefusals() {
        var h = CoreHarness()
        var bad = TreatmentProfile.bvn
        bad.setPointCelsius = 120
        let refused = h.tick([.start(bad)])
        #expect(
            refused.contains { if case .refused(_, _, let reason) = $0 { reason.contains("set point") } else { false } }
        )
        h.tick([.start(.bvn)])
        let again = h.tick([.start(.bvn)])
        #expect(
            again.contains { if case .refused(_, _, let reason) = $0 { reason.contains("running") } else { false } }
        )
        h.tick([.emergencyStop])
        let faulted = h.tick([.start(.bvn)])
        #expect(
            faulted.contains {
                if case .refused(_, _, let reason) = $0 { reason.contains("acknowledge") } else { false }
            }
        )
    }

    @Test("A latched alarm needs the operator's acknowledgement and a cleared condition before idle")
    func acknowledgement() {
        var h = CoreHarness()
        h.startAndReachHold()
        h.generator.inject(.thermocouple(channel: 0, .open))
        h.run(seconds: 0.5)
        #expect(h.core.phase == .faulted)
        let early = h.tick([.acknowledge])
        #expect(
            early.contains { if case .refused(_, _, let reason) = $0 { reason.contains("still open") } else { false } }
        )
        #expect(h.core.phase == .faulted)
        h.generator.inject(.thermocouple(channel: 0, nil))
        h.run(seconds: 0.1)
        h.tick([.acknowledge])
        #expect(h.core.phase == .idle)
        #expect(h.core.alarms.isEmpty)
        h.run(seconds: 0.1)
        #expect(h.link.telemetry?.faults.isEmpty == true, "the generator's own faults were cleared too")
    }
}

struct TreatmentCoreQualityTests {
    @Test(
        "The core's own bvn lesion, through the link engine, meets the control targets on every preset",
        arguments: TissuePreset.allCases
    )
    func bvnOnPreset(_ preset: TissuePreset) {
        var config = GeneratorConfiguration()
        config.tissue = preset.parameters
        var h = CoreHarness(configuration: config)
        h.tick([.start(.bvn)])
        var reachedAt: Int64?
        var overshoot = 0.0
        var lastOutside: Int64 = 0
        var squares = 0.0
        var samples = 0
        while h.core.phase != .done && h.core.phase != .faulted && h.now < 1_300_000_000 {
            h.tick()
            guard h.core.phase == .hold || h.core.phase == .ramp, let t = h.link.telemetry else { continue }
            let reading = Double(t.temperatures[0].centiCelsius) / 100
            if reachedAt == nil && reading >= 85 { reachedAt = h.now }
            guard reachedAt != nil else { continue }
            overshoot = max(overshoot, reading - 85)
            if abs(reading - 85) > 1 { lastOutside = h.now }
            squares += (reading - 85) * (reading - 85)
            samples += 1
        }
        #expect(h.core.phase == .done, "\(h.alarms)")
        #expect(overshoot <= 1.0)
        #expect(Double(max(0, lastOutside - (reachedAt ?? 0))) / 1e6 <= 30)
        #expect((squares / Double(max(samples, 1))).squareRoot() <= 0.5)
        #expect(h.core.holdSeconds >= 900)
    }
}
