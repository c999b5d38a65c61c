import RFGenCore
import RFGenProtocol
import RFGenSimulator
import Testing

/// What the treatment record receives from the daemon's machine: the entries the daemon's record
/// thread writes and the deterministic simulation checks.
struct TreatmentRecordingTests {
    /// A harness whose record entries (the machine's, on ticks and on arrivals) are kept.
    struct Recorded {
        var harness = CoreHarness()
        var entries: [RecordEntry] { harness.records }

        mutating func tick(_ commands: [OperatorCommand] = []) {
            harness.tick(
                requests: commands.map { harness.request($0, level: "L5", uid: 1001) }
            )
        }
    }

    @Test("A lesion's record: its start, a sample a tick with the totals, the alarm ahead of the end, the end's totals")
    func lesionWithAlarm() {
        var r = Recorded()
        let startedAt = r.harness.now
        r.tick([.start(.bvn)])
        #expect(
            r.entries.first
                == .began(
                    LesionStart(
                        profile: .bvn,
                        level: "L5",
                        operatorUID: 1001,
                        generator: GeneratorIdentity(model: "RFG-SIM-1", serialNumber: "SIM-0001", firmware: "0.1.0"),
                        wallMicroseconds: startedAt
                    )
                )
        )
        for _ in 0..<300 { r.tick() }
        #expect(r.harness.core.phase == .ramp)
        r.harness.generator.inject(.thermocouple(channel: 0, .open))
        for _ in 0..<5 { r.tick() }
        #expect(r.harness.core.phase == .faulted)

        let samples = r.entries.compactMap { if case .sample(let s, _) = $0 { s } else { nil } }
        #expect(samples.count >= 290, "one a tick with fresh telemetry")
        #expect(samples.contains { $0.rfOn && $0.powerMilliwatts > 0 })
        guard let alarmIndex = r.entries.firstIndex(where: { if case .alarm = $0 { true } else { false } }),
            case .alarm(let alarm) = r.entries[alarmIndex],
            case .ended(let end) = r.entries[alarmIndex + 1]
        else {
            Issue.record("no alarm followed by the end: \(r.entries.suffix(3))")
            return
        }
        #expect(alarm.interlock == "temperature_sensor" && alarm.priority == "high")
        #expect(end.outcome == "faulted" && end.reason.contains("temperature_sensor"))
        #expect(end.summary.energyJoules == r.harness.core.energyJoules && end.summary.energyJoules > 1)
        #expect(end.summary.doseCEM43Minutes == r.harness.core.dose.tipMinutes && end.summary.doseCEM43Minutes > 0)
        #expect(end.shortfall?.hasPrefix("time at temperature 0 s of the 900 s asked") == true, "\(end)")
        #expect(r.entries.count == alarmIndex + 2, "nothing recorded after the end")
    }

    @Test(
        "An alarm after the lesion's end is still an entry, and the record's outcome follows the daemon to faulted"
    )
    func alarmAfterTheEnd() {
        var r = Recorded()
        r.tick([.start(.bvn)])
        for _ in 0..<100 { r.tick() }
        r.tick([.stop])
        #expect(r.entries.contains { if case .ended(let end) = $0, end.outcome == "stopped" { true } else { false } })
        let ended = r.entries.count
        r.tick([.emergencyStop])
        #expect(r.entries.count == ended + 2)
        if case .alarm(let alarm) = r.entries[ended] {
            #expect(alarm.interlock == "emergency_stop")
        } else {
            Issue.record("no alarm entry: \(r.entries.suffix(2))")
        }
        // The daemon is now faulted, and so is the record: it says what the daemon ended in.
        if case .amended(let outcome, let reason) = r.entries.last {
            #expect(outcome == "faulted")
            #expect(reason.contains("emergency_stop"))
        } else {
            Issue.record("no amendment: \(r.entries.suffix(2))")
        }
        #expect(r.entries.suffix(2).allSatisfy { !$0.droppable })
    }
}
