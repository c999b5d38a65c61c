import CLinuxShims
import Logging
import Metrics
import RFGenAPI
import RFGenCore
import RFGenDiscovery
import RFGenLink
import RFGenMachine
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
    /// The one CPU the control thread runs on (`ControlCPU`), or nil to let the scheduler move it.
    public var controlCPU: Int?
    public var link = LinkConfiguration()
    /// Who may do what over the API.
    public var roles = RolePolicy(operatorGroups: [])
    /// The API socket file's group; nil leaves the daemon's own.
    public var socketGroup: UInt32?
    /// Clients the API serves at once.
    public var maxClients = APILimits.clients
    /// The profiles a start may name: the built-in ones and the configuration file's, checked
    /// (`TreatmentProfile.catalogue`).
    public var profiles = TreatmentProfile.builtIn
    /// Verification only: the control thread stops ticking this long after start (it still
    /// notices a stop), so that tests can see the watchdog withheld. nil in service.
    public var injectControlStallMicroseconds: Int64?

    public init(device: DeviceSource, socketPath: String) {
        self.device = device
        self.socketPath = socketPath
    }
}

/// rfgend: the link thread, the control thread, the record thread, and the API's event loop;
/// the main thread waits for SIGINT or SIGTERM.
public struct Daemon {
    public let configuration: DaemonConfiguration

    public init(configuration: DaemonConfiguration) {
        self.configuration = configuration
    }

    /// Runs until SIGINT or SIGTERM; RF is off when it returns.
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Files and the socket are for the daemon's user and group only (the socket is 0660).
        umask(0o007)
        // Block the termination signals before any thread starts, so that they all inherit the
        // mask and only the signal descriptor sees SIGINT and SIGTERM.
        let signals = rfgen_termination_signalfd()
        guard signals >= 0 else { throw LineSocketError("signalfd: \(Errno(rawValue: errno))") }

        let logger = Logger(label: "rfgend")
        let log: @Sendable (String) -> Void = { message in logger.info("\(message)") }
        // mlockall is deliberately not called: it locks every thread's whole stack mapping and took
        // the resident size from 21 MB to 89 MB, while page faults after start-up are not what
        // limits the tick's lateness here (the lateness runs, now in scripts/bench, showed no difference).
        log(RealTime.holdCPUWakeLatencyAtZero())

        // Records, and the event numbering that goes on across restarts.
        var store: RecordStore?
        var lastSeq: UInt64 = 0
        var previousShutdown = "none"
        var unknownAfterSeq: UInt64?
        var openSession: SessionBrief?
        var lock: DirectoryLock?
        if let directory = configuration.stateDirectory {
            lock = try DirectoryLock(directory: directory)
            let opened = try RecordStore(path: directory + "/records.sqlite")
            for id in try opened.recoverInterrupted(at: wallClockMicroseconds()) {
                log("record \(id): the daemon stopped during this lesion; marked aborted")
            }
            if let saved = try opened.sequence() {
                if saved.clean {
                    lastSeq = saved.seq
                    previousShutdown = "clean"
                } else {
                    // Up to a second of numbers may have been issued after the checkpoint: skip
                    // well past them so that no number is ever used twice.
                    lastSeq = saved.seq + DaemonLimits.sequenceSkipAfterCrash
                    previousShutdown = "unclean"
                    unknownAfterSeq = saved.seq
                    log("the previous daemon did not stop cleanly; event numbers go on from \(lastSeq + 1)")
                }
            } else {
                previousShutdown = "first"
            }
            try opened.saveSequence(lastSeq, clean: false)
            // A procedure session stays open across a restart (its lesion, if one ran, is aborted above).
            if let open = try opened.openProcedure() {
                openSession = SessionBrief(id: open.id, patientRef: open.patientRef, levels: open.levels)
                log("session \(open.id) is still open: levels \(open.levels.joined(separator: ", "))")
            }
            store = opened
        }
        let shared = Shared(lastSeq: lastSeq)
        // Once per process (rfgend runs one daemon): what a library reports through swift-metrics
        // joins the daemon's own exposition.
        MetricsSystem.bootstrap(metricsFactory(shared.metrics))
        shared.store.withLock { $0 = store }
        let instance = Self.newInstanceID()
        let firstSeq = shared.bus.publish(
            .daemonStarted(
                DaemonStarted(
                    instance: instance,
                    version: RFGenVersion.current,
                    previousShutdown: previousShutdown,
                    unknownAfterSeq: unknownAfterSeq
                )
            ),
            wallUs: wallClockMicroseconds()
        )
        // Handed over by systemd (rfgend.socket), or nil: then the daemon binds its own.
        let activated = try ServiceManager.activatedSocket()
        let api = try APIServer(
            activatedSocket: activated,
            configuration: APIConfiguration(
                socketPath: configuration.socketPath,
                roles: configuration.roles,
                socketGroup: configuration.socketGroup,
                maxClients: configuration.maxClients,
                profiles: configuration.profiles
            ),
            identity: APIHub.Identity(
                version: RFGenVersion.current,
                instance: instance,
                firstSeq: firstSeq,
                unknownAfterSeq: unknownAfterSeq,
                openSession: openSession
            ),
            shared: shared,
            logger: logger,
            log: log
        )

        let records = store.map { RecordWriter(store: $0, shared: shared, log: log) }
        // The reply timeout follows from the line's speed (PROTOCOL.md 5, time bounds).
        let line = GeneratorLine(
            configuration: {
                var link = configuration.link
                link.commandTimeoutMicroseconds = LinkConfiguration.commandTimeout(baud: configuration.baud)
                return link
            }()
        )
        let host = MachineHost(
            tickSeconds: 1 / Double(configuration.tickRateHz),
            shared: shared,
            line: line,
            records: records
        )
        let link = LinkService(
            source: configuration.device,
            baud: configuration.baud,
            line: line,
            // Just under the control thread: the tick is never delayed by the link, and the link
            // by nothing else.
            fifoPriority: configuration.fifoPriority.map { max(1, $0 - 1) },
            shared: shared,
            host: host,
            log: log
        )
        let control = ControlLoop(
            tickRateHz: configuration.tickRateHz,
            telemetryRateHz: Int(configuration.link.telemetryRateHz),
            fifoPriority: configuration.fifoPriority,
            cpu: configuration.controlCPU,
            shared: shared,
            host: host,
            stallAfterMicroseconds: configuration.injectControlStallMicroseconds,
            log: log
        )
        let linkThread = try OSThread(name: "rfgend-link") { link.run() }
        let controlThread = try OSThread(name: "rfgend-control") { control.run() }
        let recordThread = try records.map { writer in try OSThread(name: "rfgend-records") { writer.run() } }
        log(
            "serving \(configuration.device.text) at \(configuration.tickRateHz) Hz; API on \(configuration.socketPath); RF off until an operator starts"
        )

        // The API listens: ready, though the generator may come later.
        ServiceManager.notify("READY=1\nSTATUS=" + serviceStatusLine(shared.status.withLock { $0 }))
        watchUntilSignalled(signals: signals, shared: shared, log: log)
        ServiceManager.notify("STOPPING=1\nSTATUS=stopping, RF off")
        log("stopping: RF off")
        // The control thread stops first, so no command follows; the link thread then writes RF_OFF.
        shared.stopping.store(true, ordering: .releasing)
        controlThread.join()
        linkThread.join()
        // The last event; subscribers get it before their connections close, so that a capture
        // knows the numbering ended here and goes on after a restart without a hole.
        let final = shared.bus.publish(
            .daemonStopping(DaemonStopping(lastSeq: shared.bus.lastSeq + 1)),
            wallUs: wallClockMicroseconds()
        )
        api.shutdown()
        // Last: the record thread writes what the control thread queued before it stopped.
        recordThread?.join()
        // Held to the very end: the next daemon may take the directory once the records are closed.
        defer { withExtendedLifetime(lock) {} }
        if let store {
            do {
                try store.saveSequence(final, clean: true)
            } catch {
                log("could not save the event numbering: \(error); the next start skips ahead")
            }
        }
    }

    /// Waits for SIGINT or SIGTERM. Meanwhile feeds systemd's watchdog while the control loop
    /// keeps ticking (a hung loop gets the daemon killed, and the generator's own watchdog then
    /// cuts RF), and keeps the service's one-line status current.
    private func watchUntilSignalled(signals: Int32, shared: Shared, log: @Sendable (String) -> Void) {
        let watchdog = ServiceManager.watchdogMicroseconds()
        // Four looks per watchdog period: a ping is never late by more than a quarter of it.
        let interval = Int32(clamping: watchdog.map { max(10, $0 / 4_000) } ?? 1000)
        var watch = LoopWatch()
        var lastStatus = ""
        var stalled = false
        var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 1, interval)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { return }
            let status = shared.status.withLock { $0 }
            let healthy = watch.healthy(
                ticks: status.ticks,
                now: MonotonicClock.microseconds(),
                tickRateHz: configuration.tickRateHz
            )
            if healthy {
                if watchdog != nil { ServiceManager.notify("WATCHDOG=1") }
                if stalled { log("the control loop is ticking again; watchdog fed") }
            } else if !stalled {
                log("the control loop has stopped ticking: watchdog withheld, systemd will restart the daemon")
            }
            stalled = !healthy
            let line = stalled ? "control loop stalled; " + serviceStatusLine(status) : serviceStatusLine(status)
            if line != lastStatus {
                ServiceManager.notify("STATUS=" + line)
                lastStatus = line
            }
        }
    }

    /// 16 hex digits from the system's random source: tells one daemon run from another.
    static func newInstanceID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
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
