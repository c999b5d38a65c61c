import Foundation
import RFGenSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// rfgend on rfgen-sim, both as real processes: what an operator sees through the API, and what
/// the generator saw, through the simulator's control socket. Real time is the point here; every
/// wait is a poll with a deadline.
@Suite(.serialized)
struct RFGenDProcessTests {
    struct Pair {
        /// The simulator, or nil on hardware (`RFGEN_HIL_DEVICE`).
        let sim: Process?
        var daemon: Process
        let directory: String
        var api: String { directory + "/api.sock" }
        var control: String { directory + "/sim.sock" }
        /// The generator's line: the simulator's, or the hardware rig's.
        var device: String { RFGenDProcessTests.hardwareDevice ?? directory + "/generator" }

        /// The daemon's alarms and errors from its log, for a failed expectation's message: a lesion
        /// that faulted on a loaded machine says why.
        var diagnosis: String {
            let log = (try? String(contentsOfFile: directory + "/daemon.log", encoding: .utf8)) ?? ""
            let lines = log.split(separator: "\n").filter { $0.contains("ALARM") || $0.contains("error") }
            return lines.isEmpty ? "daemon log: no alarm" : "daemon log:\n" + lines.suffix(10).joined(separator: "\n")
        }

        /// The daemon first, then the simulator: a daemon that saw its line vanish would reopen
        /// the path 100 ms later, and the kernel may by then have given that pty's number to
        /// another test's pair (seen: a pty test beside a process test found its device locked).
        func stop() {
            for p in [daemon] + (sim.map { [$0] } ?? []) {
                if p.isRunning { p.terminate() }
                p.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// - Parameter launcher: a program and its arguments that runs rfgend (`prlimit ...`), or none.
    static func start(daemonArguments: [String] = [], launcher: [String] = []) throws -> Pair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgend-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if hardwareDevice != nil {
            // The hardware tier: the rig's generator (or an rfgen-sim on another line) is there already.
            return Pair(
                sim: nil,
                daemon: try startDaemon(directory: directory, arguments: daemonArguments),
                directory: directory
            )
        }
        let bin = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
        let sim = Process()
        sim.executableURL = bin.appendingPathComponent("rfgen-sim")
        sim.arguments = ["--link", directory + "/generator", "--control", directory + "/sim.sock", "--no-stdin"]
        let simOut = Pipe()
        sim.standardOutput = simOut
        try sim.run()
        _ = RFGenSimProcessTests.readLine(simOut.fileHandleForReading.fileDescriptor)
        let daemon = try startDaemon(directory: directory, arguments: daemonArguments, launcher: launcher)
        return Pair(sim: sim, daemon: daemon, directory: directory)
    }

    /// Starts rfgend on the pair's simulator, keeping records in the same directory.
    static func startDaemon(directory: String, arguments: [String] = [], launcher: [String] = []) throws -> Process {
        let daemon = Process()
        let rfgend = URL(fileURLWithPath: builtProgram("rfgend"))
        daemon.executableURL = launcher.first.map { URL(fileURLWithPath: $0) } ?? rfgend
        daemon.arguments =
            (launcher.isEmpty ? [] : launcher.dropFirst() + [rfgend.path])
            + [
                "--device", hardwareDevice ?? directory + "/generator", "--socket", directory + "/api.sock",
                "--state-dir", directory,
            ] + arguments
        _ = FileManager.default.createFile(atPath: directory + "/daemon.log", contents: nil)
        daemon.standardError = FileHandle(forWritingAtPath: directory + "/daemon.log")
        try daemon.run()
        return daemon
    }

    /// Asks until `accept` holds or 10 s pass; returns the last answer.
    static func ask(_ socket: String, _ line: String, until accept: (String) -> Bool = { _ in true }) -> String? {
        let deadline = Date().addingTimeInterval(10)
        var last: String?
        while Date() < deadline {
            last = RFGenSimProcessTests.control(socket, line)
            if let last, accept(last) { return last }
            // The simulator runs in real time and has no event stream to wait on.
            pace(milliseconds: 50)
        }
        return last
    }

    /// A switch of the simulated generator's output stage, from its own record (`edges`).
    struct Edge {
        var microseconds: Int64
        var on: Bool
        var cause: String
    }

    /// The simulator's newest output-stage switches, timed on the monotonic clock.
    static func edges(_ control: String) -> [Edge] {
        let line = RFGenSimProcessTests.control(control, "edges") ?? ""
        return line.split(separator: " ").dropFirst().compactMap { word in
            let parts = word.split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let t = Int64(parts[0]) else { return nil }
            return Edge(microseconds: t, on: parts[1] == "on", cause: String(parts[2]))
        }
    }

    /// The generator's watchdog (CONFIGURE, 100 ms) and how late the simulator may read the host's
    /// last frame before it, when the machine is loaded: RF must be off by their sum.
    static let watchdogMicroseconds: Int64 = 100_000
    static let lastFrameSlackMicroseconds: Int64 = 50_000

    /// Checks from the generator's own record that RF went off by itself (a fault, not a command)
    /// within its watchdog timeout of the host going silent at `silentAt` (monotonic µs).
    static func expectGeneratorCutRF(
        _ control: String,
        silentAt: Int64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            askReaches(control, "status") { $0.contains("rf=off") },
            "the generator never reported RF off",
            sourceLocation: sourceLocation
        )
        let off = edges(control).first { !$0.on && $0.microseconds >= silentAt }
        #expect(off != nil, "no RF-off edge after the host went silent", sourceLocation: sourceLocation)
        guard let off else { return }
        let after = off.microseconds - silentAt
        #expect(off.cause.hasPrefix("fault:"), "RF went off by \(off.cause)", sourceLocation: sourceLocation)
        #expect(
            after <= watchdogMicroseconds + lastFrameSlackMicroseconds,
            "RF off \(after) µs after the host went silent (\(off.cause))",
            sourceLocation: sourceLocation
        )
    }

    @Test(
        "rfgend connects with RF off, starts only on request, stops, and leaves RF off on SIGTERM",
        needsSimulator("an RF power meter on the output, read by the test")
    )
    func startStopAndTerminate() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        let idle = Self.status(pair.api, until: Self.ready)
        #expect(idle?["state"] as? String == "idle", "\(idle ?? [:])")
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true)
        let stats = Self.status(pair.api) { ($0["link_stats"] as? [String: Any])?["last_second"] is [String: Any] }
        #expect(((stats?["link_stats"] as? [String: Any])?["frames"] as? Int ?? 0) > 0, "\(stats ?? [:])")
        // The loops are named, so that a per-thread CPU figure (scripts/bench) says which is which.
        let pid = pair.daemon.processIdentifier
        let names = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap {
                (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
        )
        #expect(names.isSuperset(of: ["rfgend-control", "rfgend-link", "rfgend-log"]), "\(names)")

        #expect(Self.ok(Self.start(pair.api)))
        let ramp = Self.status(pair.api) { $0["state"] as? String == "ramp" && $0["rf_on"] as? Bool == true }
        #expect(ramp != nil, "\(pair.diagnosis)")
        #expect(Self.ask(pair.control, "status")?.contains("rf=on") == true)
        let again = Self.start(pair.api)
        #expect(APITestClient.errorCode(again ?? [:]) == "refused", "\(again ?? [:])")

        #expect(Self.ok(Self.call(pair.api, "stop", until: Self.ok)), "\(pair.diagnosis)")
        #expect(Self.ask(pair.control, "status") { $0.contains("rf=off") }?.contains("rf=off") == true)
        #expect(Self.status(pair.api)?["state"] as? String == "stopped", "\(pair.diagnosis)")

        #expect(Self.ok(Self.start(pair.api)))
        #expect(Self.askReaches(pair.control, "status") { $0.contains("rf=on") })
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        #expect(pair.daemon.terminationStatus == 0)
        let after = Self.ask(pair.control, "status")
        #expect(after?.contains("rf=off") == true, "\(after ?? "")")
        #expect(
            after?.contains("faults=0x00000000") == true,
            "RF off by the daemon's command, not the generator's watchdog"
        )
    }

    @Test(
        "A pulled cable mid-lesion ends it with a link_lost alarm; after reconnect RF stays off",
        needsSimulator("a relay that opens the serial line, and an RF power meter")
    )
    func hotplug() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        #expect(Self.reaches(pair.api, Self.ready), "the daemon never became ready for a start")
        #expect(Self.ok(Self.start(pair.api)))
        #expect(Self.askReaches(pair.control, "status") { $0.contains("rf=on") })
        #expect(Self.ask(pair.control, "disconnect 1") == "ok")
        let faulted = Self.status(pair.api) { $0["state"] as? String == "faulted" }
        let alarm = (faulted?["alarms"] as? [[String: Any]])?.first
        #expect(
            alarm?["cause"] as? String == "link_lost" && alarm?["priority"] as? String == "high",
            "\(faulted ?? [:])"
        )
        let back = Self.status(pair.api, until: Self.ready)
        #expect(back?["state"] as? String == "faulted", "still faulted until acknowledged")
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true)
        #expect(Self.ok(Self.call(pair.api, "ack", until: Self.ok)))
        #expect(Self.status(pair.api)?["state"] as? String == "idle")
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true, "no RF without a new start")
        // The running daemon's records, replayed read-only through this build: the lesion's
        // real-time decisions, the link lost among them, come out the same.
        let replay = try runProcess(builtProgram("rfgen-replay"), ["--db", pair.directory + "/records.sqlite"])
        #expect(replay.status == 0, "\(replay.output)\(replay.errors)")
        #expect(replay.output.contains("all as recorded"), "\(replay.output)")
    }

    /// A generator's device for hardware-in-the-loop runs (README, "Hardware in the loop"): every
    /// process test then runs against it, but those that need the simulator's control socket.
    static let hardwareDevice = ProcessInfo.processInfo.environment["RFGEN_HIL_DEVICE"]

    /// For a test that needs the simulator's control socket (fault injection, or its own record of
    /// the output): skipped on hardware, saying what a rig must provide instead.
    static func needsSimulator(_ rig: String) -> ConditionTrait {
        .disabled(
            if: hardwareDevice != nil,
            Comment(rawValue: "needs the simulator's control socket; a rig provides " + rig)
        )
    }

    @Test(
        "Hardware in the loop: rfgend on a real generator connects with RF off, starts, delivers power, stops",
        .enabled(
            if: hardwareDevice != nil,
            "set RFGEN_HIL_DEVICE to a generator's serial device to run this on hardware"
        )
    )
    func hardwareInTheLoop() throws {
        let device = try #require(Self.hardwareDevice)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgend-hil-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: builtProgram("rfgend"))
        daemon.arguments = ["--device", device, "--socket", directory + "/api.sock"]
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let api = directory + "/api.sock"
        let idle = Self.status(api, until: Self.ready)
        #expect(idle?["state"] as? String == "idle" && idle?["rf_on"] as? Bool == false, "\(idle ?? [:])")
        #expect(Self.ok(Self.start(api, ["level": "L4", "hold_s": 5])))
        let on = Self.status(api) { $0["state"] as? String == "ramp" && $0["rf_on"] as? Bool == true }
        #expect(on != nil)
        #expect(Self.ok(Self.call(api, "stop", until: Self.ok)))
        let off = Self.status(api) { $0["rf_on"] as? Bool == false }
        #expect(off?["state"] as? String == "stopped", "\(off ?? [:])")
    }

    @Test(
        "A daemon killed mid-lesion leaves a readable record, marked aborted when it comes back",
        needsSimulator("an RF power meter timing the output after the host goes silent")
    )
    func killedMidLesion() throws {
        var pair = try Self.start()
        defer { pair.stop() }
        #expect(Self.reaches(pair.api, Self.ready), "the daemon never became ready for a start")
        #expect(Self.ok(Self.start(pair.api)))
        // Long enough into the ramp for the record thread's once-a-second commit to have run.
        #expect(Self.reaches(pair.api) { ($0["energy_j"] as? Double ?? 0) >= 2 }, "\(pair.diagnosis)")
        let killedAt = MonotonicClock.microseconds()
        kill(pair.daemon.processIdentifier, SIGKILL)
        pair.daemon.waitUntilExit()
        Self.expectGeneratorCutRF(pair.control, silentAt: killedAt)
        pair.daemon = try Self.startDaemon(directory: pair.directory)
        let list = Self.call(pair.api, "records.list") { (APITestClient.resultArray($0)?.isEmpty == false) }
        let record = APITestClient.resultArray(list ?? [:])?.first
        #expect(record?["level"] as? String == "L4", "\(list ?? [:])")
        #expect(record?["outcome"] as? String == "aborted", "\(list ?? [:])")
        let id = try #require(record?["id"] as? Int)
        let shown = APITestClient.result(Self.call(pair.api, "records.show", ["id": id]) ?? [:])
        #expect((shown?["samples"] as? Int ?? 0) > 0, "the samples up to the last commit were kept")
        let csv = APITestClient.result(Self.call(pair.api, "records.export", ["id": id, "format": "csv"]) ?? [:])
        #expect((csv?["content"] as? String)?.hasPrefix("wall_us,time_utc,elapsed_s,phase,tip_temp_c") == true)
        // What a medical record needs: which generator (from its handshake), which daemon, the
        // profile as used, and that the lesion is not complete.
        let generator = record?["generator"] as? [String: Any]
        #expect(generator?["model"] as? String == "RFG-SIM-1" && generator?["serial"] as? String == "SIM-0001")
        let banner = try APITestClient(pair.api).banner
        #expect(record?["daemon_version"] as? String == banner["daemon"] as? String, "the running daemon's version")
        #expect((record?["profile_parameters"] as? [String: Any])?["target_c"] as? Double == 85)
        #expect(record?["complete"] as? Bool == false, "\(record ?? [:])")
        #expect((record?["incomplete_reason"] as? String)?.hasPrefix("aborted") == true)
        #expect(Self.status(pair.api)?["state"] as? String == "idle", "a restarted daemon is idle with RF off")
    }

    @Test("An emergency stop after a lesion ended is kept in that lesion's record, after its end; the outcome follows")
    func alarmAfterTheEnd() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        #expect(Self.reaches(pair.api, Self.ready), "the daemon never became ready for a start")
        #expect(Self.ok(Self.start(pair.api)))
        #expect(Self.reaches(pair.api) { $0["state"] as? String == "ramp" })
        #expect(Self.ok(Self.call(pair.api, "stop", until: Self.ok)))
        #expect(Self.ok(Self.call(pair.api, "estop", until: Self.ok)))
        // The record thread writes once a second: ask until the alarm is there.
        let shown = Self.call(pair.api, "records.show", ["id": 1]) { reply in
            !((APITestClient.result(reply)?["alarms"] as? [[String: Any]]) ?? []).isEmpty
        }
        let result = try #require(shown.flatMap(APITestClient.result), "\(shown ?? [:])")
        let record = result["record"] as? [String: Any]
        let alarms = result["alarms"] as? [[String: Any]] ?? []
        // The daemon went from stopped to faulted, and the record with it; the reason keeps both.
        let shownFaulted = Self.call(pair.api, "records.show", ["id": 1]) { reply in
            ((APITestClient.result(reply)?["record"] as? [String: Any])?["outcome"] as? String) == "faulted"
        }
        let amended = shownFaulted.flatMap(APITestClient.result)?["record"] as? [String: Any]
        #expect(amended?["outcome"] as? String == "faulted", "\(shownFaulted ?? [:])")
        let reason = amended?["end_reason"] as? String ?? ""
        #expect(reason.hasPrefix("stopped by the operator; then ") && reason.contains("emergency_stop"), "\(reason)")
        #expect(alarms.map { $0["cause"] as? String } == ["emergency_stop"], "\(alarms)")
        let endedAt = record?["ended_us"] as? Int64 ?? (record?["ended_us"] as? Int).map(Int64.init)
        let raisedAt = alarms.first?["wall_us"] as? Int64 ?? (alarms.first?["wall_us"] as? Int).map(Int64.init)
        #expect(endedAt != nil && raisedAt != nil && raisedAt! >= endedAt!, "\(result)")
    }

    static let rfctlPath = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
        .appendingPathComponent("rfctl").path

    /// Runs rfctl with arguments; returns its exit status and standard output.
    static func rfctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try runProcess(rfctlPath, arguments)
        return (result.status, result.output)
    }

    @Test("rfctl's stable command line: status --json, start with level and a short hold, refusals, exit codes")
    func rfctlCommandLine() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        #expect(Self.reaches(pair.api, Self.ready), "the daemon never became ready for a start")
        // The socket from RFGEN_SOCKET when --socket is not given; --socket wins over it.
        let fromVariable = try runProcess(
            Self.rfctlPath,
            ["status", "--json"],
            environment: ["RFGEN_SOCKET": pair.api]
        )
        #expect(fromVariable.status == 0, "\(fromVariable.errors)")
        let overridden = try runProcess(
            Self.rfctlPath,
            ["status", "--socket", pair.api],
            environment: ["RFGEN_SOCKET": pair.directory + "/nothing.sock"]
        )
        #expect(overridden.status == 0, "\(overridden.errors)")
        let wrong = try runProcess(
            Self.rfctlPath,
            ["status"],
            environment: ["RFGEN_SOCKET": pair.directory + "/nothing.sock"]
        )
        #expect(wrong.status == 3 && wrong.errors.contains(pair.directory + "/nothing.sock"), "\(wrong.errors)")
        // The stable form, socket before the subcommand; the socket after it works too.
        let status = try Self.rfctl(["--socket", pair.api, "status", "--json"])
        #expect(status.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        #expect(object?["state"] as? String == "idle")
        #expect(object?["rf_on"] as? Bool == false)
        #expect(object?["link"] as? String == "up")
        // The simulator starts at body temperature; a rig's phantom (or a generator shared by the
        // hardware tier's lesions) reads what it reads.
        #expect((object?["tip_temp_c"] as? Double).map { abs($0 - 37) < 1 || Self.hardwareDevice != nil } == true)
        #expect((object?["alarms"] as? [Any])?.isEmpty == true)

        // A refusal for telemetry a tick late on a loaded machine is retried, as an operator would.
        var started = try Self.rfctl(["start", "--socket", pair.api, "--level", "L4", "--hold-s", "5"])
        for _ in 0..<20 where started.status == 1 {
            started = try Self.rfctl(["start", "--socket", pair.api, "--level", "L4", "--hold-s", "5"])
        }
        #expect(started.status == 0)
        let again = try Self.rfctl(["start", "--socket", pair.api, "--level", "L4"])
        #expect(again.status == 1, "refused: a lesion is running")
        #expect(try Self.rfctl(["estop", "--socket", pair.api]).status == 0)
        let faulted = try Self.rfctl(["status", "--socket", pair.api, "--json"])
        let alarms =
            (try JSONSerialization.jsonObject(with: Data(faulted.output.utf8)) as? [String: Any])?["alarms"]
            as? [[String: Any]]
        #expect(alarms?.first?["cause"] as? String == "emergency_stop")
        #expect(alarms?.first?["priority"] as? String == "high")
        #expect(try Self.rfctl(["status", "--socket", pair.directory + "/nothing.sock"]).status == 3)
        let completion = try Self.rfctl(["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.output.contains("capture"), "bash completion covers the commands")
        // And the values of the options that take few: formats, compression, streams, levels, profiles.
        for offered in [
            "'csv'$'\\n''json'$'\\n''fhir'", "'none'$'\\n''gzip'", "'telemetry,events,alarms'", "'L1'$'\\n''L2'",
            "rfctl profiles --names",
        ] {
            #expect(completion.output.contains(offered), "bash completion offers \(offered)")
        }
        let names = try Self.rfctl(["profiles", "--names", "--socket", pair.api])
        #expect(names.status == 0 && names.output == "bvn\n", "\(names.output)")
        #expect(try Self.rfctl(["ack", "999", "--socket", pair.api]).status == 1, "no such alarm")
        // The record thread commits once a second: wait for the lesion's record to be there.
        let listed = Self.call(pair.api, "records.list") { APITestClient.resultArray($0)?.isEmpty == false }
        #expect(listed.flatMap(APITestClient.resultArray)?.isEmpty == false, "no record: \(listed ?? [:])")
        let records = try Self.rfctl(["--socket", pair.api, "records", "list", "--json"])
        #expect(records.status == 0)
        let list = try JSONSerialization.jsonObject(with: Data(records.output.utf8)) as? [[String: Any]]
        #expect(list?.first?["level"] as? String == "L4", "\(records.output)")
        let id = try #require(list?.first?["id"] as? Int)
        let export = try Self.rfctl(["--socket", pair.api, "records", "export", "\(id)", "--format", "json"])
        let document = try JSONSerialization.jsonObject(with: Data(export.output.utf8)) as? [String: Any]
        #expect(document?["samples"] is [Any], "\(export.output.prefix(200))")
        #expect(try Self.rfctl(["--socket", pair.api, "records", "show", "99999"]).status == 1, "no such record")
        #expect(
            try Self.rfctl(["--socket", pair.api, "start", "--level", "L 4"]).status == 1,
            "a bad level is refused"
        )
    }
}
