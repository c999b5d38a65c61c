import Foundation
import RFGenCore
import RFGenRecords
import Testing

struct RecordStoreTests {
    static func temporaryPath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rfgen-records-\(UUID().uuidString)"
        )
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("records.sqlite").path
    }

    static func samples(from: Int64, count: Int) -> [LesionSample] {
        var samples: [LesionSample] = []
        for i in 0..<count {
            let impedance: UInt32? = i % 2 == 0 ? 6600 : nil
            samples.append(
                LesionSample(
                    microseconds: from + Int64(i) * 10_000,
                    tipCentiCelsius: Int16(3700 + i),
                    powerMilliwatts: 3000,
                    setPointMilliwatts: 3100,
                    impedanceDeciohms: impedance,
                    rfOn: true
                )
            )
        }
        return samples
    }

    @Test("A lesion's record keeps its summary, alarms and every sample, and reads back exactly")
    func roundTrip() throws {
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(profile: "bvn", level: "L4", operatorUID: 1001, at: 1_700_000_000_000_000)
        let batch = Self.samples(from: 0, count: 100)
        let alarm = LesionAlarm(microseconds: 990_000, interlock: "impedance_rise", priority: "medium", detail: "rose")
        try store.append(
            lesion: id,
            samples: batch,
            alarms: [alarm],
            summary: LesionSummary(holdSeconds: 12.5, energyJoules: 300, peakCelsius: 85.3)
        )
        try store.finish(lesion: id, outcome: "faulted", reason: "impedance_rise", at: 1_700_000_001_000_000)

        let lesion = try #require(try store.lesions().first)
        #expect(lesion.id == id && lesion.level == "L4" && lesion.operatorUID == 1001)
        #expect(lesion.outcome == "faulted" && lesion.endReason == "impedance_rise")
        #expect(lesion.holdSeconds == 12.5 && lesion.energyJoules == 300 && lesion.peakCelsius == 85.3)
        #expect(try store.samples(lesion: id) == batch)
        #expect(try store.alarms(lesion: id) == [alarm])
    }

    @Test("A daemon killed mid-lesion leaves a readable record, marked aborted on the next start")
    func crashRecovery() throws {
        let path = Self.temporaryPath()
        var id: Int64 = 0
        do {
            let store = try RecordStore(path: path)
            id = try store.begin(profile: "bvn", level: "S1", operatorUID: 0, at: 5)
            try store.append(
                lesion: id,
                samples: Self.samples(from: 0, count: 50),
                summary: LesionSummary(holdSeconds: 0, energyJoules: 10, peakCelsius: 40)
            )
            // No finish: the process dies here.
        }
        let reopened = try RecordStore(path: path)
        #expect(try reopened.recoverInterrupted(at: 999) == [id])
        let lesion = try #require(try reopened.lesions().first)
        #expect(lesion.outcome == "aborted")
        #expect(lesion.endedMicroseconds == 490_000, "ended at its last sample")
        #expect(try reopened.samples(lesion: id).count == 50)
        #expect(try reopened.recoverInterrupted(at: 1000).isEmpty, "only once")
    }

    @Test("CSV export has a header and one line a sample, empty fields for missing values")
    func csv() throws {
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(profile: "bvn", level: "L5", operatorUID: 0, at: 0)
        try store.append(
            lesion: id,
            samples: Self.samples(from: 0, count: 2),
            summary: LesionSummary(holdSeconds: 0, energyJoules: 0, peakCelsius: 37)
        )
        #expect(
            try store.exportCSV(lesion: id)
                == "t_us,tip_cC,power_mW,setpoint_mW,impedance_dOhm,rf_on\n0,3700,3000,3100,6600,1\n10000,3701,3000,3100,,1\n"
        )
    }

    @Test("JSON export holds the summary, alarms and samples, and decodes back to them")
    func json() throws {
        struct Document: Decodable {
            var lesion: LesionRecord
            var alarms: [LesionAlarm]
            var samples: [LesionSample]
        }
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(profile: "bvn", level: "L3", operatorUID: 7, at: 1)
        let alarm = LesionAlarm(microseconds: 2, interlock: "emergency_stop", priority: "high", detail: "operator")
        try store.append(
            lesion: id,
            samples: Self.samples(from: 0, count: 3),
            alarms: [alarm],
            summary: LesionSummary(holdSeconds: 1, energyJoules: 2, peakCelsius: 3)
        )
        let document = try JSONDecoder().decode(Document.self, from: try store.exportJSON(lesion: id))
        #expect(document.lesion.level == "L3" && document.lesion.operatorUID == 7)
        #expect(document.alarms == [alarm])
        #expect(document.samples == Self.samples(from: 0, count: 3))
        #expect(throws: RecordError("no lesion with id 99")) { try store.exportJSON(lesion: 99) }
    }
}
