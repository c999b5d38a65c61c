import Foundation
import GRDB
import RFGenAPI
import RFGenCore
import Testing

@testable import RFGenRecords

struct RecordStoreTests {
    static func temporaryPath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rfgen-records-\(UUID().uuidString)"
        )
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("records.sqlite").path
    }

    static let generator = GeneratorIdentity(model: "RFG-1", serialNumber: "SN0042", firmware: "1.2.3")

    static func start(level: String, uid: UInt32 = 0, at wall: Int64 = 0) -> LesionStart {
        LesionStart(
            profile: TreatmentProfile.bvn.withHold(seconds: 60),
            level: level,
            operatorUID: uid,
            generator: generator,
            wallMicroseconds: wall
        )
    }

    static func samples(from: Int64, count: Int) -> [LesionSample] {
        var samples: [LesionSample] = []
        for i in 0..<count {
            let impedance: UInt32? = i % 2 == 0 ? 6600 : nil
            samples.append(
                LesionSample(
                    microseconds: from + Int64(i) * 10_000,
                    tipCentiCelsius: Int16(3700 + i),
                    secondCentiCelsius: i == 1 ? nil : Int16(3650 + i),
                    powerMilliwatts: 3000,
                    setPointMilliwatts: 3100,
                    impedanceDeciohms: impedance,
                    rfOn: true,
                    phase: i == 0 ? .ramp : .hold,
                    targetCelsius: 37.5 + Double(i),
                    doseCEM43Minutes: 0.5 * Double(i),
                    diameterMillimetres: 0.25 * Double(i)
                )
            )
        }
        return samples
    }

    @Test("A lesion's record keeps its summary, alarms and every sample, and reads back exactly")
    func roundTrip() throws {
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(Self.start(level: "L4", uid: 1001, at: 1_700_000_000_000_000), daemonVersion: "9.8.7")
        let batch = Self.samples(from: 0, count: 100)
        let alarm = LesionAlarm(microseconds: 990_000, interlock: "impedance_rise", priority: "medium", detail: "rose")
        try store.append(
            lesion: id,
            samples: batch,
            alarms: [alarm],
            summary: LesionSummary(holdSeconds: 12.5, energyJoules: 300, peakCelsius: 85.3)
        )
        let totals = LesionSummary(
            holdSeconds: 13,
            energyJoules: 310,
            peakCelsius: 85.4,
            doseCEM43Minutes: 2.5e12,
            diameterMillimetres: 7.25
        )
        try store.finish(
            lesion: id,
            LesionEnd(
                outcome: "faulted",
                reason: "impedance_rise",
                summary: totals,
                shortfall: "time at temperature 13 s of the 60 s asked",
                wallMicroseconds: 1_700_000_001_000_000
            )
        )

        let lesion = try #require(try store.lesions().first)
        #expect(lesion.id == id && lesion.level == "L4" && lesion.operatorUID == 1001)
        #expect(lesion.outcome == "faulted" && lesion.endReason == "impedance_rise")
        #expect(lesion.holdSeconds == 13 && lesion.energyJoules == 310 && lesion.peakCelsius == 85.4)
        #expect(lesion.doseCEM43Minutes == 2.5e12 && lesion.diameterMillimetres == 7.25)
        #expect(lesion.complete == false && lesion.shortfall == "time at temperature 13 s of the 60 s asked")
        #expect(lesion.profileParameters == TreatmentProfile.bvn.withHold(seconds: 60))
        #expect(lesion.generator == Self.generator && lesion.daemonVersion == "9.8.7")
        #expect(try store.samples(lesion: id) == batch)
        #expect(try store.alarms(lesion: id) == [alarm])
    }

    @Test("A daemon killed mid-lesion leaves a readable record, marked aborted on the next start")
    func crashRecovery() throws {
        let path = Self.temporaryPath()
        var id: Int64 = 0
        do {
            let store = try RecordStore(path: path)
            id = try store.begin(Self.start(level: "S1", at: 5), daemonVersion: "1")
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
        #expect(lesion.complete == false && lesion.shortfall == "aborted: the daemon stopped during the lesion")
        #expect(lesion.endedMicroseconds == 490_000, "ended at its last sample")
        #expect(try reopened.samples(lesion: id).count == 50)
        #expect(try reopened.recoverInterrupted(at: 1000).isEmpty, "only once")
    }

    @Test("CSV export has a header and one line a sample in the API's units, empty fields for unknown values")
    func csv() throws {
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(Self.start(level: "L5", at: 1_796_137_706_000_000), daemonVersion: "1")
        try store.append(
            lesion: id,
            samples: Self.samples(from: 1_796_137_706_500_000, count: 2),
            summary: LesionSummary(holdSeconds: 0, energyJoules: 0, peakCelsius: 37)
        )
        let lines = try store.exportCSV(lesion: id).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines == [
                "wall_us,time_utc,elapsed_s,phase,tip_temp_c,second_temp_c,setpoint_c,power_w,setpoint_w,impedance_ohm,"
                    + "rf_on,dose_cem43_min,diameter_mm",
                "1796137706500000,2026-12-01T15:08:26.500000Z,0.5,ramp,37.0,36.5,37.5,3.0,3.1,660.0,1,0.0,0.0",
                "1796137706510000,2026-12-01T15:08:26.510000Z,0.51,hold,37.01,,38.5,3.0,3.1,,1,0.5,0.25",
                "",
            ]
        )
    }

    @Test("JSON export is the API's record document: snake_case, SI units, ISO 8601 times, nulls for unknowns")
    func json() throws {
        let store = try RecordStore(path: Self.temporaryPath())
        let id = try store.begin(Self.start(level: "L3", uid: 7, at: 1), daemonVersion: "0.5.0")
        let alarm = LesionAlarm(microseconds: 2, interlock: "emergency_stop", priority: "high", detail: "operator")
        try store.append(
            lesion: id,
            samples: Self.samples(from: 0, count: 3),
            alarms: [alarm],
            summary: LesionSummary(holdSeconds: 1, energyJoules: 2, peakCelsius: 3)
        )
        let data = try store.exportJSON(lesion: id)
        let document = try APIJSON.decoder().decode(RecordDocument.self, from: data)
        #expect(document.record.level == "L3" && document.record.operatorUid == 7)
        #expect(document.record.startedUtc == "1970-01-01T00:00:00.000001Z" && document.record.endedUtc == nil)
        #expect(document.record.generator == GeneratorInfo(model: "RFG-1", serial: "SN0042", firmware: "1.2.3"))
        #expect(document.record.profileParameters?.holdS == 60 && document.record.daemonVersion == "0.5.0")
        #expect(
            document.alarms == [RecordAlarm(wallUs: 2, cause: "emergency_stop", priority: "high", detail: "operator")]
        )
        #expect(document.samples.map(\.tipTempC) == [37, 37.01, 37.02])
        #expect(document.samples.map(\.phase) == ["ramp", "hold", "hold"])
        let text = String(decoding: data, as: UTF8.self)
        for key in ["\"tip_temp_c\"", "\"impedance_ohm\":null", "\"time_utc\"", "\"ended_us\":null", "\"power_w\""] {
            #expect(text.contains(key), "\(key) in the export")
        }
        for wireKey in ["tipCentiCelsius", "Deciohms", "Milliwatts", "microseconds"] {
            #expect(!text.contains(wireKey), "no wire-unit key \(wireKey) in the export")
        }
        #expect(throws: RecordError("no lesion with id 99")) { try store.exportJSON(lesion: 99) }
    }

    /// The schema the last release (0.4.0, migrations v1 and v2) made, as SQLite keeps it: pins
    /// the shipped migrations, so that an edit to one fails here rather than on a site's upgrade.
    static let shippedSchema = [
        "CREATE INDEX \"sampleByLesion\" ON \"sample\"(\"lesionID\", \"microseconds\")",
        "CREATE TABLE \"alarm\" (\"lesionID\" INTEGER NOT NULL REFERENCES \"lesion\"(\"id\"), "
            + "\"microseconds\" INTEGER NOT NULL, \"interlock\" TEXT NOT NULL, \"priority\" TEXT NOT NULL, "
            + "\"detail\" TEXT NOT NULL)",
        "CREATE TABLE \"lesion\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"profile\" TEXT NOT NULL, "
            + "\"level\" TEXT NOT NULL, \"operatorUID\" INTEGER NOT NULL, \"startedMicroseconds\" INTEGER NOT NULL, "
            + "\"endedMicroseconds\" INTEGER, \"outcome\" TEXT NOT NULL, \"endReason\" TEXT, "
            + "\"holdSeconds\" DOUBLE NOT NULL, \"energyJoules\" DOUBLE NOT NULL, \"peakCelsius\" DOUBLE NOT NULL)",
        "CREATE TABLE \"sample\" (\"lesionID\" INTEGER NOT NULL REFERENCES \"lesion\"(\"id\"), "
            + "\"microseconds\" INTEGER NOT NULL, \"tipCentiCelsius\" INTEGER, \"powerMilliwatts\" INTEGER NOT NULL, "
            + "\"setPointMilliwatts\" INTEGER NOT NULL, \"impedanceDeciohms\" INTEGER, \"rfOn\" BOOLEAN NOT NULL)",
        "CREATE TABLE \"sequence\" (\"id\" INTEGER PRIMARY KEY, \"seq\" INTEGER NOT NULL, \"clean\" BOOLEAN NOT NULL)",
    ]

    @Test("A database of the shipped schema (v2) upgrades without losing a record, its new values unknown")
    func upgradeFromShippedSchema() throws {
        let path = Self.temporaryPath()
        // The database as rfgend 0.4.0 left it: the shipped migrations, then rows written by its
        // own statements (two lesions, one ended, one killed mid-lesion).
        do {
            let old = try DatabaseQueue(path: path)
            try RecordStore.migrator.migrate(old, upTo: "v2: event sequence")
            let schema = try old.read { db in
                try String.fetchAll(
                    db,
                    sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb%' "
                        + "AND name NOT LIKE 'sqlite%' ORDER BY sql"
                )
            }
            #expect(schema == Self.shippedSchema)
            try old.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO lesion (profile, level, operatorUID, startedMicroseconds, endedMicroseconds, outcome,
                        endReason, holdSeconds, energyJoules, peakCelsius)
                        VALUES ('bvn', 'L4', 1000, 100, 900000100, 'done', 'hold complete', 900, 3100.5, 85.6),
                               ('bvn', 'L5', 1000, 2000000000, NULL, 'running', NULL, 10, 50, 70);
                        INSERT INTO sample (lesionID, microseconds, tipCentiCelsius, powerMilliwatts, setPointMilliwatts,
                        impedanceDeciohms, rfOn) VALUES (1, 110, 3712, 2500, 2500, 8500, 1), (1, 120, NULL, 2400, 2500, NULL, 1),
                        (2, 2000000010, 7000, 3000, 3000, 7000, 1);
                        INSERT INTO alarm (lesionID, microseconds, interlock, priority, detail)
                        VALUES (1, 900000200, 'emergency_stop', 'high', 'operator');
                        INSERT INTO sequence (id, seq, clean) VALUES (1, 4242, 1);
                        """
                )
            }
        }
        let store = try RecordStore(path: path)
        #expect(try store.recoverInterrupted(at: 3_000_000_000) == [2])
        let lesions = try store.lesions()
        #expect(lesions.map(\.id) == [2, 1])
        let done = try #require(lesions.last)
        #expect(done.level == "L4" && done.outcome == "done" && done.endReason == "hold complete")
        #expect(done.startedMicroseconds == 100 && done.endedMicroseconds == 900_000_100)
        #expect(done.holdSeconds == 900 && done.energyJoules == 3100.5 && done.peakCelsius == 85.6)
        #expect(done.doseCEM43Minutes == nil && done.complete == nil && done.generator == nil)
        #expect(done.profileParameters == nil && done.daemonVersion == nil)
        #expect(
            try store.samples(lesion: 1) == [
                LesionSample(
                    microseconds: 110,
                    tipCentiCelsius: 3712,
                    powerMilliwatts: 2500,
                    setPointMilliwatts: 2500,
                    impedanceDeciohms: 8500,
                    rfOn: true
                ),
                LesionSample(
                    microseconds: 120,
                    tipCentiCelsius: nil,
                    powerMilliwatts: 2400,
                    setPointMilliwatts: 2500,
                    impedanceDeciohms: nil,
                    rfOn: true
                ),
            ]
        )
        #expect(try store.alarms(lesion: 1).map(\.interlock) == ["emergency_stop"])
        #expect(try store.sequence()?.seq == 4242)
        #expect(lesions.first?.outcome == "aborted" && lesions.first?.endedMicroseconds == 2_000_000_010)
        // Old records export in the new form, their unknowns null; new lesions go on numbering.
        let document = try APIJSON.decoder().decode(RecordDocument.self, from: try store.exportJSON(lesion: 1))
        #expect(document.record.complete == nil && document.samples.first?.phase == nil)
        #expect(document.samples.first?.tipTempC == 37.12 && document.samples.first?.impedanceOhm == 850)
        #expect(try store.begin(Self.start(level: "S1"), daemonVersion: "1") == 3)
    }

    @Test("A session keeps its plan and every attempt per level; one open at a time; it survives reopening the store")
    func procedureSession() throws {
        let path = Self.temporaryPath()
        let store = try RecordStore(path: path)
        let plan = SessionOpenParams(patientRef: "MRN-4711", procedure: "BVN ablation", levels: ["L3", "L4", "L5"])
        let session = try store.openProcedure(plan, operatorUID: 1000, at: 100)
        #expect(throws: RecordError("session \(session.id) is open")) {
            try store.openProcedure(plan, operatorUID: 1000, at: 101)
        }
        // L3 done; L4 faulted, then retried and done; L5 not yet; one lesion outside the session.
        func lesion(_ level: String, session: Int64?, outcome: String, shortfall: String?) throws -> Int64 {
            var start = Self.start(level: level)
            start.session = session
            let id = try store.begin(start, daemonVersion: "1")
            try store.finish(
                lesion: id,
                LesionEnd(
                    outcome: outcome,
                    reason: outcome,
                    summary: LesionSummary(holdSeconds: 60, energyJoules: 1, peakCelsius: 85),
                    shortfall: shortfall,
                    wallMicroseconds: 200
                )
            )
            return id
        }
        let l3 = try lesion("L3", session: session.id, outcome: "done", shortfall: nil)
        let l4a = try lesion(
            "L4",
            session: session.id,
            outcome: "faulted",
            shortfall: "time at temperature 3 s of the 60 s asked"
        )
        _ = try lesion("L4", session: nil, outcome: "done", shortfall: nil)
        let l4b = try lesion("L4", session: session.id, outcome: "done", shortfall: nil)

        let reopened = try RecordStore(path: path)
        #expect(try reopened.openProcedure()?.id == session.id, "still open after a restart")
        let info = try #require(try reopened.procedureInfo(id: session.id))
        #expect(info.state == "open" && info.patientRef == "MRN-4711" && info.procedure == "BVN ablation")
        #expect(info.levels.map(\.level) == ["L3", "L4", "L5"])
        #expect(info.levels.map { $0.attempts.map(\.recordId) } == [[l3], [l4a, l4b], []])
        #expect(info.levels.map(\.complete) == [true, true, false])
        #expect(info.levels[1].attempts[0].incompleteReason == "time at temperature 3 s of the 60 s asked")
        #expect(info.completeLevels == 2 && !info.allComplete)
        #expect(try reopened.lesion(id: l4b)?.summary.sessionId == session.id)

        try reopened.closeProcedure(session.id, at: 300)
        #expect(throws: RecordError("session \(session.id) is not open")) {
            try reopened.closeProcedure(session.id, at: 301)
        }
        #expect(try reopened.openProcedure() == nil)
        #expect(try reopened.procedureInfo(id: session.id)?.closedUtc == "1970-01-01T00:00:00.000300Z")
        #expect(try reopened.procedures(limit: 10, beforeID: nil).map(\.id) == [session.id])
    }
}
