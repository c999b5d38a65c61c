import Foundation
import Testing

/// The units in systemd/, checked by systemd's own tools: `systemd-analyze verify` (syntax, every
/// key known, the binaries executable) and `systemd-analyze security` (exposure at most 2.0).
struct SystemdUnitTests {
    static let analyze = "/usr/bin/systemd-analyze"
    static let units = [
        "rfgend.service", "rfgend.socket", "rfgend@.service", "rfgen-capture.service", "rfgen-metrics.service",
    ]

    /// The repository's systemd/ folder.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("systemd")

    /// The units with /usr/bin/ pointing at this build, in a temporary folder; a template as an
    /// instance (verify does not take templates).
    static func prepared() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rfgen-units-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bin = URL(fileURLWithPath: RFGenDProcessTests.rfctlPath).deletingLastPathComponent().path + "/"
        for unit in units {
            let text = try String(contentsOf: folder.appendingPathComponent(unit), encoding: .utf8)
                .replacingOccurrences(of: "/usr/bin/", with: bin)
            let name = unit.replacingOccurrences(of: "@.", with: "@SIM0001.")
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }

    static func run(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let result = try runProcess(analyze, arguments, in: directory)
        return (result.status, result.output + result.errors)
    }

    @Test(
        "systemd-analyze verify passes every unit without a warning",
        .enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"),
        arguments: units
    )
    func verify(unit: String) throws {
        let directory = try Self.prepared()
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = unit.replacingOccurrences(of: "@.", with: "@SIM0001.")
        let result = try Self.run(["verify", "--man=no", "./" + name], in: directory)
        #expect(result.status == 0 && result.output.isEmpty, "\(unit):\n\(result.output)")
    }

    /// The system calls a set of `SystemCallFilter=` entries names, with systemd's groups expanded
    /// by its own table (`systemd-analyze syscall-filter`).
    static func expand(_ entries: [Substring]) throws -> Set<String> {
        var calls = Set<String>()
        var groups = Set<String>()
        var pending = entries.map(String.init)
        while let entry = pending.popLast() {
            guard entry.hasPrefix("@") else {
                calls.insert(entry)
                continue
            }
            guard groups.insert(entry).inserted else { continue }
            let listed = try runProcess(analyze, ["syscall-filter", entry])
            #expect(listed.status == 0, "\(entry): \(listed.errors)")
            pending += listed.output.split(separator: "\n").dropFirst()
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        return calls
    }

    @Test(
        "The daemon's units let it make the calls its threads wait with: epoll_pwait2 among them",
        .enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"),
        arguments: ["rfgend.service", "rfgend@.service"]
    )
    func systemCallFilter(unit: String) throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(unit), encoding: .utf8)
        var allowed = Set<String>()
        var denied = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("SystemCallFilter=") {
            let value = line.dropFirst("SystemCallFilter=".count)
            if value.hasPrefix("~") {
                denied.formUnion(try Self.expand(value.dropFirst().split(separator: " ")))
            } else {
                allowed.formUnion(try Self.expand(value.split(separator: " ")))
            }
        }
        // The link thread's wait (Epoll), the wake-ups of the line and of the event bus
        // (eventfd), the control thread's sleep. A filter that refused epoll_pwait2 would cost
        // the link thread its microsecond timeouts (it falls back to epoll_wait), not its frames;
        // one that refused the rest would stop the daemon.
        let calls = [
            "epoll_create1", "epoll_ctl", "epoll_pwait2", "epoll_wait", "eventfd2", "ppoll", "clock_nanosleep",
        ]
        for call in calls {
            #expect(allowed.contains(call) && !denied.contains(call), "\(unit) refuses \(call)")
        }
    }

    @Test(
        "systemd-analyze security rates the services' exposure at 2.0 or lower",
        .enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"),
        arguments: ["rfgend.service", "rfgend@SIM0001.service", "rfgen-capture.service", "rfgen-metrics.service"]
    )
    func security(unit: String) throws {
        let directory = try Self.prepared()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.run(["security", "--offline=yes", "./" + unit], in: directory)
        let line = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        print("\(unit): \(line.map(String.init) ?? result.output)")
        #expect(score.map { $0 <= 2.0 } == true, "\(unit): \(line.map(String.init) ?? result.output)")
    }
}

/// rfgend's configuration file: the installed default parses, the command line overrides it, and
/// a mistake in it stops the daemon with a message that names it.
struct ConfigurationFileTests {
    typealias P = RFGenDProcessTests

    static func rfgend(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let result = try runProcess(builtProgram("rfgend"), arguments)
        return (result.status, result.errors)
    }

    @Test("The shipped rfgend.yaml configures a daemon, with the command line on top")
    func shippedDefault() throws {
        let pair = try P.start()
        defer { pair.stop() }
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: builtProgram("rfgend"))
        daemon.arguments = [
            "--config", SystemdUnitTests.folder.appendingPathComponent("rfgend.yaml").path,
            "--device", pair.device, "--socket", pair.api, "--state-dir", pair.directory,
            // The file names group rfgen-operator, which only an installed system has.
            "--operator-group", "0",
        ]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        let status = P.status(pair.api, until: P.ready)
        #expect(status?["link"] as? String == "up")
        #expect((status?["loop"] as? [String: Any])?["tick_hz"] as? Int == 100, "tick_rate from the file")
    }

    @Test(
        "A mistake in the configuration file is refused with a message naming it",
        arguments: [
            ("device: /dev/x\ntick_rat: 100\n", "unknown setting \"tick_rat\""),
            ("device: /dev/x\ntick_rate: fast\n", "tick_rate"),
            ("device: [unclosed\n", "not valid YAML"),
            ("- a list\n", "expected key: value"),
            ("usb_vendor: \"1209\"\n", "give either a device path"),
            ("device: /dev/x\ntick_rate: 5000\n", "tick rate must be 10-1000"),
            ("device: /dev/x\nmax_clients: 0\n", "max clients must be 1-1024"),
            ("device: /dev/x\ncontrol_cpu: 4096\n", "control CPU 4096 is not one rfgend may run on"),
            ("device: /dev/x\ncontrol_cpu: [1]\n", "control_cpu"),
            ("device: /dev/x\nprofiles:\n  - {name: q, colour: red}\n", "unknown profile key \"colour\""),
            ("device: /dev/x\nprofiles:\n  - {name: q, target_c: 85}\n", "profiles[0] needs ramp_c_per_s"),
            (
                "device: /dev/x\nprofiles:\n  - {name: q, target_c: 120, ramp_c_per_s: 5, hold_s: 10, hold_band_c: 2,"
                    + " power_limit_w: 15, energy_cap_j: 5000}\n",
                "profile q: set point (°C) 120.0 is outside 40.0-95.0"
            ),
            (
                "device: /dev/x\nprofiles:\n  - {name: bvn, target_c: 85, ramp_c_per_s: 5, hold_s: 10, hold_band_c: 2,"
                    + " power_limit_w: 15, energy_cap_j: 5000}\n",
                "profile bvn is built in and cannot be redefined"
            ),
            (
                "device: /dev/x\nprofiles:\n  - {name: p, mode: fast, target_c: 85, ramp_c_per_s: 1, hold_s: 10,"
                    + " hold_band_c: 2, power_limit_w: 1, energy_cap_j: 500}\n",
                "profile p: mode must be temperature or power; got fast"
            ),
        ]
    )
    func mistakes(text: String, message: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rfgend-\(UUID().uuidString).yaml")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.rfgend(["--config", path, "--socket", path + ".sock"])
        #expect(result.status != 0)
        #expect(result.errors.contains(message), "\(result.errors)")
    }

    @Test("A missing configuration file is an error, not an empty configuration")
    func missingFile() throws {
        let result = try Self.rfgend(["--config", "/nonexistent/rfgend.yaml"])
        #expect(
            result.status != 0 && result.errors.contains("cannot read /nonexistent/rfgend.yaml"),
            "\(result.errors)"
        )
    }
}

/// scripts/install stages a complete, consistent installation.
struct InstallTests {
    static let repository = SystemdUnitTests.folder.deletingLastPathComponent()

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try runProcess(executable, arguments)
        return (result.status, result.output + result.errors)
    }

    @Test("scripts/install --destdir stages binaries, units, rules, users, configuration, manuals and completions")
    func stagedInstall() throws {
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("rfgen-stage-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let bin = URL(fileURLWithPath: RFGenDProcessTests.rfctlPath).deletingLastPathComponent().path
        let script = Self.repository.appendingPathComponent("scripts/install").path
        let result = try Self.run("/bin/bash", [script, "--destdir", stage, "--prefix", "/opt/rfgen", "--from", bin])
        #expect(result.status == 0, "\(result.output)")
        let expected = [
            "/opt/rfgen/bin/rfgend", "/opt/rfgen/bin/rfctl", "/opt/rfgen/bin/rfgen-sim", "/opt/rfgen/bin/rfgen-replay",
            "/opt/rfgen/share/man/man1/rfgen-replay.1",
            "/opt/rfgen/lib/systemd/system/rfgend.service", "/opt/rfgen/lib/systemd/system/rfgend.socket",
            "/opt/rfgen/lib/systemd/system/rfgend@.service", "/opt/rfgen/lib/systemd/system/rfgen-capture.service",
            "/opt/rfgen/lib/systemd/system/rfgen-metrics.service",
            "/usr/lib/udev/rules.d/70-rfgen.rules", "/usr/lib/sysusers.d/rfgen.conf", "/usr/lib/tmpfiles.d/rfgen.conf",
            "/etc/rfgend/rfgend.yaml", "/opt/rfgen/share/man/man1/rfctl.1", "/opt/rfgen/share/man/man1/rfgend.1",
            "/opt/rfgen/share/bash-completion/completions/rfctl", "/opt/rfgen/share/doc/rfgen/API.md",
        ]
        for path in expected {
            #expect(FileManager.default.fileExists(atPath: stage + path), "\(path) installed")
        }
        let unit = try String(contentsOfFile: stage + "/opt/rfgen/lib/systemd/system/rfgend.service", encoding: .utf8)
        #expect(
            unit.contains("ExecStart=/opt/rfgen/bin/rfgend --config /etc/rfgend/rfgend.yaml"),
            "the prefix is in the unit"
        )
        #expect(!unit.contains("/usr/bin/"))
        // A second install keeps the administrator's configuration.
        try "device: /dev/mine\n".write(toFile: stage + "/etc/rfgend/rfgend.yaml", atomically: true, encoding: .utf8)
        #expect(
            try Self.run("/bin/bash", [script, "--destdir", stage, "--prefix", "/opt/rfgen", "--from", bin]).status == 0
        )
        #expect(try String(contentsOfFile: stage + "/etc/rfgend/rfgend.yaml", encoding: .utf8) == "device: /dev/mine\n")
        #expect(FileManager.default.fileExists(atPath: stage + "/etc/rfgend/rfgend.yaml.new"))

        // The users and directories the units expect, made by systemd's own tools in the stage.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-sysusers") {
            let users = try Self.run(
                "/usr/bin/systemd-sysusers",
                ["--root=" + stage, stage + "/usr/lib/sysusers.d/rfgen.conf"]
            )
            #expect(users.status == 0, "\(users.output)")
            let group = try String(contentsOfFile: stage + "/etc/group", encoding: .utf8)
            #expect(
                group.contains("rfgen:") && group.contains("rfgen-operator:") && group.contains("rfgend:"),
                "\(group)"
            )
        }
    }
}
