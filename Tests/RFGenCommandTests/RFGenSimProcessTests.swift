import Foundation
import RFGenProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Drives the real `rfgen-sim` executable: a second process reads the pseudo-terminal through the
/// `--link` path and talks to the control socket. Real time is unavoidable here (it is the point),
/// so every wait is a poll on a descriptor with a deadline, never a sleep.
@Suite(.serialized, RFGenDProcessTests.needsSimulator("nothing: these test the simulator itself"))
struct RFGenSimProcessTests {
    /// The built executable, next to the test bundle in the build folder.
    static var executable: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("rfgen-sim").path) {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("rfgen-sim").path
    }

    struct Running {
        let process: Process
        let stdout: FileHandle
        let directory: String
        var link: String { directory + "/generator" }
        var control: String { directory + "/control.sock" }
    }

    static func start() throws -> Running {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgen-sim-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--link", directory + "/generator", "--control", directory + "/control.sock", "--no-stdin", "--seed", "3",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        return Running(process: process, stdout: pipe.fileHandleForReading, directory: directory)
    }

    /// Reads one line from a descriptor, waiting at most `seconds`.
    static func readLine(_ fd: Int32, seconds: Double = 10) -> String? {
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }

    /// Opens the device and decodes frames until `count` telemetry frames arrived or time ran out.
    static func readTelemetry(_ path: String, count: Int, seconds: Double = 10) -> [Telemetry] {
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var decoder = FrameDecoder(accepting: .generatorToHost)
        var telemetry: [Telemetry] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while telemetry.count < count && Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0, pfd.revents & Int16(POLLIN) != 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { continue }
            for case .frame(let frame) in decoder.feed(buffer[0..<n]) {
                if case .telemetry(let t) = frame.message { telemetry.append(t) }
            }
        }
        return telemetry
    }

    /// Sends one line to the control socket and returns the answer.
    static func control(_ path: String, _ line: String) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return nil }
        let bytes = Array((line + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { return nil }
        return readLine(fd)
    }

    @Test("rfgen-sim --link PATH streams telemetry that a second process reads from PATH")
    func streamsTelemetryOnLink() throws {
        let sim = try Self.start()
        defer {
            if sim.process.isRunning { sim.process.terminate() }
            try? FileManager.default.removeItem(atPath: sim.directory)
        }
        let device = try #require(Self.readLine(sim.stdout.fileDescriptor))
        #expect(device.hasPrefix("/dev/pts/"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: sim.link)) == device)

        let telemetry = Self.readTelemetry(sim.link, count: 20)
        #expect(telemetry.count == 20)
        #expect(telemetry.allSatisfy { $0.rfState == .off && $0.faults == .reset })
        #expect(
            zip(telemetry, telemetry.dropFirst()).allSatisfy {
                $1.timestampMicroseconds - $0.timestampMicroseconds == 10_000
            }
        )

        // Fault injection through the control socket reaches the line.
        #expect(Self.control(sim.control, "tc open 1") == "ok")
        let after = Self.readTelemetry(sim.link, count: 5)
        #expect(after.last?.temperatures[1].status == .open)
        #expect(after.last?.faults.contains(.temperatureSensor) == true)
        #expect(Self.control(sim.control, "status")?.hasPrefix("t=") == true)
        #expect(Self.control(sim.control, "frobnicate")?.hasPrefix("error: unknown command frobnicate") == true)

        // Disconnect: the device and its link vanish; reconnect brings a new one, announced on stdout.
        #expect(Self.control(sim.control, "disconnect") == "ok")
        #expect(!FileManager.default.fileExists(atPath: sim.link))
        #expect(Self.control(sim.control, "reconnect") == "ok")
        let second = try #require(Self.readLine(sim.stdout.fileDescriptor))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: sim.link)) == second)
        #expect(Self.readTelemetry(sim.link, count: 3).count == 3)

        // SIGTERM: a clean exit that removes the link and the socket.
        sim.process.terminate()
        sim.process.waitUntilExit()
        #expect(sim.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: sim.link))
        #expect(!FileManager.default.fileExists(atPath: sim.control))
    }

    @Test("rfgen-sim refuses to replace a file that is not a link, with a clear error")
    func refusesToClobber() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgen-sim-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let precious = directory + "/precious"
        try "keep me".write(toFile: precious, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--link", precious, "--no-stdin"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("exists and is not a symbolic link"))
        #expect((try? String(contentsOfFile: precious, encoding: .utf8)) == "keep me")
    }
}
