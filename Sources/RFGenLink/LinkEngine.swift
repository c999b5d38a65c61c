import RFGenCore
import RFGenProtocol

/// The host's side of a generator link, sans-I/O: the handshake, command numbering, retries and
/// timeouts, keepalives, and the statistics that explain a field problem. The shell hands it the
/// bytes it read and the time (`receive`, `poll`), and writes what it returns (`takeOutput`); it
/// reads no clock and touches no descriptor, so it runs against the simulator in virtual time.
public struct LinkEngine: Sendable {
    /// Where the link stands.
    public enum State: Hashable, Sendable {
        /// No port open.
        case closed
        /// Port open; HELLO_REQUEST, RF_OFF, CONFIGURE and CLEAR_FAULT under way.
        case handshaking
        /// Handshake complete: commands flow, the core may use the snapshot.
        case ready
        /// The generator cannot be used (incompatible version, no answer); the reason says why.
        case failed(String)

        /// The state as the API shows it: the case's name, and a failure's reason in the form
        /// `failed("...")`. A switch, not string interpolation: the status is built every tick, and
        /// interpolating an enum goes through reflection (issue 19).
        public var name: String {
            switch self {
            case .closed: "closed"
            case .handshaking: "handshaking"
            case .ready: "ready"
            case .failed(let why): "failed(\(String(reflecting: why)))"
            }
        }
    }

    /// Things the shell should log or report.
    public enum Event: Hashable, Sendable {
        case ready(Hello)
        case incompatible(IncompatibleVersion)
        /// The generator announced a reset; the link handshakes again (RF stays off).
        case generatorRebooted
        /// A command went unanswered after every retry; the link is considered lost.
        case commandFailed(MessageType, attempts: Int)
        /// A command was refused.
        case refused(MessageType, NakReason)
    }

    public let configuration: LinkConfiguration
    public private(set) var state: State = .closed
    public private(set) var hello: Hello?
    /// The generator `hello` names, for the record.
    public private(set) var generator: GeneratorIdentity?
    public private(set) var statistics = LinkStatistics()
    /// The last `LinkConfiguration.statisticsSeconds` whole seconds, oldest first: what a field
    /// problem looked like second by second.
    public private(set) var seconds: [LinkSecond] = []
    private var secondStart: Int64?
    private var secondBase = LinkStatistics()
    private var secondRoundTripMax: Int64 = 0

    private var decoder = FrameDecoder(accepting: .generatorToHost)
    private var output: [UInt8] = []
    private var events: [Event] = []
    private var nextSequence: UInt16 = 1
    private var pending: [Pending] = []
    private var lastSent: Int64 = 0
    private var handshakeStep = 0
    private var telemetry: Telemetry?
    private var telemetryReceivedAt: Int64 = 0
    private var lastTelemetrySequence: UInt16?
    private var impedanceResult: ImpedanceResult?
    private var impedanceResultReceivedAt: Int64 = 0

    private struct Pending: Sendable {
        var sequence: UInt16
        var type: MessageType
        var bytes: [UInt8]
        var firstSent: Int64
        var lastSent: Int64
        var attempts: Int
    }

    public init(configuration: LinkConfiguration = LinkConfiguration()) {
        self.configuration = configuration
    }

    /// What the core reads each tick. `connected` is true only when the handshake is complete.
    public var snapshot: LinkSnapshot {
        LinkSnapshot(
            connected: state == .ready,
            generatorMaxPowerWatts: hello.map { Double($0.maxPowerMilliwatts) / 1000 },
            generator: generator,
            telemetry: telemetry,
            telemetryReceivedAt: MonotonicInstant(microseconds: telemetryReceivedAt),
            impedanceResult: impedanceResult,
            impedanceResultReceivedAt: MonotonicInstant(microseconds: impedanceResultReceivedAt)
        )
    }

    /// The port was opened: start the handshake.
    public mutating func opened(now: Int64) {
        decoder.reset()
        pending.removeAll()
        telemetry = nil
        lastTelemetrySequence = nil
        beginHandshake(now: now)
    }

    /// The port went away (unplugged, read error).
    public mutating func closed() {
        state = .closed
        pending.removeAll()
        telemetry = nil
        output.removeAll()
    }

    /// Bytes read from the port at `now`.
    public mutating func receive(_ bytes: some Sequence<UInt8>, now: Int64) {
        guard state != .closed else { return }
        var frames: [FrameDecoder.Output] = []
        decoder.feed(bytes) { frames.append($0) }
        statistics.decoder = decoder.counters
        for result in frames {
            switch result {
            case .frame(let frame): handle(frame, now: now)
            case .error(.unsupportedVersion(let version, _, _)) where state == .handshaking:
                // While handshaking, a frame of another major version is the generator saying
                // which version it speaks: refuse it, naming both (PROTOCOL.md 5). Once the link
                // is up, such a frame is a stray to count and ignore like any other error
                // (PROTOCOL.md 2.1: no error stops or resets the link).
                do throws(IncompatibleVersion) {
                    try ProtocolVersion.current.checkCompatible(withPeer: version)
                } catch {
                    if state != .failed(error.description) {
                        state = .failed(error.description)
                        pending.removeAll()
                        events.append(.incompatible(error))
                    }
                }
            case .error:
                break  // counted by the decoder
            }
        }
    }

    /// Sends a command for the core. RF_OFF is always sent; others are dropped (and counted) when
    /// the link is not ready or `ProtocolLimits.rememberedCommands` are already in flight.
    public mutating func send(_ command: GeneratorCommand, now: Int64) {
        let message: Message =
            switch command {
            case .setPower(let mW, let ms): .setPower(SetPower(powerMilliwatts: mW, validityMilliseconds: ms))
            case .rfOn: .rfOn
            case .rfOff: .rfOff
            case .impedanceCheck(let ms): .impedanceCheck(ImpedanceCheck(durationMilliseconds: ms))
            case .clearFault: .clearFault
            }
        if message.type == .setPower {
            // A newer set point supersedes one still in flight: retrying an old one is pointless.
            pending.removeAll { $0.type == .setPower }
        }
        guard message.type == .rfOff || (state == .ready && pending.count < ProtocolLimits.rememberedCommands) else {
            statistics.commandsDropped += 1
            return
        }
        transmit(message, now: now)
    }

    /// Timers: retries, keepalive, handshake. Call every tick.
    public mutating func poll(now: Int64) {
        closeSecondIfDue(now: now)
        guard state == .ready || state == .handshaking else { return }
        var index = 0
        while index < pending.count {
            if now - pending[index].lastSent >= configuration.commandTimeoutMicroseconds {
                // A HELLO_REQUEST during the handshake goes on for the generator's boot time too.
                let booting =
                    state == .handshaking && pending[index].type == .helloRequest
                    && now - pending[index].firstSent
                        < configuration.bootMicroseconds
                        + configuration.commandTimeoutMicroseconds * Int64(configuration.maxRetries + 1)
                if pending[index].attempts > configuration.maxRetries && !booting {
                    let failed = pending.remove(at: index)
                    statistics.commandsFailed += 1
                    events.append(.commandFailed(failed.type, attempts: failed.attempts))
                    state = .failed("\(failed.type) unanswered after \(failed.attempts) attempts")
                    return
                }
                pending[index].attempts += 1
                pending[index].lastSent = now
                statistics.retries += 1
                output += pending[index].bytes
                lastSent = now
            }
            index += 1
        }
        if state == .ready && now - lastSent >= configuration.keepaliveMicroseconds {
            transmit(.keepalive, now: now)
        }
    }

    /// When `poll` next has something to do: a retry, a keepalive, the end of a statistics
    /// second. The shell need not wake before then unless bytes or commands arrive.
    public var nextDeadline: Int64? {
        var next = secondStart.map { $0 + 1_000_000 }
        func consider(_ time: Int64) { next = min(next ?? time, time) }
        guard state == .ready || state == .handshaking else { return next }
        for command in pending { consider(command.lastSent + configuration.commandTimeoutMicroseconds) }
        if state == .ready { consider(lastSent + configuration.keepaliveMicroseconds) }
        return next
    }

    /// Bytes to write to the port.
    public mutating func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Events since the last call.
    public mutating func takeEvents() -> [Event] {
        defer { events.removeAll() }
        return events
    }

    // MARK: -

    private mutating func closeSecondIfDue(now: Int64) {
        guard let start = secondStart else {
            secondStart = now
            return
        }
        guard now - start >= 1_000_000 else { return }
        let total = statistics
        let base = secondBase
        seconds.append(
            LinkSecond(
                startMicroseconds: start,
                bytes: total.decoder.bytes - base.decoder.bytes,
                frames: total.decoder.frames - base.decoder.frames,
                decodeErrors: total.decoder.errors - base.decoder.errors,
                crcErrors: total.decoder.crcErrors - base.decoder.crcErrors,
                telemetryLost: total.telemetryLost - base.telemetryLost,
                commandsSent: total.commandsSent - base.commandsSent,
                retries: total.retries - base.retries,
                roundTripMaxMicroseconds: secondRoundTripMax
            )
        )
        if seconds.count > configuration.statisticsSeconds { seconds.removeFirst() }
        secondBase = total
        secondRoundTripMax = 0
        // Whole seconds from the first: a late poll does not shift the grid.
        secondStart = start + (now - start) / 1_000_000 * 1_000_000
    }

    private mutating func beginHandshake(now: Int64) {
        state = .handshaking
        handshakeStep = 0
        transmit(.helloRequest, now: now)
    }

    private mutating func transmit(_ message: Message, now: Int64) {
        let sequence = nextSequence
        nextSequence &+= 1
        let bytes = FrameEncoder.encode(Frame(sequence: sequence, message: message))
        output += bytes
        lastSent = now
        statistics.commandsSent += 1
        pending.append(
            Pending(sequence: sequence, type: message.type, bytes: bytes, firstSent: now, lastSent: now, attempts: 1)
        )
    }

    private mutating func handle(_ frame: Frame, now: Int64) {
        switch frame.message {
        case .telemetry(let t):
            if let last = lastTelemetrySequence {
                let gap = frame.sequence &- last &- 1
                // A gap above half the counter is a reordering or a restart, not loss.
                if gap < 0x8000 { statistics.telemetryLost += UInt64(gap) }
            }
            lastTelemetrySequence = frame.sequence
            statistics.telemetryReceived += 1
            telemetry = t
            telemetryReceivedAt = now
        case .ack(let a): complete(a.ackSequence, now: now)
        case .nak(let n):
            let type = MessageType(rawValue: n.ackType)
            if let type { events.append(.refused(type, n.reason)) }
            if state == .handshaking && type == .configure
                && pending.contains(where: { $0.sequence == n.ackSequence && $0.type == .configure })
            {
                // The generator runs on settings other than ours (its reset watchdog of 200 ms, its
                // own telemetry rate): the link is never ready on them, so RF cannot come on.
                // PROTOCOL.md 8: a refused CONFIGURE ends the handshake.
                pending.removeAll()
                state = .failed(
                    "the generator refused CONFIGURE (telemetry \(configuration.telemetryRateHz) Hz, "
                        + "watchdog \(configuration.watchdogMilliseconds) ms): \(n.reason)"
                )
                return
            }
            // A refused CLEAR_FAULT (condition_persists) still completes the handshake: the bits
            // that stay latched are in every telemetry frame, and the core will not start on them.
            complete(n.ackSequence, now: now)
        case .hello(let h):
            complete(h.ackSequence, now: now)
            guard state == .handshaking, handshakeStep == 0 else { return }
            do throws(IncompatibleVersion) {
                try ProtocolVersion.current.checkCompatible(withPeer: frame.version)
            } catch {
                state = .failed(error.description)
                events.append(.incompatible(error))
                return
            }
            guard
                (h.telemetryRateMinHz...max(h.telemetryRateMinHz, h.telemetryRateMaxHz)).contains(
                    configuration.telemetryRateHz
                )
            else {
                // Configuring outside the advertised range would be refused; a slower rate than the
                // host's would starve the stale-telemetry interlock and the tick's phase lock, which
                // are built on it. The reset fault stays latched: the generator refuses RF_ON.
                state = .failed(
                    "the generator offers telemetry at \(h.telemetryRateMinHz)-\(h.telemetryRateMaxHz) Hz; "
                        + "this host needs \(configuration.telemetryRateHz) Hz"
                )
                return
            }
            hello = h
            // Made once here, not in every tick's snapshot.
            generator = GeneratorIdentity(
                model: h.model,
                serialNumber: h.serialNumber,
                firmware: "\(h.firmwareMajor).\(h.firmwareMinor).\(h.firmwarePatch)"
            )
            handshakeStep = 1
            // The host does not know what a generator it has just opened is doing: a daemon
            // restarted mid-lesion, or a cable plugged back mid-check, finds RF on or an impedance
            // check running, and this handshake's HELLO_REQUEST has just restarted the generator's
            // watchdog. RF_OFF first, so that connecting always ends in RF off, and so that
            // CONFIGURE is not refused with rf_active (PROTOCOL.md 5 and 8; the million-seed
            // simulation's seed 757054 found the check running on through a reconnect).
            transmit(.rfOff, now: now)
            transmit(
                .configure(
                    Configure(
                        telemetryRateHz: configuration.telemetryRateHz,
                        watchdogMilliseconds: configuration.watchdogMilliseconds
                    )
                ),
                now: now
            )
            transmit(.clearFault, now: now)
        case .status(let s): complete(s.ackSequence, now: now)
        case .event(let e):
            if e.code == .boot && state != .handshaking {
                events.append(.generatorRebooted)
                pending.removeAll()
                lastTelemetrySequence = nil
                beginHandshake(now: now)
            }
        case .impedanceResult(let r):
            impedanceResult = r
            impedanceResultReceivedAt = now
        case .helloRequest, .keepalive, .configure, .setPower, .rfOn, .rfOff, .impedanceCheck, .clearFault, .getStatus:
            break  // the decoder accepts generator messages only
        }
    }

    private mutating func complete(_ sequence: UInt16, now: Int64) {
        guard let index = pending.firstIndex(where: { $0.sequence == sequence }) else { return }
        let done = pending.remove(at: index)
        statistics.recordRoundTrip(microseconds: now - done.firstSent)
        secondRoundTripMax = max(secondRoundTripMax, now - done.firstSent)
        if state == .handshaking && handshakeStep == 1
            && !pending.contains(where: { $0.type == .rfOff || $0.type == .configure || $0.type == .clearFault })
        {
            state = .ready
            if let hello { events.append(.ready(hello)) }
        }
    }
}

/// The link's settings, each bounded.
public struct LinkConfiguration: Hashable, Sendable {
    /// Telemetry rate asked of the generator.
    public var telemetryRateHz: UInt16 = 100
    /// The generator's watchdog: RF off when the host is silent this long.
    public var watchdogMilliseconds: UInt16 = 100
    /// A command unanswered this long is sent again, microseconds. rfgend sets it from its line's
    /// baud rate (`init(baud:)`, `commandTimeout(baud:)`); 20 ms is for lines with no wire time
    /// to speak of (the simulation's, a pseudo-terminal's).
    public var commandTimeoutMicroseconds: Int64 = 20_000
    /// Retries before the link is considered lost.
    public var maxRetries = 3
    /// How long a generator may take to boot before it answers, microseconds (PROTOCOL.md 5:
    /// at most 1 s). The handshake's HELLO_REQUEST is retried for this long plus the usual
    /// retries before the link counts as lost: a generator that was just powered or reset is
    /// booting, not gone.
    public var bootMicroseconds: Int64 = 1_000_000
    /// With nothing else sent for this long a KEEPALIVE goes out: a quarter of the watchdog.
    public var keepaliveMicroseconds: Int64 = 25_000
    /// Seconds of per-second statistics kept.
    public var statisticsSeconds = 60

    public init() {}

    /// The link's settings for a line at `baud`.
    public init(baud: Int) {
        commandTimeoutMicroseconds = Self.commandTimeout(baud: baud)
    }

    /// Time on the wire of one frame of the largest size (with its delimiters; 10 bits a byte in
    /// 8N1), microseconds.
    public static func frameWireMicroseconds(baud: Int) -> Int64 {
        Int64((Double(ProtocolLimits.maxWireBytes * 10) / Double(baud) * 1e6).rounded(.up))
    }

    /// At most this share of a line's capacity, either way, is planned for its steady traffic:
    /// the rest is for what comes unplanned (a retry, an RF_OFF, an EVENT, an impedance result),
    /// so that the queues at both ends drain between ticks and an RF_OFF waits behind a frame or
    /// two, never behind a queue that grows. At 100 % or more a queue grows without end: a
    /// generator's readings go stale, and a host blocked on a full output buffer checks no frame.
    public static let maxLineLoad = 0.8

    /// Bytes on the wire of a frame with a payload of this size: header, payload and CRC, COBS's
    /// code byte (one for any frame under 254 bytes) and both delimiters, as `FrameEncoder` writes
    /// it (`LinkEngineTests.wireBytes` holds the two together).
    public static func wireBytes(payload: Int) -> Int {
        ProtocolLimits.headerBytes + payload + ProtocolLimits.crcBytes + 1 + 2
    }

    /// The slowest line, baud (8N1: 10 bits a byte), that carries the daemon's steady traffic at
    /// most `maxLineLoad` of its capacity in each direction:
    /// - generator to host: TELEMETRY at `telemetryRateHz` from a generator with the most channels
    ///   (4: 45 bytes of payload, 54 on the wire), and an ACK (12) for each tick's SET_POWER;
    /// - host to generator: a SET_POWER (15) every tick (`TreatmentCore` refreshes the set point
    ///   each tick, PROTOCOL.md 8).
    ///
    /// 100 Hz telemetry with a 100 Hz tick needs 82,500 baud (the ACKs alone are 12,000 bit/s:
    /// 57,600 cannot carry both); with a 1 kHz tick, 217,500 (a SET_POWER a millisecond is
    /// 150,000 bit/s, more than 115,200 carries).
    public static func minimumBaud(telemetryRateHz: Int, tickRateHz: Int) -> Int {
        let telemetry = wireBytes(payload: 33 + 3 * ProtocolLimits.temperatureChannels.upperBound)
        let toHost = telemetry * telemetryRateHz + wireBytes(payload: 3) * tickRateHz
        let toGenerator = wireBytes(payload: 6) * tickRateHz
        return Int((Double(max(toHost, toGenerator) * 10) / maxLineLoad).rounded(.up))
    }

    /// How long to wait for a reply before sending again: the request and a reply may each queue
    /// behind a largest frame already on the wire, plus the generator's 5 ms to answer (PROTOCOL.md
    /// 5); never less than 20 ms. At 115200 baud, 49 ms (a largest frame takes 21.6 ms there, so
    /// the old fixed 20 ms resent requests whose replies were still on their way).
    public static func commandTimeout(baud: Int) -> Int64 {
        max(20_000, 2 * frameWireMicroseconds(baud: baud) + 5_000)
    }
}

/// Counters that explain a field problem. Totals since the link was created.
public struct LinkStatistics: Hashable, Sendable {
    public var decoder = DecoderCounters()
    public var telemetryReceived: UInt64 = 0
    /// Telemetry frames missing from the sequence.
    public var telemetryLost: UInt64 = 0
    public var commandsSent: UInt64 = 0
    public var retries: UInt64 = 0
    public var commandsFailed: UInt64 = 0
    /// Commands not sent: link not ready or too many in flight.
    public var commandsDropped: UInt64 = 0
    /// Command round trips (send to reply), microseconds.
    public private(set) var roundTripCount: UInt64 = 0
    public private(set) var roundTripMaxMicroseconds: Int64 = 0
    public private(set) var roundTripTotalMicroseconds: Int64 = 0

    public init() {}

    mutating func recordRoundTrip(microseconds: Int64) {
        roundTripCount += 1
        roundTripTotalMicroseconds += microseconds
        roundTripMaxMicroseconds = max(roundTripMaxMicroseconds, microseconds)
    }
}

/// One second of the link, as differences of the totals.
public struct LinkSecond: Hashable, Sendable, CustomStringConvertible {
    public var startMicroseconds: Int64
    public var bytes: UInt64
    public var frames: UInt64
    public var decodeErrors: UInt64
    public var crcErrors: UInt64
    public var telemetryLost: UInt64
    public var commandsSent: UInt64
    public var retries: UInt64
    /// The slowest command round trip completed in this second, microseconds.
    public var roundTripMaxMicroseconds: Int64

    public var description: String {
        "bytes=\(bytes) frames=\(frames) decode_errors=\(decodeErrors) crc_errors=\(crcErrors) "
            + "telemetry_lost=\(telemetryLost) commands=\(commandsSent) retries=\(retries) rtt_max_us=\(roundTripMaxMicroseconds)"
    }
}
