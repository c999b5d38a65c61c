import CLinuxShims
import RFGenCore
import RFGenDiscovery
import RFGenLink
import RFGenProtocol
import RFGenSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The link thread: opens the serial port, moves bytes from it into the `LinkEngine`, keeps the
/// link's timers (handshake, retries, keepalive), reopens the device when it goes away, and
/// publishes the snapshot. It never decides anything about RF. The engine and the port are the
/// `GeneratorLine`'s, shared with the control thread, which writes its own commands.
final class LinkService: @unchecked Sendable {
    // @unchecked: the fields here are touched only by the link thread after `start`.
    private let source: DeviceSource
    /// The device in use or last tried, for the log.
    private var device: String
    private var udev: Udev?
    private var hotplug: Int32 = -1
    private let baud: Int
    /// SCHED_FIFO priority for this thread, or nil: it carries every telemetry frame to the tick
    /// and every RF_OFF to the generator, so at normal priority any busy process on the machine
    /// would add milliseconds to the reaction to a fault.
    private let fifoPriority: Int32?
    private let shared: Shared
    /// Checks each telemetry frame as it arrives (RF off on arrival).
    private let host: MachineHost
    /// The arrival time of the last frame handed to the check.
    private var checkedTelemetryAt: MonotonicInstant?
    private let log: @Sendable (String) -> Void
    private let line: GeneratorLine
    /// The open port's descriptor, for poll and read; the line holds it for writes.
    private var port: FileDescriptor?
    private var nextOpenAttempt: Int64 = 0
    private var lastFailure: String?
    /// What the thread waits on: the port, edge-triggered (`Epoll` says why), and the line's wake.
    private let waiter: Epoll
    /// The longest the thread sleeps when the link has no timer due sooner (it wakes for the
    /// link's retries and keepalives when they fall due): bounds how late a stop is noticed.
    static let pollMilliseconds: Int64 = 50

    init(
        source: DeviceSource,
        baud: Int,
        line: GeneratorLine,
        fifoPriority: Int32?,
        shared: Shared,
        host: MachineHost,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.host = host
        self.source = source
        self.fifoPriority = fifoPriority
        switch source {
        case .path(let path): device = path
        case .usb(let match): device = "\(match)"
        }
        self.baud = baud
        self.shared = shared
        self.log = log
        self.line = line
        // As for the line's eventfd: without it the daemon cannot wait for its generator.
        do {
            waiter = try Epoll()
            try waiter.watch(line.wake.descriptor, edgeTriggered: false)
        } catch {
            preconditionFailure("epoll failed: the daemon cannot wait for its generator: \(error)")
        }
    }

    func run() {
        log("link thread: " + RealTime.prepareCurrentThread(fifoPriority: fifoPriority))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !shared.stopping.load(ordering: .acquiring) {
            let now = MonotonicClock.microseconds()
            guard let port else {
                if now >= nextOpenAttempt {
                    open(now: now)
                } else if hotplug >= 0 {
                    // A generator plugged in wakes the thread at once rather than at the next try.
                    var pfd = pollfd(fd: hotplug, events: Int16(POLLIN), revents: 0)
                    _ = poll(&pfd, 1, Int32(min(max((nextOpenAttempt - now) / 1000, 1), 10)))
                    if pfd.revents & Int16(POLLIN) != 0 {
                        while let event = udev?.receiveEvent() {
                            if event.action == "add", case .usb(let match) = source, match.matches(event.device) {
                                nextOpenAttempt = 0
                            }
                        }
                    }
                } else {
                    MonotonicClock.sleep(untilMicroseconds: min(nextOpenAttempt, now + 10_000))
                }
                continue
            }
            // Wake for bytes from the generator, when the link's next timer (a retry, a
            // keepalive) falls due, or when the line asks (a failed write, a command whose retry
            // is timed here); not on a fixed beat, which cost 200 wake-ups a second, nor for each
            // set point, which the control thread writes itself.
            let nextDeadline = line.withState { $0.engine.nextDeadline }
            let wait = min(max(0, (nextDeadline ?? .max) - now), Self.pollMilliseconds * 1000)
            var arrived = false
            var hungUp = false
            waiter.wait(microseconds: wait) { ready in
                if ready.descriptor == port.rawValue {
                    arrived = arrived || ready.readable
                    hungUp = hungUp || ready.hungUp
                } else if ready.descriptor == line.wake.descriptor {
                    line.wake.clear()
                }
            }
            let time = MonotonicClock.microseconds()
            if hungUp {
                lost("the device hung up")
                continue
            }
            if arrived {
                guard readAll(from: port, into: &buffer, now: time) else { continue }
                checkArrival(now: time)
            }
            exchange(now: time)
        }
        // Every exit path ends with RF off: the last thing written is RF_OFF.
        if let port {
            line.withState { state in
                state.engine.send(.rfOff, now: MonotonicClock.microseconds())
                GeneratorLine.write(&state)
                state.port = nil
            }
            waiter.unwatch(port.rawValue)
            try? port.close()
        }
    }

    /// Reads all the input waiting on the port into the engine: the port is watched
    /// edge-triggered, so what is left unread would wait for the next frame. False when the port
    /// failed (and the link was dropped).
    private func readAll(from port: FileDescriptor, into buffer: inout [UInt8], now: Int64) -> Bool {
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try port.read(into: $0) }
            } catch Errno.wouldBlock {
                return true
            } catch {
                lost("read failed: \(error)")
                return false
            }
            guard count > 0 else {
                lost("read failed: end of file")
                return false
            }
            line.withState { $0.engine.receive(buffer[0..<count], now: now) }
            // A short read took everything there was; a full one may have left more.
            if count < buffer.count { return true }
        }
    }

    private func exchange(now: Int64) {
        let (events, engineState, writeFailure) = line.withState { state in
            state.engine.poll(now: now)
            GeneratorLine.write(&state)
            defer { state.writeFailure = nil }
            return (state.engine.takeEvents(), state.engine.state, state.writeFailure)
        }
        if let writeFailure {
            lost(writeFailure)
            return
        }
        for event in events {
            switch event {
            case .ready(let hello):
                lastFailure = nil
                log(
                    "generator \(hello.model) serial \(hello.serialNumber) firmware \(hello.firmwareMajor).\(hello.firmwareMinor).\(hello.firmwarePatch) ready"
                )
            case .incompatible(let error): log("refusing the generator: \(error)")
            case .generatorRebooted: log("the generator reset; handshaking again (RF stays off)")
            case .commandFailed(let type, let attempts): log("\(type) unanswered after \(attempts) attempts: link lost")
            case .refused(let type, let reason): log("generator refused \(type): \(reason)")
            }
        }
        if case .failed(let why) = engineState {
            // A generator that failed the handshake or stopped answering is tried again after the
            // full interval, not at once: an incompatible one would otherwise be refused 10 times a
            // second.
            lost("link failed: \(why)", retryAfter: DaemonLimits.reopenMicroseconds)
        }
        publish()
    }

    /// A new telemetry frame is checked against the interlocks at once, and what the check sends
    /// (RF_OFF) is written at once, ahead of the record and events of the trip, under the
    /// machine's lock (`GeneratorLine`). Only the newest frame of a read is checked: frames that
    /// came in one read are microseconds apart.
    private func checkArrival(now: Int64) {
        let (snapshot, state) = line.withState { ($0.engine.snapshot, $0.engine.state) }
        guard snapshot.telemetry != nil, snapshot.telemetryReceivedAt != checkedTelemetryAt else { return }
        checkedTelemetryAt = snapshot.telemetryReceivedAt
        // Published first: a tick that runs after this check must not see an older frame.
        publish()
        host.telemetryArrived(link: snapshot, linkState: state) { commands in
            line.send(commands, now: now)
        }
    }

    private func publish() {
        let (snapshot, statistics, state, lastSecond) = line.withState {
            ($0.engine.snapshot, $0.engine.statistics, $0.engine.state, $0.engine.seconds.last)
        }
        shared.link.withLock { exchange in
            exchange.lastSecond = lastSecond
            exchange.snapshot = snapshot
            exchange.statistics = statistics
            exchange.state = state
        }
    }

    private func open(now: Int64) {
        do {
            let path = try resolve()
            device = path
            let opened = try Terminal.openSerialPort(path, baud: baud)
            do {
                try waiter.watch(opened.rawValue, edgeTriggered: true)
            } catch {
                try? opened.close()
                throw error
            }
            port = opened
            line.withState { state in
                state.port = opened
                state.writeFailure = nil
                state.engine.opened(now: now)
                // The handshake's first frame, at once rather than at the next wake-up.
                GeneratorLine.write(&state)
            }
            if lastFailure == nil { log("opened \(path)") }
        } catch {
            let why =
                error as? Errno == .wouldBlock
                ? "held by another process (another rfgend, or a probe); not shared, trying again"
                : "cannot open: \(error)"
            // One line per change of cause, as for a lost link.
            if why != lastFailure { log("\(device): \(why)") }
            lastFailure = why
            nextOpenAttempt = now + DaemonLimits.reopenMicroseconds
        }
        publish()
    }

    /// The device to open: the configured path, or the one USB device that matches.
    private func resolve() throws -> String {
        switch source {
        case .path(let path):
            return path
        case .usb(let match):
            if udev == nil {
                let udev = try Udev()
                self.udev = udev
                do { hotplug = try udev.startMonitor() } catch {
                    log("no hotplug monitor: \(error); polling once a second")
                }
            }
            guard let udev else { throw DiscoveryError("udev unavailable") }
            return try match.select(from: udev.serialDevices()).devnode
        }
    }

    private func lost(_ why: String, retryAfter: Int64 = DaemonLimits.reopenMicroseconds / 10) {
        // The same failure again is not logged again: one line per change of cause.
        if why != lastFailure { log("\(device): \(why); reopening") }
        lastFailure = why
        // Out of the line first: no thread writes to it once it is closed.
        line.withState { state in
            state.port = nil
            state.engine.closed()
        }
        if let port { waiter.unwatch(port.rawValue) }
        try? port?.close()
        port = nil
        nextOpenAttempt = MonotonicClock.microseconds() + retryAfter
        publish()
    }
}

/// Where the generator is: a fixed path, or found through udev.
public enum DeviceSource: Sendable {
    case path(String)
    case usb(DeviceMatch)
}
