import ArgumentParser
import CLinuxShims
import RFGenProtocol
import RFGenSimulator
import RFGenSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Serves the simulated generator on a pseudo-terminal in real time.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the simulated generator on a pseudo-terminal."
    )

    @Option(help: "Also make a symbolic link to the device at this path (replaced if it is a link).")
    var link: String?

    @Option(help: "Tissue around the probe: normal, sclerotic or high-perfusion.")
    var tissue: String = "normal"

    @Option(help: "Seed for every random choice (sensor noise, bit errors, garbage).")
    var seed: UInt64 = 1

    @Option(help: "Accept fault-injection commands on a Unix stream socket at this path.")
    var control: String?

    @Option(help: "Serial number the generator reports.")
    var serial: String = "SIM-0001"

    @Option(help: "Temperature channels (1-4).")
    var channels: Int = 2

    @Flag(help: "Do not read fault-injection commands from standard input.")
    var noStdin = false

    @Option(
        help:
            "SCHED_FIFO priority (1-99) where the system grants it, 0 for none: a generator's firmware is not delayed by the host's other work, and neither is its stand-in."
    )
    var rtPriority: Int32 = 70

    func validate() throws {
        guard TissuePreset(rawValue: tissue) != nil else {
            throw ValidationError(
                "--tissue must be one of \(TissuePreset.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard (1...4).contains(channels) else { throw ValidationError("--channels must be 1-4") }
        guard (0...99).contains(rtPriority) else { throw ValidationError("--rt-priority must be 0-99") }
        guard serial.utf8.count <= ProtocolLimits.maxIdentityStringBytes, !serial.isEmpty else {
            throw ValidationError("--serial must be 1-\(ProtocolLimits.maxIdentityStringBytes) bytes")
        }
    }

    func run() throws {
        var configuration = GeneratorConfiguration()
        configuration.tissue = TissuePreset(rawValue: tissue)?.parameters ?? .normal
        configuration.seed = seed
        configuration.serialNumber = serial
        configuration.temperatureChannels = channels
        // Below rfgend's control (80) and link (79) threads: the daemon must get its reading
        // and answer even when the simulator is busy. Said on standard error; standard output's
        // first line is the device's path.
        let granted = RealTime.prepareCurrentThread(fifoPriority: rtPriority == 0 ? nil : rtPriority)
        _ = try? FileDescriptor.standardError.writeAll(Array("rfgen-sim: \(granted)\n".utf8))
        var server = try SimulatorServer(
            configuration: configuration,
            linkPath: link,
            controlPath: control,
            readStandardInput: !noStdin
        )
        try server.run()
    }
}

/// The real-time shell around `SimulatedGenerator`: one thread that sleeps until the generator's
/// next timed duty (or at most `housekeepingMicroseconds`), with the pty master, the control
/// inputs and a signal descriptor in one poll set.
struct SimulatorServer {
    /// The longest the loop sleeps with no duty due: for `disconnect SECONDS` and `measure`'s
    /// timeout, which the generator does not know about.
    static let housekeepingMicroseconds: Int64 = 10_000

    var generator: SimulatedGenerator
    let linkPath: String?
    var terminal: PseudoTerminals.PseudoTerminal?
    var control: LineSocketServer?
    var standardInput: LineBuffer?
    let signals: Int32
    let start: Int64
    /// When a `disconnect SECONDS` ends.
    var reconnectAt: Int64?
    /// Output dropped because no host had the device open or its buffer was full.
    var droppedBytes = 0
    /// A `measure` under way: the host's reaction to a fault, timed on this side of the line.
    var probe: ReactionProbe?
    /// Finished measurements, µs from writing the first frame that shows the fault to reading
    /// the host's RF_OFF (`SimulatorLimits.reactionSamples` at most), and those that never came.
    var reactions: [Int64] = []
    var missedReactions = 0

    struct ReactionProbe {
        /// Counters when the fault was injected.
        var telemetryBefore: Int
        /// When the first frame after it was written, and the RF_OFF count then.
        var shownAt: Int64?
        var rfOffsWhenShown = 0
    }

    init(configuration: GeneratorConfiguration, linkPath: String?, controlPath: String?, readStandardInput: Bool) throws
    {
        signal(SIGPIPE, SIG_IGN)
        // SIGINT and SIGTERM arrive as a readable descriptor in the poll set: the loop ends
        // between two ticks, and the link and the socket file are removed on the way out.
        signals = rfgen_termination_signalfd()
        guard signals >= 0 else { throw CommandFailure("signalfd: \(Errno(rawValue: errno))") }

        start = MonotonicClock.microseconds()
        generator = SimulatedGenerator(configuration: configuration, microseconds: 0)
        self.linkPath = linkPath
        if let controlPath {
            control = try LineSocketServer(
                path: controlPath,
                maxClients: SimulatorLimits.controlClients,
                maxLineBytes: SimulatorLimits.controlLineBytes
            )
        }
        if readStandardInput {
            standardInput = LineBuffer(maxLineBytes: SimulatorLimits.controlLineBytes)
            try Terminal.setNonBlocking(.standardInput)
        }
        try attach()
    }

    /// Opens a fresh pseudo-terminal, links it and announces it on standard output.
    mutating func attach() throws {
        let pty = try PseudoTerminals.openPseudoTerminal()
        terminal = pty
        if let linkPath {
            var info = stat()
            if lstat(linkPath, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFLNK else {
                    throw CommandFailure("\(linkPath) exists and is not a symbolic link; refusing to replace it")
                }
                unlink(linkPath)
            }
            guard symlink(pty.devicePath, linkPath) == 0 else {
                throw CommandFailure("symlink \(linkPath): \(Errno(rawValue: errno))")
            }
        }
        print(pty.devicePath)
        fflush(nil)
    }

    /// Closes the pseudo-terminal: the device node and the link vanish, as when a USB cable is pulled.
    mutating func detach() {
        guard let pty = terminal else { return }
        try? pty.master.close()
        terminal = nil
        if let linkPath { unlink(linkPath) }
    }

    var now: Int64 { MonotonicClock.microseconds() - start }

    mutating func run() throws {
        defer { shutdown() }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            // The generator's line: read what the host sent, let time pass, send what it produced.
            var hostPresent = false
            if let pty = terminal {
                var probe = pollfd(fd: pty.master.rawValue, events: Int16(POLLIN), revents: 0)
                _ = poll(&probe, 1, 0)
                // POLLHUP on a pty master: no process has the device open, so nobody would read.
                hostPresent = probe.revents & Int16(POLLHUP) == 0
                if probe.revents & Int16(POLLIN) != 0 {
                    while let count = try? buffer.withUnsafeMutableBytes({ try pty.master.read(into: $0) }), count > 0 {
                        // This process may have been off the CPU while they waited: the generator
                        // decides when a UART would have taken them.
                        let readAt = generator.receiveWaiting(buffer[0..<count], foundAt: now)
                        noteRFOff(readAt: readAt)
                    }
                }
            }
            generator.advance(to: now)
            let output = generator.takeOutput()
            if let pty = terminal, hostPresent, !output.isEmpty {
                let written = (try? output.withUnsafeBytes { try pty.master.write($0) }) ?? 0
                droppedBytes += output.count - written
            } else {
                droppedBytes += output.count
            }
            noteTelemetryWritten()

            if let reconnectAt, now >= reconnectAt {
                self.reconnectAt = nil
                try reconnect()
            }

            // Sleep until the generator's next duty, so that telemetry leaves on its own clock as
            // a real generator's does, or sooner for host bytes, a control line or a signal. (A
            // fixed tick counted per wake-up ran ahead of the clock when the host's bytes woke the
            // loop often, and then only the host's writes moved the generator's time: its
            // telemetry went out just after the host's tick, a whole tick before it was read.)
            let wait = max(0, min(generator.nextDutyMicroseconds, now + Self.housekeepingMicroseconds) - now)
            var fds: [pollfd] = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if let pty = terminal, hostPresent {
                fds.append(pollfd(fd: pty.master.rawValue, events: Int16(POLLIN), revents: 0))
            }
            if standardInput != nil { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            if let control {
                fds.append(pollfd(fd: control.listener.rawValue, events: Int16(POLLIN), revents: 0))
                for client in control.clients {
                    fds.append(pollfd(fd: client.fd.rawValue, events: Int16(POLLIN), revents: 0))
                }
            }
            _ = rfgen_poll_microseconds(&fds, UInt(fds.count), wait)

            if fds[0].revents & Int16(POLLIN) != 0 { return }
            try serviceControl()
        }
    }

    mutating func serviceControl() throws {
        if standardInput != nil {
            var bytes = [UInt8](repeating: 0, count: 1024)
            let count = (try? bytes.withUnsafeMutableBytes { try FileDescriptor.standardInput.read(into: $0) }) ?? -1
            if count == 0 {
                standardInput = nil  // end of input: keep serving, stop listening
            } else if count > 0, var lines = standardInput {
                let results = lines.feed(bytes[0..<count])
                standardInput = lines
                for line in results { answer(try perform(line), on: .standardOutput) }
            }
        }
        if control != nil {
            control!.acceptWaiting()
            for (fd, line) in control!.readLines() { answer(try perform(line), on: fd) }
        }
    }

    /// After a write: the first telemetry frame sent since a `measure` fault is the one that shows it.
    mutating func noteTelemetryWritten() {
        guard var current = probe else { return }
        if let shownAt = current.shownAt {
            if now - shownAt > SimulatorLimits.reactionTimeoutMicroseconds {
                missedReactions += 1
                probe = nil
            }
            return
        }
        guard generator.telemetryFramesSent > current.telemetryBefore else { return }
        current.shownAt = now
        current.rfOffsWhenShown = generator.rfOffFramesReceived
        probe = current
    }

    /// After a read: an RF_OFF that arrived since the fault showed ends the measurement.
    mutating func noteRFOff(readAt: Int64) {
        guard let current = probe, let shownAt = current.shownAt,
            generator.rfOffFramesReceived > current.rfOffsWhenShown
        else { return }
        if reactions.count < SimulatorLimits.reactionSamples { reactions.append(readAt - shownAt) }
        probe = nil
    }

    /// `reactions`: every measured reaction so far, µs, in order.
    var reactionsLine: String {
        "reactions measured=\(reactions.count) missed=\(missedReactions) pending=\(probe == nil ? 0 : 1) us="
            + reactions.map(String.init).joined(separator: ",")
    }

    /// `edges`: the newest switches of the output stage, on the monotonic clock (µs), so that a
    /// test can compare them with its own readings of that clock.
    var edgesLine: String {
        let edges = generator.recorder.edges.suffix(SimulatorLimits.reportedEdges)
        return (["edges"] + edges.map { "\(start + $0.microseconds):\($0.on ? "on" : "off"):\($0.cause)" })
            .joined(separator: " ")
    }

    func answer(_ text: String, on fd: FileDescriptor) {
        _ = try? fd.writeAll((text + "\n").utf8)
    }

    /// Carries out one control line and says how it went.
    mutating func perform(_ line: Result<String, LineSocketError>) throws -> String {
        let text: String
        switch line {
        case .failure(let error): return "error: \(error)"
        case .success(let value): text = value.trimmingSpaces
        }
        if text.isEmpty || text.hasPrefix("#") { return "" }
        if text == "status" { return statusLine }
        if text == "reactions" { return reactionsLine }
        if text == "edges" { return edgesLine }
        let words = text.split(separator: " ")
        if words.first == "measure" {
            guard probe == nil else { return "error: measure: the last measurement has not finished" }
            let fault = String(text.dropFirst("measure".count))
            let result = try perform(.success(fault))
            if result == "ok" { probe = ReactionProbe(telemetryBefore: generator.telemetryFramesSent) }
            return result
        }
        if words.first == "disconnect", words.count == 2 {
            guard let seconds = Double(words[1]), seconds > 0, seconds <= 3600 else {
                return "error: disconnect: seconds must be between 0 and 3600"
            }
            reconnectAt = now + Int64(seconds * 1e6)
            return try perform(.success("disconnect"))
        }
        do {
            for fault in try InjectedFault.parse(text) {
                generator.advance(to: now)
                switch fault {
                case .disconnected(true):
                    generator.inject(fault)
                    detach()
                case .disconnected(false):
                    if terminal == nil { try reconnect() }
                default:
                    generator.inject(fault)
                }
            }
            return "ok"
        } catch {
            return "error: \(error)"
        }
    }

    mutating func reconnect() throws {
        reconnectAt = nil
        generator.inject(.disconnected(false))
        if terminal == nil { try attach() }
    }

    var statusLine: String {
        let g = generator
        let temperatures = g.samples.map { "\($0.status == .ok ? String(format1: $0.celsius) : "\($0.status)")" }
        return "t=\(String(format1: Double(g.now) / 1e6))s rf=\(g.rfState) faults=\(g.faults)"
            + " power=\(String(format1: g.deliveredPower))W load=\(Int(g.loadResistance))ohm"
            + " tip=\(String(format1: g.tipTemperature))C readings=\(temperatures.joined(separator: ","))"
            + " lesion=\(String(format1: g.tissue.lesionDiameter * 1000))mm dropped=\(droppedBytes)"
    }

    func shutdown() {
        if let pty = terminal { try? pty.master.close() }
        if let linkPath { unlink(linkPath) }
        control?.close()
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        self = "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
