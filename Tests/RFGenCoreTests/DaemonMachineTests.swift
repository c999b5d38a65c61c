import RFGenAPI
import RFGenCore
import RFGenMachine
import RFGenProtocol
import RFGenSimulator
import Testing

/// The daemon's machine, as rfgend steps it: requests from several clients in one tick, each with
/// its ticket; what comes back for each, for the API and for the record.
struct DaemonMachineTests {
    /// The command events the API was told, as (client, command, accepted).
    static func told(_ out: MachineOutput) -> [String] {
        out.events.compactMap {
            if case .command(let c) = $0 { "\(c.client) \(c.command) \(c.accepted ? "done" : "refused")" } else { nil }
        }
    }

    @Test("Two clients' starts, then two stops, in one tick: each its own outcome; the record names the start done")
    func twoClientsInOneTick() {
        var h = CoreHarness()
        // Client 2 (L5, uid 1002) and client 1 (L3, uid 1001) start in the same tick, client 2 first.
        let first = h.request(.start(.bvn), level: "L5", uid: 1002, client: 2)
        let second = h.request(.start(.bvn), level: "L3", uid: 1001, client: 1)
        let started = h.tick(requests: [first, second])
        #expect(started.outcomes.map(\.ticket) == [first.ticket, second.ticket])
        #expect(started.outcomes[0].accepted, "the first start is carried out")
        #expect(started.outcomes[1].refusal?.contains("a treatment is running") == true, "\(started.outcomes)")
        #expect(Self.told(started) == ["2 start done", "1 start refused"])
        #expect(started.started == first)
        let began = started.records.compactMap {
            if case .began(let start) = $0 { "\(start.level) \(start.operatorUID)" } else { nil }
        }
        #expect(began == ["L5 1002"], "the record names the accepted start's level and uid")
        #expect(h.rig.machine.status.level == "L5")
        let phase = started.events.compactMap { if case .phaseChanged(let p) = $0 { p } else { nil } }
        #expect(phase.first?.level == "L5")

        h.run(seconds: 2)
        #expect(h.core.phase.isActive)
        // Client 1 then client 2 stop in the same tick.
        let stops = [h.request(.stop, uid: 1001, client: 1), h.request(.stop, uid: 1002, client: 2)]
        let stopped = h.tick(requests: stops)
        #expect(stopped.outcomes.map(\.ticket) == stops.map(\.ticket))
        #expect(stopped.outcomes[0].accepted, "the first stop is carried out")
        #expect(stopped.outcomes[1].accepted, "the second finds nothing running: done, not refused")
        #expect(Self.told(stopped) == ["1 stop done", "2 stop done"])
        #expect(h.core.phase == .stopped)
        #expect(h.records.contains { if case .ended(let end) = $0, end.outcome == "stopped" { true } else { false } })
        #expect(h.generator.recorder.edges.last?.on == false, "RF off on the generator's record")
    }

    @Test("An estop racing a start in one tick: both done and told; the probe never energised, not even to check")
    func estopRacingStart() {
        var h = CoreHarness()
        let start = h.request(.start(.bvn), level: "L4", uid: 1000, client: 1)
        let estop = h.request(.emergencyStop, uid: 1001, client: 2)
        let out = h.tick(requests: [start, estop])
        #expect(out.outcomes.allSatisfy { $0.accepted })
        #expect(Self.told(out) == ["1 start done", "2 estop done"])
        #expect(h.core.phase == .faulted)
        #expect(out.generator == [.rfOff], "RF_OFF alone: the start's impedance check is not sent")
        h.run(seconds: 1)
        #expect(h.generator.recorder.edges.isEmpty, "RF never came on")
    }

    @Test("RF_ON waits until the lesion's start is durable in the record; then the lesion goes on")
    func rfWaitsForTheRecord() {
        var h = CoreHarness()
        h.rig.recordedStarts = 0
        let out = h.tick(requests: [h.request(.start(.bvn), level: "L4", uid: 1000, client: 1)])
        #expect(out.outcomes.first?.accepted == true)
        h.run(seconds: 2)
        #expect(h.core.phase == .impedanceCheck, "the check passed, RF waits: \(h.core.phase)")
        #expect(
            !h.generator.recorder.edges.contains { $0.on && $0.cause != .impedanceCheck },
            "no RF before the record"
        )
        h.rig.recordedStarts = 1
        h.run(seconds: 1)
        #expect(h.core.phase == .ramp, "\(h.core.phase)")
        #expect(h.generator.recorder.edges.contains { $0.on && $0.cause == .command(.rfOn) }, "RF on once recorded")
    }

    @Test("A lesion whose start cannot be recorded within 3 s never gets RF: record_unavailable")
    func noRecordNoRF() {
        var h = CoreHarness()
        h.rig.recordedStarts = 0
        _ = h.tick(requests: [h.request(.start(.bvn), level: "L4", uid: 1000, client: 1)])
        h.run(seconds: 4)
        #expect(h.core.phase == .faulted, "\(h.core.phase)")
        #expect(h.alarms.map(\.interlock) == [.recordUnavailable], "\(h.alarms)")
        #expect(!h.generator.recorder.edges.contains { $0.on && $0.cause != .impedanceCheck }, "RF never came on")
        #expect(!h.generator.isOutputEnabled)
    }

    @Test("A reading that trips an interlock switches RF off on its arrival, before the next tick")
    func rfOffOnArrival() {
        // Without the generator's own protection, which would switch off for an open channel first.
        var configuration = GeneratorConfiguration()
        configuration.selfProtection = false
        var h = CoreHarness(configuration: configuration)
        h.startAndReachHold()
        #expect(h.core.phase == .hold)
        let ticksBefore = h.outputs.count
        h.generator.inject(.thermocouple(channel: 0, .open))
        let injectedAt = h.now
        h.run(seconds: 0.1) { $0.core.phase == .faulted }
        guard let alarm = h.alarms.first, let off = h.rfOffAt else {
            Issue.record("no alarm or no RF off: \(h.alarms)")
            return
        }
        #expect(alarm.interlock == .temperatureSensor)
        // The alarm came from a frame's arrival, not a tick: no tick's output holds it.
        #expect(!h.outputs[ticksBefore...].contains { $0.output.actions.contains(.alarm(alarm)) })
        // The generator sends a frame every 10 ms and the host looks every 1 ms.
        #expect(off - injectedAt <= 11_000, "RF off \(off - injectedAt) µs after the fault")
        #expect(off == alarm.raisedAt.microseconds, "RF_OFF reached the generator at the alarm's instant")
    }
}
