import Foundation
import RFGenSystem
import Testing

/// What the four programs have in common on the command line.
struct CommandLineTests {
    @Test("--version on rfgend, rfctl, rfgen-sim and rfgen-replay prints the package's version and exits 0")
    func versions() throws {
        for program in ["rfgend", "rfctl", "rfgen-sim", "rfgen-replay"] {
            let result = try runProcess(builtProgram(program), ["--version"])
            #expect(result.status == 0, "\(program): \(result.errors)")
            #expect(result.output == RFGenVersion.current + "\n", "\(program): \(result.output)")
        }
    }
}

extension CommandLineTests {
    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgend-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test(
        "rfgend's path errors name the path and what to do; a missing state directory is made 0700 when its parent exists"
    )
    func pathErrors() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rfgend = builtProgram("rfgend")

        let noParent = try runProcess(
            rfgend,
            ["--device", directory + "/none", "--socket", directory + "/a.sock", "--state-dir", directory + "/x/y"]
        )
        #expect(noParent.status != 0)
        #expect(
            noParent.errors.contains(
                "state directory \(directory)/x/y does not exist, nor does its parent \(directory)/x"
            )
        )
        #expect(noParent.errors.contains("--state-dir"), "says what to do: \(noParent.errors)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/x"), "no tree grown from a mistyped path")

        let noSocketDirectory = try runProcess(
            rfgend,
            ["--device", directory + "/none", "--socket", directory + "/run/api.sock"]
        )
        #expect(noSocketDirectory.status != 0)
        #expect(
            noSocketDirectory.errors.contains("socket directory \(directory)/run does not exist")
                && noSocketDirectory.errors.contains("--socket"),
            "\(noSocketDirectory.errors)"
        )

        // A state directory whose parent exists is made, for the daemon's user only; the daemon runs.
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: rfgend)
        daemon.arguments = [
            "--device", directory + "/none", "--socket", directory + "/b.sock", "--state-dir", directory + "/state",
        ]
        let errors = Pipe()
        daemon.standardError = errors
        try daemon.run()
        let line = RFGenSimProcessTests.readLine(errors.fileHandleForReading.fileDescriptor) ?? ""
        daemon.terminate()
        daemon.waitUntilExit()
        var info = stat()
        #expect(stat(directory + "/state", &info) == 0, "the state directory was made")
        #expect(info.st_mode & 0o777 == 0o700, "mode \(String(info.st_mode & 0o777, radix: 8))")
        // Outside journald each line on standard error starts with its UTC time, to the millisecond.
        #expect(
            line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rfgend: "#, options: .regularExpression) != nil,
            "\(line)"
        )
    }
}
