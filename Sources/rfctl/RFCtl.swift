import ArgumentParser
import Foundation
import RFGenAPI
import RFGenReport
import RFGenSystem

/// `rfctl`: the operator's and the test rig's command line to rfgend.
@main
struct RFCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfctl",
        abstract: "Talk to rfgend: status, start, stop, emergency stop, acknowledge, watch, records, capture.",
        discussion: """
            Exit status: 0 done; 1 the daemon refused (the reason is printed); 3 the daemon could not \
            be reached or went away; 64 bad usage. --json prints what the API returned, one JSON \
            value (watch and capture: one per line). Shell completions: \
            rfctl --generate-completion-script bash|zsh|fish.
            """,
        version: RFGenVersion.current,
        subcommands: [
            Status.self, Start.self, Stop.self, EStop.self, Ack.self, Watch.self, Session.self, Records.self,
            Report.self, Capture.self, Clients.self, Profiles.self, Metrics.self,
        ]
    )

    @Option(
        help: """
            rfgend's API socket (may also follow the subcommand). Without it, $RFGEN_SOCKET; \
            without that, /run/rfgend/api.sock.
            """
    )
    var socket: String?

    /// Starts with no signal blocked, whatever the parent left (`unblockInheritedSignals`).
    static func main() {
        unblockInheritedSignals()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let defaultSocket = "/run/rfgend/api.sock"

    /// The socket: --socket, then RFGEN_SOCKET (when not empty), then the default.
    static func socket(_ given: String?) -> String {
        if let given { return given }
        if let variable = ProcessInfo.processInfo.environment["RFGEN_SOCKET"], !variable.isEmpty { return variable }
        return defaultSocket
    }
}

/// What every subcommand takes: the socket (after the subcommand too, for the stable form
/// `rfctl SUBCOMMAND --socket PATH`) and --json.
struct Common: ParsableArguments {
    @Option(name: .customLong("socket"), help: "rfgend's API socket.")
    var socketAfter: String?

    @Flag(help: "Print JSON: the API's own objects.")
    var json = false
}

protocol APICommand: ParsableCommand {
    var root: RFCtl { get }
    var common: Common { get }
    /// The work, on a connection; throws `APIConnection.Failure`.
    func run(on api: APIConnection) throws(APIConnection.Failure)
}

extension APICommand {
    var socket: String { RFCtl.socket(common.socketAfter ?? root.socket) }

    func run() throws {
        do {
            try run(on: try APIConnection(path: socket))
        } catch {
            fail(error)
        }
    }

    func fail(_ failure: APIConnection.Failure) -> Never {
        FileHandle.standardError.write(Data("rfctl: \(failure)\n".utf8))
        switch failure {
        case .refused: Foundation.exit(1)
        case .unreachable: Foundation.exit(3)
        }
    }

    /// Writes a document to `path` (whole, replacing the file at once), or to standard output
    /// without one; a file that cannot be written is exit 1, with the reason.
    func write(_ text: String, to path: String?) {
        guard let path else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data("rfctl: cannot write \(path): \(error)\n".utf8))
            Foundation.exit(1)
        }
    }

    /// Prints a value as one line of JSON, or the human text.
    func output<Value: Encodable>(_ value: Value, human: () -> String) {
        if common.json {
            let encoder = APIJSON.encoder()
            print(String(decoding: (try? APIJSON.encode(value, encoder: encoder)) ?? Data("null".utf8), as: UTF8.self))
        } else {
            print(human())
        }
    }
}

struct Status: APICommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's state.")
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let status = try api.call("status", as: StatusResult.self)
        output(status) { Text.status(status) }
    }
}

struct Start: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a lesion: the only way RF comes on.",
        discussion: "Takes the control lease for the request; refused while another console holds it."
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Option(help: "Treatment profile.") var profile: String = "bvn"
    @Option(help: "Vertebral level, e.g. L4.") var level: String
    @Option(help: "Shorter hold time in seconds, for tests and demonstrations (the profile's limits apply).")
    var holdS: Double?

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        _ = try api.call("lease.acquire", as: LeaseInfo.self)
        let result = try api.call(
            "start",
            StartParams(profile: profile, level: level, holdS: holdS),
            as: Empty.self
        )
        output(result) { "started \(profile) at \(level)" }
    }
}

struct Stop: APICommand {
    static let configuration = CommandConfiguration(abstract: "End the lesion, RF off. Needs no lease.")
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        output(try api.call("stop", as: Empty.self)) { "stopped" }
    }
}

struct EStop: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "estop",
        abstract: "Emergency stop: RF off, high-priority alarm. Needs no lease."
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        output(try api.call("estop", as: Empty.self)) { "emergency stop: RF off" }
    }
}

struct Ack: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "Acknowledge the latched alarms once their conditions have cleared."
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Argument(help: "A latched alarm's id from status; all latched alarms are acknowledged together.")
    var id: UInt64?

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        output(try api.call("ack", AckParams(id: id), as: Empty.self)) { "acknowledged" }
    }
}

struct Report: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "A report of one or more lesions: one self-contained HTML file, for screen or A4 paper.",
        discussion: """
            Plots of tip temperature and set point, power, impedance and dose against time, phases \
            shaded and alarms marked, and a summary table per level. The page has no script and \
            fetches nothing.
            """
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Argument(help: "The records' ids, in the order they are to appear.") var ids: [Int64] = []
    @Option(help: "Every lesion of this procedure session, in the order they were started.") var session: Int64?
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @Option(help: "The report's heading (default: the session's procedure and patient reference).") var title: String?

    func validate() throws {
        guard ids.isEmpty != (session == nil) else {
            throw ValidationError("name record ids or --session ID, not both")
        }
        guard ids.count <= 16 else { throw ValidationError("at most 16 records in one report") }
    }

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        var ids = self.ids
        var heading = title ?? "RF ablation report"
        if let session {
            let info = try api.call("session.show", SessionParams(id: session), as: SessionInfo.self)
            ids = Set(info.levels.flatMap { $0.attempts.map(\.recordId) }).sorted()
            guard !ids.isEmpty else { fail(.refused(APIError(.notFound, "session \(session) has no lesions yet"))) }
            heading = title ?? "\(info.procedure ?? "Procedure") · session \(info.id) · patient ref \(info.patientRef)"
        }
        var documents: [RecordDocument] = []
        for id in ids { documents.append(try Self.document(id, on: api, failing: self)) }
        let html = LesionReport.html(
            documents: documents,
            title: heading,
            generatedUs: Int64(Date().timeIntervalSince1970 * 1_000_000)
        )
        write(html, to: output)
    }
}

extension Report {
    /// One record's whole export, read as the API's document.
    static func document(
        _ id: Int64,
        on api: APIConnection,
        failing command: some APICommand
    ) throws(APIConnection.Failure)
        -> RecordDocument
    {
        let export = try api.call(
            "records.export",
            RecordParams(id: id, format: "json"),
            as: RecordExport.self,
            timeoutMilliseconds: 60_000
        )
        do {
            return try api.decoder.decode(RecordDocument.self, from: Data(export.content.utf8))
        } catch {
            command.fail(.unreachable("record \(id) could not be read: \(error)"))
        }
    }
}

struct Session: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Procedure sessions: one patient's levels, a lesion per level, retries kept.",
        discussion: """
            While a session is open, start takes only its planned levels and each lesion is filed \
            under it; it stays open across a daemon restart. The patient reference is an opaque \
            id from the hospital's system, never a name.
            """,
        subcommands: [Open.self, Close.self, Show.self, List.self],
        defaultSubcommand: Show.self
    )

    struct Open: APICommand {
        static let configuration = CommandConfiguration(abstract: "Open a session and plan its levels.")
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Option(help: "The hospital's opaque patient or encounter reference (never a name).") var patient: String
        @Option(help: "Planned levels in order, e.g. L3,L4,L5 (L1-L5, S1; at most 5).") var levels: String
        @Option(help: "A label for the procedure, e.g. \"BVN ablation\".") var procedure: String?
        @Flag(help: "Allow a level planned twice, on purpose.") var allowRepeats = false

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let params = SessionOpenParams(
                patientRef: patient,
                procedure: procedure,
                levels: levels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() },
                allowRepeats: allowRepeats ? true : nil
            )
            let info = try api.call("session.open", params, as: SessionInfo.self)
            output(info) { Text.session(info) }
        }
    }

    struct Close: APICommand {
        static let configuration = CommandConfiguration(abstract: "Close the open session.")
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let info = try api.call("session.close", SessionParams(), as: SessionInfo.self)
            output(info) { Text.session(info) }
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "A session's levels and every attempt (default: the open one, or the newest)."
        )
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Argument(help: "The session's id.") var id: Int64?

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let info = try api.call("session.show", SessionParams(id: id), as: SessionInfo.self)
            output(info) { Text.session(info) }
        }
    }

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List the sessions, newest first.")
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Option(help: "At most this many.") var limit: Int = APILimits.recordsPerPage
        @Option(help: "Only sessions with a smaller id (the next page).") var before: Int64?

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let list = try api.call(
                "session.list",
                SessionListParams(limit: limit, beforeId: before),
                as: [SessionInfo].self
            )
            output(list) {
                list.isEmpty
                    ? "no sessions"
                    : list.map {
                        "\($0.id)  \(Text.time($0.openedUs))  \($0.state)  patient ref \($0.patientRef)  "
                            + "\($0.completeLevels)/\($0.levels.count) levels complete"
                    }.joined(separator: "\n")
            }
        }
    }
}

struct Profiles: APICommand {
    static let configuration = CommandConfiguration(abstract: "List the treatment profiles the daemon offers.")
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let profiles = try api.call("profiles", as: [ProfileInfo].self)
        output(profiles) {
            profiles.map {
                $0.mode == "power"
                    ? "\($0.name)  power \(Text.number($0.powerLimitW, "W")) for \(Text.duration($0.holdS)), "
                        + "tip at most \(Text.number($0.targetC, "°C")), at most \(Text.number($0.energyCapJ, "J", digits: 0))"
                    : "\($0.name)  \(Text.number($0.targetC, "°C")) ±\(Text.number($0.holdBandC, "°C")) "
                        + "for \(Text.duration($0.holdS))  ramp \(Text.number($0.rampCPerS, "°C/s"))  "
                        + "at most \(Text.number($0.powerLimitW, "W")), \(Text.number($0.energyCapJ, "J", digits: 0))"
                        + ($0.minDoseCem43Min.map { "  dose \(Scientific.text($0)) CEM43 min" } ?? "")
            }.joined(separator: "\n")
        }
    }
}

struct Clients: APICommand {
    static let configuration = CommandConfiguration(abstract: "List the API's clients and their last requests.")
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let clients = try api.call("clients", as: [ClientInfo].self)
        output(clients) {
            clients.map {
                "client \($0.client) uid \($0.uid) pid \($0.pid) \($0.role.rawValue)"
                    + ($0.holdsLease ? " lease" : "")
                    + ($0.subscribed.isEmpty ? "" : " subscribed \($0.subscribed.joined(separator: ","))")
                    + ($0.missed > 0 ? " missed \($0.missed)" : "")
            }.joined(separator: "\n")
        }
    }
}

struct Records: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Treatment records: list, show, export.",
        subcommands: [List.self, Show.self, Export.self],
        defaultSubcommand: List.self
    )

    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List the records, newest first.")
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Option(help: "At most this many.") var limit: Int = APILimits.recordsPerPage
        @Option(help: "Only records with a smaller id (the next page).") var before: Int64?

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let records = try api.call(
                "records.list",
                RecordsListParams(limit: limit, beforeId: before),
                as: [RecordSummary].self
            )
            output(records) { records.isEmpty ? "no records" : records.map(Text.record).joined(separator: "\n") }
        }
    }

    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "One record: summary and alarms.")
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Argument(help: "The record's id.") var id: Int64

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            let detail = try api.call("records.show", RecordParams(id: id), as: RecordDetail.self)
            output(detail) {
                ([Text.record(detail.record), "samples: \(detail.samples)"]
                    + detail.alarms.map { "alarm \($0.priority) \($0.cause): \($0.detail) at \(Text.time($0.wallUs))" })
                    .joined(separator: "\n")
            }
        }
    }

    struct Export: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "One record with every sample, as CSV or JSON; or a session for the hospital's record (FHIR R4).",
            discussion: """
                --format fhir --session ID writes an HL7 FHIR R4 transaction Bundle: the Procedure \
                (CPT codes from the levels treated, reason M54.51, the levels, the device), the \
                generator as a Device with rfgend as its software, an Observation per lesion and \
                ChargeItems for the CPT codes. The patient is referenced by the session's patient \
                reference under --patient-system.
                """
        )
        @ParentCommand var root: RFCtl
        @OptionGroup var common: Common
        @Argument(help: "The record's id (csv, json).") var id: Int64?
        @Option(help: "The procedure session (fhir).") var session: Int64?
        @Option(help: "csv, json or fhir.") var format: String = "csv"
        @Option(help: "The hospital's identifier system for the patient reference (fhir).")
        var patientSystem: String = FHIRBundle.defaultPatientSystem
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func validate() throws {
            switch format {
            case "csv", "json":
                guard id != nil, session == nil else {
                    throw ValidationError("--format \(format) exports one record: give its id")
                }
            case "fhir":
                guard session != nil, id == nil else {
                    throw ValidationError("--format fhir exports a session: give --session ID")
                }
            default:
                throw ValidationError("--format must be csv, json or fhir")
            }
        }

        func run(on api: APIConnection) throws(APIConnection.Failure) {
            if let session {
                let info = try api.call("session.show", SessionParams(id: session), as: SessionInfo.self)
                var documents: [RecordDocument] = []
                for id in Set(info.levels.flatMap { $0.attempts.map(\.recordId) }).sorted() {
                    documents.append(try Report.document(id, on: api, failing: self))
                }
                do {
                    let json = try FHIRBundle.json(session: info, records: documents, patientSystem: patientSystem)
                    write(String(decoding: json, as: UTF8.self) + "\n", to: output)
                } catch {
                    fail(.unreachable("the FHIR bundle could not be made: \(error)"))
                }
                return
            }
            let export = try api.call(
                "records.export",
                RecordParams(id: id ?? 0, format: format),
                as: RecordExport.self,
                timeoutMilliseconds: 60_000
            )
            let text = export.content.hasSuffix("\n") ? export.content : export.content + "\n"
            write(text, to: output)
        }
    }
}

/// Human-readable forms.
enum Text {
    static func number(_ value: Double?, _ unit: String, digits: Int = 1) -> String {
        guard let value else { return "--" }
        return String(format: "%.\(digits)f", value) + " " + unit
    }

    static func time(_ wallUs: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(wallUs) / 1_000_000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        return String(format: "%d:%02d", s / 60, s % 60)
    }

    static func status(_ s: StatusResult) -> String {
        var lines = [
            "state \(s.state)  rf \(s.rfOn ? "ON" : "off")  link \(s.link) (\(s.linkState))"
                + (s.profile.map { "  profile \($0.name)" } ?? "") + (s.level.map { " \($0)" } ?? ""),
            "tip \(number(s.tipTempC, "°C"))  power \(number(s.powerW, "W", digits: 2))  impedance \(number(s.impedanceOhm, "Ω"))"
                + (s.telemetryAgeMs.map { "  (reading \(Int($0)) ms old)" } ?? "  (no reading)"),
            "set point \(number(s.setpointC, "°C"))  elapsed \(duration(s.elapsedS))  at temperature \(duration(s.holdS))"
                + (s.remainingS.map { "  remaining \(duration($0))" } ?? "")
                + "  energy \(number(s.energyJ, "J", digits: 0))",
        ]
        if let dose = s.doseCem43Min {
            lines.append(
                "dose \(Scientific.text(dose)) CEM43 min  lesion about \(number(s.diameterMm, "mm")) (estimated)"
                    + (s.complete.map { $0 ? "  complete" : "  INCOMPLETE: \(s.incompleteReason ?? "")" } ?? "")
            )
        }
        lines += [
            "loop \(s.loop.tickHz) Hz  late p50 \(s.loop.lateP50Us) µs  p99 \(s.loop.lateP99Us) µs  max \(s.loop.lateMaxUs) µs  overruns \(s.loop.overruns)",
            "link frames \(s.linkStats.frames)  crc errors \(s.linkStats.crcErrors)  lost \(s.linkStats.telemetryLost)  retries \(s.linkStats.retries)",
        ]
        if let session = s.session {
            lines.append(
                "session \(session.id)  patient ref \(session.patientRef)  levels \(session.levels.joined(separator: ","))"
            )
        }
        if s.lease.held { lines.append("control lease: client \(s.lease.client ?? 0) (uid \(s.lease.uid ?? 0))") }
        if let faults = s.readings?.faults, !faults.isEmpty {
            lines.append("generator faults: " + faults.joined(separator: ", "))
        }
        lines += s.alarms.map { "ALARM \($0.id) \($0.priority.uppercased()) \($0.cause): \($0.detail)" }
        return lines.joined(separator: "\n")
    }

    static func session(_ s: SessionInfo) -> String {
        var lines = [
            "session \(s.id)  \(s.state)  patient ref \(s.patientRef)" + (s.procedure.map { "  \($0)" } ?? ""),
            "opened \(time(s.openedUs))" + (s.closedUs.map { "  closed \(time($0))" } ?? "")
                + "  \(s.completeLevels) of \(s.levels.count) levels complete",
        ]
        for level in s.levels {
            let attempts = level.attempts.map { attempt in
                "#\(attempt.recordId) \(attempt.outcome)"
                    + (attempt.complete == true ? " complete" : attempt.complete == false ? " incomplete" : "")
            }
            lines.append(
                "  \(level.level)  \(level.complete ? "COMPLETE" : "not complete")"
                    + (attempts.isEmpty ? "  no lesion yet" : "  " + attempts.joined(separator: ", "))
            )
        }
        return lines.joined(separator: "\n")
    }

    static func record(_ r: RecordSummary) -> String {
        "\(r.id)  \(time(r.startedUs))  \(r.profile) \(r.level.isEmpty ? "-" : r.level)  uid \(r.operatorUid)  \(r.outcome)"
            + "  at temperature \(duration(r.holdS))  \(Int(r.energyJ)) J  peak \(number(r.peakC, "°C"))"
            + (r.diameterMm.map { "  about \(number($0, "mm")) (estimated)" } ?? "")
            + (r.complete.map { $0 ? "  complete" : "  incomplete" } ?? "")
            + (r.endReason.map { "  (\($0))" } ?? "")
    }
}
