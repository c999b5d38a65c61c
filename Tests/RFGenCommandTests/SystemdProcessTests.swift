import Foundation
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
        daemon.executableURL = URL(fileURLWithPath: P.rfctlPath).deletingLastPathComponent()
            .appendingPathComponent("rfgend")
        daemon.arguments = [
            "--device", pair.directory + "/generator", "--socket", pair.api, "--inject-control-stall-ms", "3000",
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
        let rfgend = URL(fileURLWithPath: P.rfctlPath).deletingLastPathComponent().appendingPathComponent("rfgend").path
        activator.arguments = ["-l", socket, rfgend, "--device", pair.directory + "/generator", "--socket", socket]
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
            if client == nil {
                var pfd = pollfd(fd: -1, events: 0, revents: 0)
                _ = poll(&pfd, 0, 50)
            }
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
