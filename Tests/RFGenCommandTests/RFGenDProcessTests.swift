import Foundation
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
        let sim: Process
        var daemon: Process
        let directory: String
        var api: String { directory + "/api.sock" }
        var control: String { directory + "/sim.sock" }

        func stop() {
            for p in [daemon, sim] where p.isRunning { p.terminate() }
            for p in [daemon, sim] { p.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func start() throws -> Pair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgend-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bin = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
        let sim = Process()
        sim.executableURL = bin.appendingPathComponent("rfgen-sim")
        sim.arguments = ["--link", directory + "/generator", "--control", directory + "/sim.sock", "--no-stdin"]
        let simOut = Pipe()
        sim.standardOutput = simOut
        try sim.run()
        _ = RFGenSimProcessTests.readLine(simOut.fileHandleForReading.fileDescriptor)
        let daemon = try startDaemon(directory: directory)
        return Pair(sim: sim, daemon: daemon, directory: directory)
    }

    /// Starts rfgend on the pair's simulator, keeping records in the same directory.
    static func startDaemon(directory: String) throws -> Process {
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
            .appendingPathComponent("rfgend")
        daemon.arguments = [
            "--device", directory + "/generator", "--socket", directory + "/api.sock", "--state-dir", directory,
        ]
        daemon.standardError = FileHandle.nullDevice
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
            var pfd = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&pfd, 0, 50)  // pacing between polls of another process, not a wait for time
        }
        return last
    }

    @Test("rfgend connects with RF off, starts only on request, stops, and leaves RF off on SIGTERM")
    func startStopAndTerminate() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        let idle = Self.ask(pair.api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        #expect(idle?.hasPrefix("phase=idle link=ready") == true, "\(idle ?? "no answer")")
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true)

        let stats = Self.ask(pair.api, "stats") { !$0.contains("last_second: none") }
        #expect(stats?.contains("total: bytes=") == true && stats?.contains("frames=") == true, "\(stats ?? "")")
        #expect(Self.ask(pair.api, "start bvn") { $0 == "ok" } == "ok")
        let ramp = Self.ask(pair.api, "status") { $0.contains("phase=ramp") && $0.contains("rf=on") }
        #expect(ramp?.contains("phase=ramp") == true, "\(ramp ?? "no answer")")
        #expect(Self.ask(pair.control, "status")?.contains("rf=on") == true)
        #expect(Self.ask(pair.api, "start bvn")?.hasPrefix("error: a treatment is running") == true)

        #expect(Self.ask(pair.api, "stop") { $0 == "ok" } == "ok")
        #expect(Self.ask(pair.control, "status") { $0.contains("rf=off") }?.contains("rf=off") == true)
        #expect(Self.ask(pair.api, "status")?.contains("phase=stopped") == true)

        #expect(Self.ask(pair.api, "start") { $0 == "ok" } == "ok")
        _ = Self.ask(pair.control, "status") { $0.contains("rf=on") }
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

    @Test("A pulled cable mid-lesion ends it with a link_lost alarm; after reconnect RF stays off")
    func hotplug() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        _ = Self.ask(pair.api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        #expect(Self.ask(pair.api, "start") { $0 == "ok" } == "ok")
        _ = Self.ask(pair.control, "status") { $0.contains("rf=on") }
        #expect(Self.ask(pair.control, "disconnect 1") == "ok")
        let faulted = Self.ask(pair.api, "status") { $0.contains("phase=faulted") }
        #expect(faulted?.contains("high:link_lost") == true, "\(faulted ?? "")")
        let back = Self.ask(pair.api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        #expect(back?.contains("phase=faulted") == true, "still faulted until acknowledged")
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true)
        #expect(Self.ask(pair.api, "ack") { $0 == "ok" } == "ok")
        #expect(Self.ask(pair.api, "status")?.hasPrefix("phase=idle") == true)
        #expect(Self.ask(pair.control, "status")?.contains("rf=off") == true, "no RF without a new start")
    }

    /// A generator's device for hardware-in-the-loop runs (README, "Hardware in the loop").
    static let hardwareDevice = ProcessInfo.processInfo.environment["RFGEN_HIL_DEVICE"]

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
        daemon.executableURL = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
            .appendingPathComponent("rfgend")
        daemon.arguments = ["--device", device, "--socket", directory + "/api.sock"]
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let api = directory + "/api.sock"
        let idle = Self.ask(api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        #expect(idle?.hasPrefix("phase=idle link=ready") == true, "\(idle ?? "no answer")")
        #expect(idle?.contains("rf=off") == true)
        #expect(Self.ask(api, "start bvn") { $0 == "ok" } == "ok")
        let on = Self.ask(api, "status") { $0.contains("phase=ramp") && $0.contains("rf=on") }
        #expect(on?.contains("rf=on") == true, "\(on ?? "")")
        #expect(Self.ask(api, "stop") { $0 == "ok" } == "ok")
        let off = Self.ask(api, "status") { $0.contains("rf=off") }
        #expect(off?.contains("phase=stopped") == true && off?.contains("rf=off") == true, "\(off ?? "")")
    }

    @Test("A daemon killed mid-lesion leaves a readable record, marked aborted when it comes back")
    func killedMidLesion() throws {
        var pair = try Self.start()
        defer { pair.stop() }
        _ = Self.ask(pair.api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        #expect(Self.ask(pair.api, "start bvn L4") { $0 == "ok" } == "ok")
        // Long enough into the ramp for the record thread's once-a-second commit to have run.
        _ = Self.ask(pair.api, "status") { status in
            let energy = status.split(separator: " ").first { $0.hasPrefix("energy_J=") }.flatMap {
                Int($0.dropFirst(9))
            }
            return (energy ?? 0) >= 2
        }
        kill(pair.daemon.processIdentifier, SIGKILL)
        pair.daemon.waitUntilExit()
        #expect(
            Self.ask(pair.control, "status") { $0.contains("rf=off") }?.contains("rf=off") == true,
            "the generator's own timeouts"
        )
        pair.daemon = try Self.startDaemon(directory: pair.directory)
        let records = Self.ask(pair.api, "records") { $0.hasPrefix("id=") }
        #expect(records?.contains("level=L4") == true, "\(records ?? "")")
        #expect(records?.contains("outcome=aborted") == true, "\(records ?? "")")
        #expect(Self.ask(pair.api, "status")?.hasPrefix("phase=idle") == true, "a restarted daemon is idle with RF off")
    }

    /// Runs rfctl with arguments; returns its exit status and standard output.
    static func rfctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RFGenSimProcessTests.executable).deletingLastPathComponent()
            .appendingPathComponent("rfctl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("rfctl's stable command line: status --json, start with level and a short hold, refusals, exit codes")
    func rfctlCommandLine() throws {
        let pair = try Self.start()
        defer { pair.stop() }
        _ = Self.ask(pair.api, "status") {
            $0.contains("link=ready") && $0.contains(" rf=off") && $0.contains("faults=0x00000000")
        }
        let status = try Self.rfctl(["status", "--socket", pair.api, "--json"])
        #expect(status.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        #expect(object?["state"] as? String == "idle")
        #expect(object?["rf_on"] as? Bool == false)
        #expect(object?["link"] as? String == "up")
        #expect((object?["tip_temp_c"] as? Double).map { abs($0 - 37) < 1 } == true)
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
    }
}
