import Foundation
import RFGenAPI

/// A procedure session as an HL7 FHIR R4 transaction Bundle for the hospital's record (issue 16
/// item 5): the Procedure, the Device that delivered it, an Observation per lesion, and the
/// ChargeItems for its CPT codes. Pure: it reads the session and its records in the API's form.
///
/// Choices, where FHIR leaves them to us:
/// - The patient is referenced by identifier only (`patient_ref` under the hospital's identifier
///   system): we hold no Patient, and no name.
/// - CPT 64628 covers the first two vertebral bodies and 64629 each one more; both are billed
///   with ChargeItems (a Procedure has one code and no quantity). A level counts as treated when
///   one of its lesions is complete; incomplete attempts are still reported as Observations.
/// - Vertebral levels are given as text (`L4 vertebral body`): we do not guess SNOMED codes.
/// - Our measurements have no LOINC codes; they are coded in rfgen's own code system
///   (`observationSystem`) with UCUM units.
public enum FHIRBundle {
    public static let cptSystem = "http://www.ama-assn.org/go/cpt"
    public static let icd10System = "http://hl7.org/fhir/sid/icd-10-cm"
    public static let ucumSystem = "http://unitsofmeasure.org"
    public static let observationSystem = "urn:rfgen:observation"
    /// The identifier system for `patient_ref` when the hospital names none.
    public static let defaultPatientSystem = "urn:rfgen:patient-ref"

    /// CPT codes for `levels` vertebral bodies treated: 64628 once, 64629 for each beyond two.
    public static func cptCodes(levels: Int) -> [(code: String, quantity: Int)] {
        guard levels > 0 else { return [] }
        return levels > 2 ? [("64628", 1), ("64629", levels - 2)] : [("64628", 1)]
    }

    static let cptDisplay = [
        "64628": "Thermal destruction of intraosseous basivertebral nerve, first 2 vertebral bodies, lumbar or sacral",
        "64629":
            "Thermal destruction of intraosseous basivertebral nerve, each additional vertebral body, lumbar or sacral",
    ]

    /// - Parameters:
    ///   - session: the session as `session.show` gives it.
    ///   - records: its lesions' exports (`records.export`, JSON), any order.
    ///   - patientSystem: the hospital's identifier system for `patient_ref`.
    ///   - uuid: makes the Bundle's entry ids (given, so that tests can fix them).
    public static func json(
        session: SessionInfo,
        records: [RecordDocument],
        patientSystem: String = defaultPatientSystem,
        uuid: () -> String = { UUID().uuidString.lowercased() }
    ) throws -> Data {
        let lesions = records.sorted { $0.record.id < $1.record.id }
        let subject: [String: Any] = [
            "identifier": ["system": patientSystem, "value": session.patientRef],
            "display": "patient reference \(session.patientRef)",
        ]
        let deviceURL = "urn:uuid:" + uuid()
        let procedureURL = "urn:uuid:" + uuid()
        var entries: [[String: Any]] = []
        func add(_ url: String, _ resource: [String: Any]) {
            entries.append([
                "fullUrl": url,
                "resource": resource,
                "request": ["method": "POST", "url": resource["resourceType"] as? String ?? ""],
            ])
        }

        // The generator, as its handshake named it, with rfgend as its software.
        let generator = lesions.compactMap(\.record.generator).last
        var versions: [[String: Any]] = []
        if let generator {
            versions.append(["type": ["text": "firmware"], "value": generator.firmware])
        }
        if let daemon = lesions.compactMap(\.record.daemonVersion).last {
            versions.append(["type": ["text": "software"], "component": ["value": "rfgend"], "value": daemon])
        }
        var device: [String: Any] = [
            "resourceType": "Device",
            "status": "active",
            "type": ["text": "Radiofrequency ablation generator"],
            "deviceName": [["name": generator?.model ?? "unknown generator", "type": "model-name"]],
        ]
        if let serial = generator?.serial { device["serialNumber"] = serial }
        if !versions.isEmpty { device["version"] = versions }
        add(deviceURL, device)

        // The procedure: the session's time, its levels, its reason.
        let treated = session.levels.filter(\.complete).map(\.level)
        let starts = lesions.map(\.record.startedUs)
        let ends = lesions.compactMap(\.record.endedUs) + [session.closedUs].compactMap { $0 }
        var period: [String: Any] = ["start": fhirTime(starts.min() ?? session.openedUs)]
        if session.state == "closed", let end = ends.max() { period["end"] = fhirTime(end) }
        let codes = cptCodes(levels: treated.count)
        var procedure: [String: Any] = [
            "resourceType": "Procedure",
            "status": session.state == "closed" ? "completed" : "in-progress",
            "identifier": [["system": "urn:rfgen:session", "value": "\(session.id)"]],
            "subject": subject,
            "code": [
                "coding": [["system": cptSystem, "code": "64628", "display": cptDisplay["64628"] ?? ""]],
                "text": "Basivertebral nerve ablation, \(treated.count) vertebral bodies treated"
                    + (treated.isEmpty ? "" : " (\(treated.joined(separator: ", ")))"),
            ],
            "performedPeriod": period,
            "reasonCode": [
                [
                    "coding": [
                        ["system": icd10System, "code": "M54.51", "display": "Vertebrogenic low back pain"]
                    ]
                ]
            ],
            "focalDevice": [["manipulated": ["reference": deviceURL]]],
        ]
        if !treated.isEmpty { procedure["bodySite"] = treated.map { ["text": "\($0) vertebral body"] } }
        let untreated = session.levels.filter { !$0.complete }.map(\.level)
        if !untreated.isEmpty {
            procedure["note"] = [["text": "Planned but not completed: \(untreated.joined(separator: ", "))"]]
        }
        if let label = session.procedure { procedure["category"] = ["text": label] }
        add(procedureURL, procedure)

        // One Observation per lesion, every attempt.
        for document in lesions {
            let r = document.record
            func quantity(_ code: String, _ text: String, _ value: Double?, _ unit: String) -> [String: Any]? {
                guard let value, value.isFinite else { return nil }
                return [
                    "code": ["coding": [["system": observationSystem, "code": code]], "text": text],
                    "valueQuantity": ["value": value, "unit": unit, "system": ucumSystem, "code": unit],
                ]
            }
            var components: [[String: Any]] = [
                quantity("time-at-temperature", "Time at temperature", r.holdS, "s"),
                quantity("energy", "Energy delivered", r.energyJ, "J"),
                quantity("peak-temperature", "Peak tip temperature", r.peakC, "Cel"),
                quantity("cem43-dose", "CEM43 thermal dose at the tip", r.doseCem43Min, "min"),
                quantity("lesion-diameter-estimate", "Estimated lesion diameter (model)", r.diameterMm, "mm"),
            ].compactMap { $0 }
            if let complete = r.complete {
                components.append([
                    "code": [
                        "coding": [["system": observationSystem, "code": "complete"]], "text": "Lesion complete",
                    ],
                    "valueBoolean": complete,
                ])
            }
            var effective: [String: Any] = ["start": fhirTime(r.startedUs)]
            if let ended = r.endedUs { effective["end"] = fhirTime(ended) }
            var notes = ["Outcome \(r.outcome)" + (r.endReason.map { ": \($0)" } ?? "")]
            if let reason = r.incompleteReason { notes.append("Incomplete: \(reason)") }
            var observation: [String: Any] = [
                "resourceType": "Observation",
                "status": r.outcome == "running" ? "preliminary" : "final",
                "identifier": [["system": "urn:rfgen:record", "value": "\(r.id)"]],
                "code": [
                    "coding": [["system": observationSystem, "code": "rf-lesion"]],
                    "text": "RF lesion at \(r.level)",
                ],
                "subject": subject,
                "partOf": [["reference": procedureURL]],
                "effectivePeriod": effective,
                "device": ["reference": deviceURL],
                "component": components,
                "note": notes.map { ["text": $0] },
            ]
            if !r.level.isEmpty { observation["bodySite"] = ["text": "\(r.level) vertebral body"] }
            add("urn:uuid:" + uuid(), observation)
        }

        // The billing codes, with their quantities.
        for (code, count) in codes {
            add(
                "urn:uuid:" + uuid(),
                [
                    "resourceType": "ChargeItem",
                    "status": "billable",
                    "code": ["coding": [["system": cptSystem, "code": code, "display": cptDisplay[code] ?? ""]]],
                    "subject": subject,
                    "quantity": ["value": count],
                    "service": [["reference": procedureURL]],
                ]
            )
        }

        let bundle: [String: Any] = ["resourceType": "Bundle", "type": "transaction", "entry": entries]
        return try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// A FHIR dateTime/instant in UTC, to the microsecond.
    static func fhirTime(_ microseconds: Int64) -> String { UTCTime.iso8601(microseconds: microseconds) }
}
