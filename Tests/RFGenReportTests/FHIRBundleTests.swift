import Foundation
import RFGenAPI
import RFGenReport
import Testing

/// The hospital's record (issue 16 item 5): the Bundle is validated by a real FHIR library.
struct FHIRBundleTests {
    static let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Helpers/fhir_validate.py").path

    /// Runs the FHIR R4B validator (PyPI's fhir.resources, installed by scripts/setup) on `json`.
    static func validate(_ json: Data) throws -> (ok: Bool, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString).json")
        try json.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", helper, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, output)
    }

    /// The three lesions of `LesionReportTests` as a closed session: L4 done, L5 faulted then done.
    static func session(closed: Bool = true) -> (SessionInfo, [RecordDocument]) {
        let documents = LesionReportTests.three
        func attempt(_ d: RecordDocument) -> SessionAttempt {
            SessionAttempt(
                recordId: d.record.id,
                outcome: d.record.outcome,
                complete: d.record.complete,
                incompleteReason: d.record.incompleteReason,
                startedUs: d.record.startedUs
            )
        }
        let info = SessionInfo(
            id: 4,
            patientRef: "MRN-0042",
            procedure: "BVN ablation",
            state: closed ? "closed" : "open",
            plannedLevels: ["L4", "L5", "S1"],
            allowRepeats: false,
            operatorUid: 1000,
            openedUs: documents[0].record.startedUs - 60_000_000,
            closedUs: closed ? documents[2].record.endedUs.map { $0 + 60_000_000 } : nil,
            levels: [
                SessionLevel(level: "L4", attempts: [attempt(documents[0])], complete: true),
                SessionLevel(level: "L5", attempts: [attempt(documents[1]), attempt(documents[2])], complete: true),
                SessionLevel(level: "S1", attempts: [], complete: false),
            ]
        )
        return (info, documents)
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("CPT codes from the levels treated: 64628 for the first two vertebral bodies, 64629 for each more")
    func cpt() {
        #expect(FHIRBundle.cptCodes(levels: 0).isEmpty)
        #expect(FHIRBundle.cptCodes(levels: 1).map(\.code) == ["64628"])
        #expect(FHIRBundle.cptCodes(levels: 2).map { "\($0.code)x\($0.quantity)" } == ["64628x1"])
        #expect(FHIRBundle.cptCodes(levels: 4).map { "\($0.code)x\($0.quantity)" } == ["64628x1", "64629x2"])
    }

    @Test("A session's Bundle validates as FHIR R4 (fhir.resources R4B), every resource on its own too")
    func validates() throws {
        let (info, documents) = Self.session()
        let json = try FHIRBundle.json(session: info, records: documents, patientSystem: "urn:oid:1.2.3.4")
        let result = try Self.validate(json)
        #expect(result.ok, "\(result.output)")
        #expect(
            result.output.hasPrefix("ok Device Procedure Observation Observation Observation ChargeItem (6 entries)"),
            "\(result.output)"
        )
        // And an open session (in progress, no end) validates as well.
        let (open, _) = Self.session(closed: false)
        let inProgress = try Self.validate(try FHIRBundle.json(session: open, records: documents))
        #expect(inProgress.ok, "\(inProgress.output)")
    }

    @Test("The Bundle says what the record says: levels, codes, reason, device, each lesion's measures")
    func content() throws {
        let (info, documents) = Self.session()
        let bundle = try Self.object(try FHIRBundle.json(session: info, records: documents))
        #expect(bundle["type"] as? String == "transaction")
        let resources = (bundle["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
        let procedure = try #require(resources.first { $0["resourceType"] as? String == "Procedure" })
        #expect(procedure["status"] as? String == "completed")
        #expect(
            (procedure["bodySite"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == [
                "L4 vertebral body", "L5 vertebral body",
            ]
        )
        let reason = (procedure["reasonCode"] as? [[String: Any]])?.first?["coding"] as? [[String: Any]]
        #expect(reason?.first?["code"] as? String == "M54.51")
        #expect((procedure["note"] as? [[String: Any]])?.first?["text"] as? String == "Planned but not completed: S1")
        let subject = procedure["subject"] as? [String: Any]
        #expect((subject?["identifier"] as? [String: Any])?["value"] as? String == "MRN-0042")
        // Two levels treated: 64628 once, no 64629.
        let charges = resources.filter { $0["resourceType"] as? String == "ChargeItem" }
        #expect(charges.count == 1)
        let device = try #require(resources.first { $0["resourceType"] as? String == "Device" })
        #expect(device["serialNumber"] as? String == "SN&7")
        let versions = (device["version"] as? [[String: Any]])?.compactMap { $0["value"] as? String }
        #expect(versions == ["1.0.0", "0.5.0"], "firmware, then rfgend's version")
        // Every attempt an Observation; the faulted one incomplete, with its reason.
        let observations = resources.filter { $0["resourceType"] as? String == "Observation" }
        #expect(observations.count == 3)
        let faulted = try #require(
            observations.first { ($0["code"] as? [String: Any])?["text"] as? String == "RF lesion at L5" }
        )
        let components = faulted["component"] as? [[String: Any]] ?? []
        let complete = components.first { ($0["code"] as? [String: Any])?["text"] as? String == "Lesion complete" }
        #expect(complete?["valueBoolean"] as? Bool == false)
        let units = components.compactMap { ($0["valueQuantity"] as? [String: Any])?["code"] as? String }
        #expect(units == ["s", "J", "Cel", "min", "mm"])
        #expect(
            (faulted["note"] as? [[String: Any]])?.contains {
                ($0["text"] as? String)?.hasPrefix("Incomplete: ") == true
            } == true
        )
    }

    @Test("The validator refuses what is not FHIR: an element R4 does not have, a date that is not one")
    func validatorRefuses() throws {
        let (info, documents) = Self.session()
        let good = String(decoding: try FHIRBundle.json(session: info, records: documents), as: UTF8.self)
        for (from, to, named) in [
            ("\"performedPeriod\"", "\"performedWhen\"", "performedWhen"),
            ("\"effectivePeriod\":{\"end\":\"", "\"effectivePeriod\":{\"end\":\"soon ", "effectivePeriod"),
        ] {
            let bad = good.replacingOccurrences(of: from, with: to)
            #expect(bad != good)
            let result = try Self.validate(Data(bad.utf8))
            #expect(
                !result.ok && result.output.hasPrefix("invalid") && result.output.contains(named),
                "\(result.output)"
            )
        }
    }
}
