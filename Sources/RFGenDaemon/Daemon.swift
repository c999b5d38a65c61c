import CLinuxShims
import RFGenCore
import RFGenDiscovery
import RFGenLink
import RFGenRecords
import RFGenSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How the daemon is set up.
public struct DaemonConfiguration: Sendable {
    public var device: DeviceSource
    public var baud = 115_200
    public var socketPath: String
    public var tickRateHz = 100
    /// Where treatment records are kept (records.sqlite); nil keeps none.
    public var stateDirectory: String?
    /// SCHED_FIFO priority for the control thread, or nil to stay at normal priority.
    public var fifoPriority: Int32? = 80
    public var link = LinkConfiguration()

    public init(device: DeviceSource, socketPath: String) {
        self.device = device
        self.socketPath = socketPath
    }
}

/// rfgend: the link thread, the control thread, and the API served on the main thread.
public struct Daemon {
    public let configuration: DaemonConfiguration
    let shared = Shared()

    public init(configuration: DaemonConfiguration) {
        self.configuration = configuration
    }

    /// Runs until SIGINT or SIGTERM; RF is off when it returns.
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Block the termination signals before any thread starts, so that they all inherit the
        // mask and only the signal descriptor sees SIGINT and SIGTERM.
        let signals = rfgen_termination_signalfd()
        guard signals >= 0 else { throw LineSocketError("signalfd: \(Errno(rawValue: errno))") }
        var api = try LineSocketServer(
            path: configuration.socketPath,
            maxClients: DaemonLimits.apiClients,
            maxLineBytes: DaemonLimits.apiLineBytes
        )
        defer { api.close() }

        let log: @Sendable (String) -> Void = { message in
            writeStandardError("rfgend: \(message)")
        }
        // mlockall is deliberately not called: it locks every thread's whole stack mapping and took
        // the resident size from 21 MB to 89 MB, while page faults after start-up are not what
        // limits the tick's lateness here (scripts/latency measured no difference).
        log(RealTime.holdCPUWakeLatencyAtZero())
        let link = LinkService(
            source: configuration.device,
            baud: configuration.baud,
            configuration: configuration.link,
            shared: shared,
            log: log
        )
        var records: RecordWriter?
        if let directory = configuration.stateDirectory {
            let store = try RecordStore(path: directory + "/records.sqlite")
            for id in try store.recoverInterrupted(at: wallClockMicroseconds()) {
                log("record \(id): the daemon stopped during this lesion; marked aborted")
            }
            shared.store.withLock { $0 = store }
            records = RecordWriter(store: store, shared: shared, log: log)
        }
        let control = ControlLoop(
            tickRateHz: configuration.tickRateHz,
            fifoPriority: configuration.fifoPriority,
            shared: shared,
            records: records,
            log: log
        )
        let linkThread = try OSThread { link.run() }
        let controlThread = try OSThread { control.run() }
        let recordThread = try records.map { writer in try OSThread { writer.run() } }
        log(
            "serving \(configuration.device.text) at \(configuration.tickRateHz) Hz; API on \(configuration.socketPath); RF off until an operator starts"
        )

        while true {
            var fds = [
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                pollfd(fd: api.listener.rawValue, events: Int16(POLLIN), revents: 0),
            ]
            for client in api.clients { fds.append(pollfd(fd: client.fd.rawValue, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            if fds[0].revents & Int16(POLLIN) != 0 { break }
            api.acceptWaiting()
            for (fd, line) in api.readLines() {
                let reply: String
                switch line {
                case .failure(let error): reply = "error: \(error)"
                case .success(let text): reply = answer(text, uid: LineSocketServer.peerUserID(fd) ?? UInt32.max)
                }
                _ = try? fd.writeAll((reply + "\n").utf8)
            }
        }
        log("stopping: RF off")
        // The control thread stops first, so no command follows; the link thread then writes RF_OFF.
        shared.stopping.store(true, ordering: .releasing)
        controlThread.join()
        linkThread.join()
        // Last: the record thread writes what the control thread queued before it stopped.
        recordThread?.join()
    }

    /// One API request, one line of reply (protocol/API.md).
    func answer(_ request: String, uid: UInt32 = 0) -> String {
        let words = request.split(separator: " ").map(String.init)
        guard let verb = words.first else { return "error: empty request" }
        switch verb {
        case "status":
            return shared.status.withLock { $0.line }
        case "stats":
            let (total, second) = shared.link.withLock { ($0.statistics, $0.lastSecond) }
            let mean = total.roundTripCount > 0 ? total.roundTripTotalMicroseconds / Int64(total.roundTripCount) : 0
            return "last_second: \(second.map { "\($0)" } ?? "none") | total: bytes=\(total.decoder.bytes) "
                + "frames=\(total.decoder.frames) decode_errors=\(total.decoder.errors) crc_errors=\(total.decoder.crcErrors) "
                + "telemetry_lost=\(total.telemetryLost) commands=\(total.commandsSent) retries=\(total.retries) "
                + "failed=\(total.commandsFailed) dropped=\(total.commandsDropped) rtt_mean_us=\(mean) "
                + "rtt_max_us=\(total.roundTripMaxMicroseconds)"
        case "profiles":
            return TreatmentProfile.builtIn.map(\.name).joined(separator: " ")
        case "start":
            let name = words.count > 1 ? words[1] : "bvn"
            guard var profile = TreatmentProfile.builtIn.first(where: { $0.name == name }) else {
                return
                    "error: unknown profile \(name); built in: \(TreatmentProfile.builtIn.map(\.name).joined(separator: ", "))"
            }
            let level = words.count > 2 ? words[2] : ""
            guard level.utf8.count <= 16, level.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                return "error: level must be up to 16 letters, digits or '-', e.g. L4"
            }
            if words.count > 3 {
                // A shorter hold for tests and demonstrations; the core checks it against the
                // profile limits like any other value.
                guard let hold = Double(words[3]), hold.isFinite else {
                    return "error: hold time must be a number of seconds, got \(words[3])"
                }
                profile.holdSeconds = hold
            }
            return submit(.start(profile), level: level, uid: uid)
        case "records":
            guard let store = shared.store.withLock({ $0 }) else {
                return "error: no records kept (start rfgend with --state-dir)"
            }
            do {
                let lesions = try store.lesions().prefix(50)
                if lesions.isEmpty { return "none" }
                return lesions.map {
                    "id=\($0.id) profile=\($0.profile) level=\($0.level.isEmpty ? "-" : $0.level) uid=\($0.operatorUID) "
                        + "outcome=\($0.outcome) hold_s=\(Int($0.holdSeconds)) energy_J=\(Int($0.energyJoules)) "
                        + "peak_cC=\(Int(($0.peakCelsius * 100).rounded()))"
                }.joined(separator: " ; ")
            } catch {
                return "error: reading records failed: \(error)"
            }
        case "stop": return submit(.stop)
        case "estop": return submit(.emergencyStop)
        case "ack": return submit(.acknowledge)
        default:
            return
                "error: unknown request \(verb); expected status, stats, records, profiles, start [PROFILE [LEVEL [HOLD_S]]], stop, estop or ack"
        }
    }

    private func submit(_ command: OperatorCommand, level: String = "", uid: UInt32 = 0) -> String {
        guard let ticket = shared.submit(command, level: level, uid: uid) else { return "error: busy, try again" }
        let deadline = MonotonicClock.microseconds() + DaemonLimits.apiReplyMicroseconds
        while MonotonicClock.microseconds() < deadline {
            if let outcome = shared.outcome(ticket) {
                return outcome.map { "error: \($0)" } ?? "ok"
            }
            MonotonicClock.sleep(untilMicroseconds: MonotonicClock.microseconds() + 1000)
        }
        return "error: the control loop did not take the command in time"
    }
}

extension DeviceSource {
    var text: String {
        switch self {
        case .path(let path): path
        case .usb(let match): "\(match)"
        }
    }
}
