import Foundation
import RFGenSystem
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// rfctl as people and scripts use it (issue 18): `--json` on every command with the shape
/// README.md documents, an idempotent stop, `status --field` and its exit status, and the watch
/// as a terminal and as a pipe show it. rfgend on rfgen-sim as real processes.
@Suite(.serialized)
struct RFCtlProcessTests {
    typealias P = RFGenDProcessTests

    /// rfctl with --socket, its exit status and standard output parsed as JSON (nil when it is not).
    static func json(_ api: String, _ arguments: [String]) throws -> (status: Int32, value: Any?, run: ProcessResult) {
        let run = try runProcess(P.rfctlPath, arguments + ["--socket", api, "--json"])
        let value = try? JSONSerialization.jsonObject(with: Data(run.output.utf8), options: [.fragmentsAllowed])
        return (run.status, value, run)
    }

    /// The subcommands `rfctl --help` lists, and those of its command groups.
    static func subcommands() throws -> Set<String> {
        func listed(_ arguments: [String]) throws -> [String] {
            let help = try runProcess(P.rfctlPath, arguments + ["--help"]).output
            guard let start = help.range(of: "SUBCOMMANDS:") else { return [] }
            // A command's line starts two spaces in; its description's continuation lines further.
            return help[start.upperBound...].split(separator: "\n").prefix { !$0.hasPrefix("  See") }
                .filter { $0.hasPrefix("  ") && $0.dropFirst(2).first?.isLetter == true }
                .compactMap { $0.split(separator: " ").first.map(String.init) }
        }
        var all = Set<String>()
        for command in try listed([]) {
            let nested = try listed([command])
            if nested.isEmpty { all.insert(command) } else { all.formUnion(nested.map { "\(command) \($0)" }) }
        }
        return all
    }

    @Test(
        "--json on every command prints one JSON value of the documented shape; stop is idempotent; status --field",
        P.needsSimulator("a generator that completes a short lesion")
    )
    func jsonOnEveryCommand() throws {
        let config = try SessionProcessTests.configurationFile()
        defer { try? FileManager.default.removeItem(atPath: config) }
        let pair = try P.start(daemonArguments: ["--config", config])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        var covered = Set<String>()
        func run(_ arguments: [String], exit: Int32 = 0) throws -> Any? {
            let result = try Self.json(pair.api, arguments)
            covered.insert(arguments.prefix { !$0.hasPrefix("-") && $0.first?.isNumber != true }.joined(separator: " "))
            #expect(result.status == exit, "\(arguments): exit \(result.status): \(result.run.errors)")
            #expect(result.value != nil, "\(arguments) printed no JSON: \(result.run.output.prefix(300))")
            #expect(result.run.output.split(separator: "\n").count == 1, "\(arguments): one line")
            return result.value
        }

        let profiles = try run(["profiles"]) as? [[String: Any]]
        #expect(profiles?.compactMap { $0["name"] as? String } == ["bvn", "quick"])
        let idle = try run(["status"]) as? [String: Any]
        #expect(idle?["state"] as? String == "idle")
        // status --field: one value, strings bare; an unknown name is bad usage naming the fields.
        let state = try runProcess(P.rfctlPath, ["status", "--socket", pair.api, "--field", "state"])
        #expect(state.status == 0 && state.output == "idle\n", "\(state.output)")
        let faults = try runProcess(P.rfctlPath, ["status", "--socket", pair.api, "--field", "readings.faults"])
        #expect(faults.output == "[]\n", "\(faults.output)")
        let tip = try runProcess(P.rfctlPath, ["status", "--socket", pair.api, "--field", "tip_temp_c"])
        #expect(Double(tip.output.trimmingCharacters(in: .newlines)) != nil, "a number: \(tip.output)")
        let unknown = try runProcess(P.rfctlPath, ["status", "--socket", pair.api, "--field", "nonsense"])
        #expect(unknown.status == 64 && unknown.errors.contains("tip_temp_c"), "\(unknown.errors)")

        // A stop with nothing running: done, exit 0, and says so.
        let idleStop = try run(["stop"]) as? [String: Any]
        #expect(idleStop?["result"] as? String == "not_running", "\(idleStop ?? [:])")
        let idleStopWords = try runProcess(P.rfctlPath, ["stop", "--socket", pair.api])
        #expect(idleStopWords.status == 0 && idleStopWords.output.contains("nothing was running"))

        let session = try run(["session", "open", "--patient", "MRN-1", "--levels", "L4,L5"]) as? [String: Any]
        let sessionID = try #require(session?["id"] as? Int)
        var started: [String: Any]?
        for _ in 0..<20 where started?["result"] as? String != "started" {
            // A start refused for a reading a tick late is tried again, as an operator would.
            let attempt = try Self.json(pair.api, ["start", "--level", "L4", "--profile", "quick"])
            started = attempt.value as? [String: Any]
            covered.insert("start")
        }
        #expect(started?["result"] as? String == "started" && started?["level"] as? String == "L4", "\(started ?? [:])")
        #expect(started?["profile"] as? String == "quick")
        let event = try run(["watch", "--once"]) as? [String: Any]
        #expect(event?["type"] as? String == "event", "watch --json --once prints one event line")
        let clients = try run(["clients"]) as? [[String: Any]]
        #expect(clients != nil)
        let metrics = try run(["metrics"]) as? [String: Any]
        #expect((metrics?["text"] as? String)?.contains("rfgen_rf_on") == true)
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == true }, "RF never came on: \(pair.diagnosis)")
        let stopped = try run(["stop"]) as? [String: Any]
        #expect(stopped?["result"] as? String == "stopped", "\(stopped ?? [:])")
        #expect(["impedance_check", "ramp", "hold"].contains(stopped?["was"] as? String ?? ""), "\(stopped ?? [:])")
        let again = try run(["stop"]) as? [String: Any]
        #expect(again?["result"] as? String == "not_running", "a second stop is not a failure")

        // An emergency stop latches an alarm: status says so in its exit status, 2.
        #expect((try run(["estop"]) as? [String: Any])?["result"] as? String == "emergency_stop")
        #expect(P.reaches(pair.api) { ($0["alarms"] as? [Any])?.isEmpty == false }, "no alarm latched")
        let latched = try run(["status"], exit: 2) as? [String: Any]
        #expect((latched?["alarms"] as? [[String: Any]])?.first?["cause"] as? String == "emergency_stop")
        let cause = try runProcess(P.rfctlPath, ["status", "--socket", pair.api, "--field", "alarms.0.cause"])
        #expect(cause.status == 2 && cause.output == "emergency_stop\n", "\(cause.status) \(cause.output)")
        var acknowledged: [String: Any]?
        for _ in 0..<20 where acknowledged?["result"] as? String != "acknowledged" {
            acknowledged = try Self.json(pair.api, ["ack"]).value as? [String: Any]
            covered.insert("ack")
        }
        #expect(acknowledged?["result"] as? String == "acknowledged", "\(acknowledged ?? [:])")
        #expect(try runProcess(P.rfctlPath, ["status", "--socket", pair.api]).status == 0, "no alarm: 0")

        // The record of the lesion, once the record thread has committed it.
        #expect(P.call(pair.api, "records.list") { APITestClient.resultArray($0)?.isEmpty == false } != nil)
        let records = try run(["records", "list"]) as? [[String: Any]]
        let id = try #require(records?.first?["id"] as? Int)
        #expect((try run(["records", "show", "\(id)"]) as? [String: Any])?["record"] != nil)
        let csv = try run(["records", "export", "\(id)", "--format", "csv"]) as? [String: Any]
        #expect(csv?["result"] as? String == "written" && csv?["format"] as? String == "csv")
        #expect((csv?["content"] as? String)?.hasPrefix("wall_us,time_utc,") == true, "the CSV with its header")
        #expect(csv?["records"] as? [Int] == [id] && (csv?["bytes"] as? Int ?? 0) > 0)
        let file = pair.directory + "/lesion.json"
        let written = try run(["records", "export", "\(id)", "--format", "json", "-o", file]) as? [String: Any]
        #expect(written?["file"] as? String == file && written?["content"] == nil, "\(written ?? [:])")
        #expect(FileManager.default.fileExists(atPath: file))
        let fhir = try run(["records", "export", "--session", "\(sessionID)", "--format", "fhir"]) as? [String: Any]
        #expect(fhir?["format"] as? String == "fhir" && (fhir?["content"] as? String)?.contains("Bundle") == true)
        let report = try run(["report", "\(id)", "-o", pair.directory + "/report.html"]) as? [String: Any]
        #expect(report?["format"] as? String == "html" && report?["records"] as? [Int] == [id])
        #expect((try run(["session", "show"]) as? [String: Any])?["id"] as? Int == sessionID)
        #expect((try run(["session", "list"]) as? [[String: Any]])?.first?["id"] as? Int == sessionID)
        #expect((try run(["session", "close"]) as? [String: Any])?["state"] as? String == "closed")

        // capture --json: its own reports on standard output, one JSON object a line.
        let capture = Process()
        capture.executableURL = URL(fileURLWithPath: P.rfctlPath)
        capture.arguments = ["capture", "--socket", pair.api, "--dir", pair.directory + "/capture", "--json"]
        let out = Pipe()
        capture.standardOutput = out
        try capture.run()
        let first = RFGenSimProcessTests.readLine(out.fileHandleForReading.fileDescriptor)
        let connected = RFGenSimProcessTests.readLine(out.fileHandleForReading.fileDescriptor)
        #expect(connected?.contains("\"connected\"") == true, "\(connected ?? "nothing")")
        // The clients list, for people: the capture's last request by its method, not as raw JSON.
        let people = try runProcess(P.rfctlPath, ["clients", "--socket", pair.api])
        #expect(people.output.contains("last requests: subscribe"), "\(people.output)")
        #expect(!people.output.contains("\"method\""), "no request line quoted: \(people.output)")
        capture.terminate()
        capture.waitUntilExit()
        let reported = first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
        #expect(reported?["kind"] as? String == "started", "\(first ?? "nothing")")
        covered.insert("capture")

        let every = try Self.subcommands()
        #expect(every.isSuperset(of: ["status", "stop", "records export", "session open", "metrics"]), "\(every)")
        #expect(every.subtracting(covered).isEmpty, "commands whose --json no test ran: \(every.subtracting(covered))")
    }

    /// rfctl with its standard output on a pseudo-terminal, as a person's terminal runs it, or on
    /// a pipe, as a log or another program reads it.
    struct Output {
        let process: Process
        let master: FileDescriptor
        var seen: [UInt8] = []

        init(_ arguments: [String], terminal: Bool = true) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: P.rfctlPath)
            process.arguments = arguments
            if terminal {
                let pty = try PseudoTerminals.openPseudoTerminal()
                master = pty.master
                process.standardOutput = FileHandle(forWritingAtPath: pty.devicePath)
            } else {
                let pipe = Pipe()
                master = FileDescriptor(rawValue: dup(pipe.fileHandleForReading.fileDescriptor))
                process.standardOutput = pipe
            }
            try process.run()
        }

        /// Reads what the program wrote until `accept` holds of it all or `seconds` pass.
        mutating func read(seconds: Double = 10, until accept: ([UInt8]) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if accept(seen) { return true }
                var pfd = pollfd(fd: master.rawValue, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 100) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = Glibc.read(master.rawValue, &buffer, buffer.count)
                if n > 0 { seen += buffer[0..<n] }
            }
            return accept(seen)
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            try? master.close()
        }
    }

    @Test(
        "watch on a terminal: idle as idle, the last lesion labelled, a bell on a high alarm (none with --no-bell); piped: plain lines with times",
        P.needsSimulator("nothing beyond a generator that holds a lesion")
    )
    func watchTerminalAndPipe() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        var ringing = try Output(["watch", "--socket", pair.api, "--no-color"])
        defer { ringing.stop() }
        var quiet = try Output(["watch", "--socket", pair.api, "--no-color", "--no-bell"])
        defer { quiet.stop() }
        var piped = try Output(["watch", "--socket", pair.api], terminal: false)
        defer { piped.stop() }

        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }
        #expect(
            ringing.read { text($0).contains("no lesion since the daemon started") },
            "idle before any lesion: \(text(ringing.seen).suffix(600))"
        )
        #expect(!text(ringing.seen).contains("%"), "no progress bar while idle")

        #expect(P.ok(P.start(pair.api)), "the lesion did not start")
        #expect(ringing.read { text($0).contains("RF ON") && text($0).contains("remaining") }, "the lesion as current")
        #expect(piped.read { text($0).contains("RF ON") }, "the readings, piped: \(text(piped.seen))")
        #expect(P.ok(P.call(pair.api, "estop", until: P.ok)))
        #expect(ringing.read { $0.contains(0x07) }, "a bell on the emergency stop's high alarm")
        #expect(
            ringing.read { text($0).hasSuffix("\u{1B}[J") && text($0).contains("FAULTED") },
            "the faulted screen"
        )
        // The last screen drawn: the ended lesion labelled as the last, no time left, no bar.
        let screens = text(ringing.seen).components(separatedBy: "\u{1B}[H")
        let last = screens.last ?? ""
        #expect(last.contains("last lesion"), "\(last)")
        #expect(!last.contains("remaining") && !last.contains("%"), "\(last)")
        #expect(last.contains(" ALARM ") || last.contains("ALARM 1 HIGH emergency_stop"), "\(last)")
        #expect(
            quiet.read(seconds: 3) { text($0).contains("emergency_stop") }
                && !quiet.seen.contains(0x07),
            "--no-bell rings no bell"
        )

        #expect(piped.read { text($0).contains("emergency_stop") }, "the alarm, piped")

        // The generator goes away: the link's last rates are history, not shown as current.
        #expect(ringing.read { text($0).components(separatedBy: "\u{1B}[H").last?.contains("frames/s") == true })
        pair.sim?.terminate()
        #expect(
            ringing.read { text($0).components(separatedBy: "\u{1B}[H").last?.contains("link  down") == true },
            "the link down: \(text(ringing.seen).components(separatedBy: "\u{1B}[H").last ?? "")"
        )
        #expect(
            text(ringing.seen).components(separatedBy: "\u{1B}[H").last?.contains("frames/s") == false,
            "no rates while the link is down"
        )
        let lines = text(piped.seen)
        #expect(!lines.contains("\u{1B}") && !lines.contains("\u{07}"), "no escapes and no bell in a pipe")
        let timed = lines.split(separator: "\n").filter { line in
            line.count > 10
                && line.prefix(8).enumerated().allSatisfy {
                    $0.offset == 2 || $0.offset == 5 ? $0.element == ":" : $0.element.isNumber
                }
        }
        #expect(timed.contains { $0.contains("emergency_stop") }, "the alarm as a timed line:\n\(lines)")
        #expect(timed.contains { $0.contains("→") }, "phase changes as timed lines:\n\(lines)")
        #expect(timed.contains { $0.contains("RF ON") }, "the readings as timed lines:\n\(lines)")
    }
}
