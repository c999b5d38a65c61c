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
            Exit status: 0 done; 1 the daemon refused (the reason is printed); 2 status answered and \
            an alarm is latched; 3 the daemon could not be reached or went away; 64 bad usage. \
            --json prints one JSON value on standard output, on every command (watch and capture: \
            one per line); README.md lists each command's shape. The socket is --socket, else \
            $RFGEN_SOCKET, else /run/rfgend/api.sock. Shell completions: \
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

    /// A document (report, export): to its file, or to standard output. With --json, standard
    /// output gets one JSON object instead: the outcome with the file and its size, or, without
    /// a file, the document itself as `content`.
    func document(_ text: String, to path: String?, outcome: Outcome) {
        guard common.json else { return write(text, to: path) }
        if let path { write(text, to: path) }
        var outcome = outcome
        outcome.file = path
        outcome.bytes = text.utf8.count
        guard path == nil else { return output(outcome) { "" } }
        output(Contained(outcome: outcome, content: text)) { "" }
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
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's state; exit status 2 while an alarm is latched.",
        discussion: """
            --field NAME prints one value of the status object (API.md), by its JSON name, with dots \
            into objects and numbers into arrays: state, rf_on, tip_temp_c, readings.faults, \
            loop.late_p99_us, alarms.0.cause. Strings print bare, other values as JSON, an unknown \
            value (null) as an empty line. Exit status: 0, or 2 when an alarm is latched (for \
            scripts: `rfctl status --field state || ...`); a name the status does not have is 64.
            """
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Option(
        help: "Print only this value, e.g. state, tip_temp_c, readings.faults, alarms.0.cause.",
        completion: .list([
            "state", "rf_on", "link", "link_state", "tip_temp_c", "power_w", "impedance_ohm", "setpoint_c",
            "elapsed_s", "hold_s", "remaining_s", "energy_j", "peak_c", "dose_cem43_min", "diameter_mm", "complete",
            "alarms", "alarms.0.cause", "readings.faults", "telemetry_age_ms", "loop.late_p99_us", "records.writing",
        ])
    )
    var field: String?

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let status = try api.call("status", as: StatusResult.self)
        if let field {
            guard let value = Self.value(of: status, at: field) else {
                FileHandle.standardError.write(
                    Data("rfctl: the status has no \(field); its fields: \(Self.fieldNames(status))\n".utf8)
                )
                Foundation.exit(64)
            }
            print(value)
        } else {
            output(status) { Text.status(status) }
        }
        if !status.alarms.isEmpty { Foundation.exit(2) }
    }

    /// One value of the status as the API writes it (snake_case keys), by a dotted path.
    static func value(of status: StatusResult, at path: String) -> String? {
        guard let data = try? APIJSON.encode(status, encoder: APIJSON.encoder()),
            var value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else { return nil }
        for part in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            if let object = value as? [String: Any], let next = object[part] {
                value = next
            } else if let array = value as? [Any], let index = Int(part), array.indices.contains(index) {
                value = array[index]
            } else {
                return nil
            }
        }
        switch value {
        case is NSNull: return ""
        case let text as String: return text
        default:
            guard
                let data = try? JSONSerialization.data(
                    withJSONObject: value,
                    options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]
                )
            else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// The status's top-level names, for the message about one it does not have.
    static func fieldNames(_ status: StatusResult) -> String {
        guard let data = try? APIJSON.encode(status, encoder: APIJSON.encoder()),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return "" }
        return object.keys.sorted().joined(separator: ", ")
    }
}

/// An outcome with its document, for --json without a file.
struct Contained: Encodable {
    var outcome: Outcome
    var content: String

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(content, forKey: .content)
    }

    private enum Key: String, CodingKey { case content }
}

/// What a command that changes something prints with --json: what happened, in one word, and the
/// values that say which.
struct Outcome: Encodable {
    /// `started`, `stopped`, `not_running`, `emergency_stop`, `acknowledged`, `written`.
    var result: String
    var profile: String?
    var level: String?
    var holdS: Double?
    /// The daemon's state before a stop.
    var was: String?
    var id: UInt64?
    /// A document's file, its size in bytes, and the records in it.
    var file: String?
    var bytes: Int?
    var records: [Int64]?
    var format: String?

    /// Only the values this command has: a shape per command (README.md), not a row of nulls.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(result, forKey: .result)
        if let profile { try c.encode(profile, forKey: .profile) }
        if let level { try c.encode(level, forKey: .level) }
        if let holdS { try c.encode(holdS, forKey: .holdS) }
        if let was { try c.encode(was, forKey: .was) }
        if let id { try c.encode(id, forKey: .id) }
        if let file { try c.encode(file, forKey: .file) }
        if let bytes { try c.encode(bytes, forKey: .bytes) }
        if let records { try c.encode(records, forKey: .records) }
        if let format { try c.encode(format, forKey: .format) }
    }

    private enum CodingKeys: String, CodingKey {
        case result, profile, level, holdS, was, id, file, bytes, records, format
    }
}

struct Start: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a lesion: the only way RF comes on.",
        discussion: "Takes the control lease for the request; refused while another console holds it."
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Option(
        help: "Treatment profile (rfctl profiles lists them).",
        // The daemon's own list, through the socket the shell's environment names.
        completion: .shellCommand("rfctl profiles --names 2>/dev/null || echo bvn")
    )
    var profile: String = "bvn"
    @Option(help: "Vertebral level, e.g. L4.", completion: .list(Levels.all)) var level: String
    @Option(help: "Shorter hold time in seconds, for tests and demonstrations (the profile's limits apply).")
    var holdS: Double?

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        _ = try api.call("lease.acquire", as: LeaseInfo.self)
        let result = try api.call(
            "start",
            StartParams(profile: profile, level: level, holdS: holdS),
            as: Empty.self
        )
        _ = result
        output(Outcome(result: "started", profile: profile, level: level, holdS: holdS)) {
            "started \(profile) at \(level)"
        }
    }
}

struct Stop: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "End the lesion, RF off. Needs no lease.",
        discussion: """
            Idempotent: with nothing running, the daemon still sends RF off and the answer is \
            "nothing was running" with exit status 0, so that a stop repeated, or sent from two \
            consoles, never reads as a failure.
            """
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        // Read first, only for the words: the stop itself does not depend on it.
        let before = try? api.call("status", as: StatusResult.self)
        _ = try api.call("stop", as: Empty.self)
        let active = ["impedance_check", "ramp", "hold"].contains(before?.state ?? "")
        let was = before?.state
        output(Outcome(result: active ? "stopped" : "not_running", was: was)) {
            active
                ? "stopped: the lesion\(before?.level.map { " at \($0)" } ?? "") ended in \(was ?? "?"); RF off"
                : "nothing was running (\(was ?? "state unknown")); RF off"
        }
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
        _ = try api.call("estop", as: Empty.self)
        output(Outcome(result: "emergency_stop")) { "emergency stop: RF off" }
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
        _ = try api.call("ack", AckParams(id: id), as: Empty.self)
        output(Outcome(result: "acknowledged", id: id)) { "acknowledged" }
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
        document(html, to: output, outcome: Outcome(result: "written", records: ids, format: "html"))
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
        @Option(
            help: "Planned levels in order, e.g. L3,L4,L5 (L1-L5, S1; at most 5).",
            completion: .list(["L4,L5", "L3,L4,L5", "L5,S1", "L4,L5,S1"] + Levels.all)
        )
        var levels: String
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

/// The vertebral levels a lesion may name (API.md).
enum Levels {
    static let all = ["L1", "L2", "L3", "L4", "L5", "S1"]
}

struct Profiles: APICommand {
    static let configuration = CommandConfiguration(abstract: "List the treatment profiles the daemon offers.")
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Flag(help: "Only their names, one a line (for scripts and shell completion).") var names = false

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let profiles = try api.call("profiles", as: [ProfileInfo].self)
        if names && !common.json { return print(profiles.map(\.name).joined(separator: "\n")) }
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
    static let configuration = CommandConfiguration(
        abstract: "List the API's clients and their last requests.",
        discussion: """
            Each client's last requests show as their methods, oldest first. With --json they are \
            the request lines as the client sent them (cut to 200 bytes, so not always whole JSON): \
            what an auditor of a misbehaving client needs is what it sent, not a reading of it.
            """
    )
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
                    + ($0.lastRequests.isEmpty ? "" : "\n  last requests: " + Self.methods($0.lastRequests))
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
        @Option(help: "csv, json or fhir.", completion: .list(["csv", "json", "fhir"])) var format: String = "csv"
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
                    document(
                        String(decoding: json, as: UTF8.self) + "\n",
                        to: output,
                        outcome: Outcome(result: "written", records: documents.map(\.record.id), format: "fhir")
                    )
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
            document(text, to: output, outcome: Outcome(result: "written", records: [export.id], format: format))
        }
    }
}

extension Clients {
    /// The methods of request lines, as a person reads them: `status, subscribe, start`; a line
    /// that names none, or one in characters no method has (a client's escape sequence must not
    /// reach the operator's terminal), shows as `?`.
    static func methods(_ lines: [String]) -> String {
        lines.map { line in
            line.firstMatch(of: /"method"\s*:\s*"([A-Za-z0-9._-]{1,40})"/).map { String($0.1) } ?? "?"
        }.joined(separator: ", ")
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
