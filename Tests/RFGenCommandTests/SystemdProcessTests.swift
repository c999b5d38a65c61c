import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// rfgend under a service manager's protocols, without systemd running: a datagram socket stands
/// in for NOTIFY_SOCKET, and systemd-socket-activate hands over the API socket.
@Suite(.serialized)
struct SystemdProcessTests {
    typealias P = RFGenDProcessTests

    /// A bound datagram socket at `path`, as systemd's notification socket.
    static func notifySocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRINUSE) }
        return fd
    }

    /// Datagrams that arrive within `seconds`, each with its arrival time.
    static func receive(_ fd: Int32, seconds: Double) -> [(at: Date, text: String)] {
        var messages: [(Date, String)] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append((Date(), String(decoding: buffer[0..<n], as: UTF8.self))) }
        }
        return messages
    }

    @Test("Type=notify: READY once the API listens, STATUS, WATCHDOG only while the loop ticks, STOPPING")
    func notifyAndWatchdog() throws {
        let pair = try P.start()
        defer { pair.stop() }
        // The pair's own daemon is not under test here: this one runs beside it on its own socket.
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        let notify = try Self.notifySocket(pair.directory + "/notify.sock")
        defer { close(notify) }
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: builtProgram("rfgend"))
        daemon.arguments = [
            "--device", pair.device, "--socket", pair.api, "--inject-control-stall-ms", "3000",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = pair.directory + "/notify.sock"
        environment["WATCHDOG_USEC"] = "400000"
        daemon.environment = environment
        daemon.standardError = FileHandle.nullDevice
        let started = Date()
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
        }
        let messages = Self.receive(notify, seconds: 5)
        let ready = messages.firstIndex { $0.text.contains("READY=1") }
        #expect(ready != nil, "\(messages.map(\.text))")
        #expect(messages[ready ?? 0].text.contains("STATUS=link"), "READY comes with a status line")
        #expect((try? APITestClient(pair.api)) != nil, "READY means the API answers")
        let pings = messages.filter { $0.text == "WATCHDOG=1" }.map { $0.at.timeIntervalSince(started) }
        #expect(pings.filter { $0 < 2.5 }.count >= 10, "fed while the loop ticks (100 ms apart): \(pings)")
        let stalledAt = messages.first { $0.text.contains("STATUS=control loop stalled") }?.at
        #expect(stalledAt != nil, "\(messages.map(\.text))")
        if let stalledAt {
            let lastPing = pings.last ?? 0
            #expect(lastPing <= stalledAt.timeIntervalSince(started), "no ping after the stall: \(pings)")
            #expect(stalledAt.timeIntervalSince(started) < 4.5, "noticed within a watchdog period of the stall")
        }
        daemon.terminate()
        let stopping = Self.receive(notify, seconds: 2)
        #expect(stopping.contains { $0.text.contains("STOPPING=1") }, "\(stopping.map(\.text))")
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
    }

    static let activator = "/usr/bin/systemd-socket-activate"

    @Test(
        "Socket activation: systemd-socket-activate hands rfgend the API socket; the first client is served",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: activator),
            "systemd-socket-activate is not installed"
        )
    )
    func socketActivation() throws {
        let pair = try P.start()
        defer { pair.stop() }
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        let socket = pair.directory + "/activated.sock"
        let activator = Process()
        activator.executableURL = URL(fileURLWithPath: Self.activator)
        let rfgend = builtProgram("rfgend")
        activator.arguments = ["-l", socket, rfgend, "--device", pair.device, "--socket", socket]
        activator.standardError = FileHandle.nullDevice
        try activator.run()
        defer {
            if activator.isRunning { activator.terminate() }
            activator.waitUntilExit()
        }
        // The first connection starts the daemon, which takes the listening socket and answers.
        var client: APITestClient?
        let deadline = Date().addingTimeInterval(10)
        while client == nil && Date() < deadline {
            client = try? APITestClient(socket)
            // Until systemd-socket-activate listens: another process starting, nothing to wait on.
            if client == nil { pace(milliseconds: 50) }
        }
        let connected = try #require(client)
        #expect(connected.banner["api"] as? String == "rfgend")
        #expect(P.status(socket, until: P.ready)?["link"] as? String == "up")
        activator.terminate()
        activator.waitUntilExit()
        #expect(activator.terminationStatus == 0, "rfgend (exec'd by the activator) stopped cleanly")
        var info = stat()
        #expect(lstat(socket, &info) == 0, "the socket belongs to the service manager: the daemon leaves it")
    }
}

extension SystemdProcessTests {
    /// Runs rfgend on the pair's generator with standard error to a file and `environment` added;
    /// once it is ready runs `meanwhile` (given the API's socket), starts a lesion,
    /// emergency-stops it, and stops the daemon. Returns what it wrote there.
    static func lesionWithAlarm(
        _ pair: P.Pair,
        environment extra: [String: String] = [:],
        meanwhile: (String) throws -> Void = { _ in }
    ) throws -> (stderr: String, path: String) {
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        let path = pair.directory + "/stderr.log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: builtProgram("rfgend"))
        daemon.arguments = ["--device", pair.device, "--socket", pair.api]
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in extra { environment[key] = value }
        if extra["JOURNAL_STREAM"] == "match" {
            // The stream systemd would have connected: this very file's device and inode.
            var info = stat()
            fstat(handle.fileDescriptor, &info)
            environment["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        }
        daemon.environment = environment
        daemon.standardError = handle
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
        }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        try meanwhile(pair.api)
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 30])))
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == true })
        #expect(P.ok(P.call(pair.api, "estop", until: P.ok)))
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == false })
        daemon.terminate()
        daemon.waitUntilExit()
        try handle.close()
        return (try String(contentsOfFile: path, encoding: .utf8), path)
    }

    @Test("A client's bytes reach the log only escaped: no escape sequence or carriage return can rewrite a terminal")
    func clientBytesEscapedInLog() throws {
        let pair = try P.start()
        defer { pair.stop() }
        // ESC [2K ESC [1G erases the terminal's line and a CR returns to its start: a malformed
        // line (raw control bytes are not JSON) and a well-formed one naming such a method.
        let fake = "\u{1B}[2K\u{1B}[1G\rtreatment done"
        let log = try Self.lesionWithAlarm(pair) { api in
            let client = try APITestClient(api)
            try client.send(raw: fake)
            _ = try client.reply(id: nil)
            try client.send(raw: #"{"id":7,"method":"\u001b[2K\r"}"#)
            _ = try client.reply(id: 7)
            // A few more, so that the complaints show the last requests (the raw lines) too.
            for _ in 0..<3 {
                try client.send(raw: fake)
                _ = try client.reply(id: nil)
            }
        }.stderr
        #expect(!log.contains("\u{1B}") && !log.contains("\r"), "control bytes reached the log")
        #expect(log.contains("\\u{1B}[2K"), "the bytes are there, escaped: \(log)")
    }

    @Test("Alarms and every RF edge reach the log at a priority that is noticed, with the treatment's fields")
    func alarmsAndRFEdgesLogged() throws {
        let pair = try P.start()
        defer { pair.stop() }
        let log = try Self.lesionWithAlarm(pair).stderr
        let lines = log.split(separator: "\n")
        let alarm = lines.first { $0.contains("ALARM high emergency_stop") }
        #expect(alarm?.contains("CRITICAL") == true, "\(log)")
        #expect(alarm?.contains("alarm_id=1") == true && alarm?.contains("level=L4") == true, "\(log)")
        #expect(alarm?.contains("treatment=") == true, "\(log)")
        #expect(lines.contains { $0.contains("WARNING RF ON") && $0.contains("level=L4") }, "\(log)")
        #expect(lines.contains { $0.contains("WARNING RF OFF") && $0.contains("level=L4") }, "\(log)")
    }

    static let journalSocket = "/run/systemd/journal/socket"

    @Test("With JOURNAL_STREAM naming its standard error, rfgend writes to the journal instead, with fields")
    func journal() throws {
        let pair = try P.start()
        defer { pair.stop() }
        // Without journald, and as root, a socket at journald's address receives the entries in
        // the journal's native protocol, so that their fields are checked all the same.
        var standIn: Int32?
        if !FileManager.default.fileExists(atPath: Self.journalSocket) && getuid() == 0 {
            try? FileManager.default.createDirectory(atPath: "/run/systemd/journal", withIntermediateDirectories: true)
            standIn = try? Self.notifySocket(Self.journalSocket)
        }
        defer {
            if let standIn {
                close(standIn)
                unlink(Self.journalSocket)
                rmdir("/run/systemd/journal")
            }
        }
        // Read as they come, as journald would: a datagram socket's queue holds only a few, and a
        // sender blocks when it is full.
        let received = Mutex<[String]>([])
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let reader = standIn.map { fd in
            Thread {
                while !stop.load(ordering: .acquiring) {
                    let batch = Self.receive(fd, seconds: 0.1).map(\.text)
                    received.withLock { $0 += batch }
                }
                finished.signal()
            }
        }
        reader?.start()
        let log = try Self.lesionWithAlarm(pair, environment: ["JOURNAL_STREAM": "match"]).stderr
        stop.store(true, ordering: .releasing)
        if reader != nil { finished.wait() }
        #expect(!log.contains("ALARM"), "the entries went to the journal, not to standard error: \(log)")
        if standIn != nil {
            let entries = received.withLock { $0 }
            let alarm = entries.first { $0.contains("MESSAGE=ALARM high emergency_stop") }
            for field in [
                "PRIORITY=2", "SYSLOG_IDENTIFIER=rfgend", "RFGEN_ALARM_ID=1", "RFGEN_ALARM_PRIORITY=high",
                "RFGEN_LEVEL=L4",
            ] {
                #expect(
                    alarm?.contains(field + "\n") == true || alarm?.hasSuffix(field) == true,
                    "\(field) in \(alarm ?? "no alarm entry: \(entries)")"
                )
            }
            #expect(entries.contains { $0.contains("MESSAGE=RF ON") && $0.contains("PRIORITY=4") }, "\(entries)")
            return
        }
        guard FileManager.default.fileExists(atPath: Self.journalSocket) else {
            print("journald is not running here and the test is not root: the journal's fields are not checked")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
        process.arguments = ["-t", "rfgend", "-o", "export", "--since", "-2min", "RFGEN_ALARM_CAUSE=emergency_stop"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let entries = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(entries.contains("PRIORITY=2") && entries.contains("RFGEN_LEVEL=L4"), "\(entries.prefix(2000))")
    }
}
