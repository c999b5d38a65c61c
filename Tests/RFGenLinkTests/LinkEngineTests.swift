import RFGenCore
import RFGenLink
import RFGenProtocol
import RFGenSimulator
import Testing

/// The link engine against the simulated generator in virtual time; bytes pass through `wire`,
/// which tests can cut or corrupt.
struct LinkBench {
    var generator = SimulatedGenerator()
    var link = LinkEngine()
    var events: [LinkEngine.Event] = []
    /// Host-to-generator bytes are lost while this is true.
    var dropOutgoing = false
    var now: Int64 { generator.now }

    /// - Parameter openAt: when the host opens the port, µs; by default after the generator's boot.
    init(openAt: Int64 = 400_000, generator: SimulatedGenerator = SimulatedGenerator(), link: LinkEngine = LinkEngine())
    {
        self.generator = generator
        self.link = link
        self.generator.advance(to: openAt)
        _ = self.generator.takeOutput()
        self.link.opened(now: now)
    }

    /// Moves 1 ms at a time: bytes both ways, timers.
    mutating func run(milliseconds: Int) {
        for _ in 0..<milliseconds {
            let out = link.takeOutput()
            if !dropOutgoing && !out.isEmpty { generator.receive(out, at: now) }
            generator.advance(to: now + 1000)
            link.receive(generator.takeOutput(), now: now)
            link.poll(now: now)
            events += link.takeEvents()
        }
    }
}

struct LinkEngineTests {
    @Test(
        "A link state's API name is what the API has always shown: the case, and a failure's quoted reason",
        arguments: [LinkEngine.State.closed, .handshaking, .ready, .failed("no \"HELLO\" in 2 s")]
    )
    func stateName(state: LinkEngine.State) {
        #expect(state.name == "\(state)")
    }

    @Test(
        "The handshake reads HELLO, switches RF off, configures the watchdog and clears the reset fault, then reports ready"
    )
    func handshake() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        #expect(bench.link.state == .ready)
        #expect(bench.link.snapshot.connected)
        #expect(bench.link.snapshot.generatorMaxPowerWatts == 20)
        #expect(bench.events.first.map { if case .ready = $0 { true } else { false } } == true)
        let commands = bench.generator.recorder.commands.map(\.frame.message.type)
        #expect(Array(commands.prefix(4)) == [.helloRequest, .rfOff, .configure, .clearFault])
        bench.run(milliseconds: 50)
        #expect(bench.link.snapshot.telemetry?.faults.isEmpty == true)
        #expect(!commands.contains(.rfOn), "connecting never switches RF on")
    }

    @Test(
        "A host that opens the port on a generator with RF on (a daemon restarted mid-lesion) switches it off in its handshake and comes up"
    )
    func handshakeFindsRFOn() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.link.send(.setPower(milliwatts: 5000, validityMilliseconds: 1000), now: bench.now)
        bench.link.send(.rfOn, now: bench.now)
        bench.run(milliseconds: 20)
        #expect(bench.generator.rfState == .on)
        // A new host, as after a restart: it knows nothing of the old one's lesion.
        bench.link = LinkEngine()
        bench.link.opened(now: bench.now)
        let openedAt = bench.now
        bench.run(milliseconds: 50)
        #expect(bench.generator.rfState == .off)
        let off = bench.generator.recorder.edges.last
        #expect(off?.on == false)
        #expect(off?.cause == .command(.rfOff), "the handshake's RF_OFF, not the set point's lapse (1 s away)")
        #expect(off.map { $0.microseconds - openedAt <= 10_000 } == true, "within the handshake's first round trips")
        #expect(bench.link.state == .ready, "CONFIGURE is not refused with rf_active")
    }

    @Test("The line's planned traffic counts each frame's bytes as the encoder writes them")
    func wireBytes() {
        let telemetry = Telemetry(
            timestampMicroseconds: .max,
            rfState: .on,
            faults: [],
            setPointMilliwatts: .max,
            powerMilliwatts: .max,
            voltageMillivolts: .max,
            currentMilliamps: .max,
            impedanceDeciohms: .max,
            impedanceValid: true,
            temperatures: TemperatureReadings(
                repeatElement(TemperatureReading(centiCelsius: 8500, status: .ok), count: 4)
            )
        )
        let frames: [(message: Message, payload: Int)] = [
            (.telemetry(telemetry), 45),
            (.ack(Ack(ackSequence: 0xFFFF, ackType: 0x04)), 3),
            (.setPower(SetPower(powerMilliwatts: 20_000, validityMilliseconds: 30)), 6),
        ]
        for (message, payload) in frames {
            let encoded = FrameEncoder.encode(Frame(sequence: 0xFFFF, message: message))
            #expect(LinkConfiguration.wireBytes(payload: payload) == encoded.count, "\(message.type)")
        }
    }

    @Test(
        "The slowest line the daemon accepts carries its traffic at most 80 % loaded: 115200 up to a 300 Hz tick, 230400 at 1 kHz, never 57600",
        arguments: [(10, 115_200), (100, 115_200), (300, 115_200), (320, 230_400), (1000, 230_400)]
    )
    func minimumBaud(tickRateHz: Int, slowestStandard: Int) {
        let needed = LinkConfiguration.minimumBaud(telemetryRateHz: 100, tickRateHz: tickRateHz)
        let standard = [57_600, 115_200, 230_400, 460_800, 921_600].first { $0 >= needed }
        #expect(standard == slowestStandard, "\(tickRateHz) Hz needs \(needed) baud")
        // Each direction's bytes a second, at the slowest standard rate: within 80 %.
        let capacity = Double(slowestStandard) / 10 * LinkConfiguration.maxLineLoad
        let toHost = 54 * 100 + 12 * tickRateHz
        let toGenerator = 15 * tickRateHz
        #expect(Double(toHost) <= capacity && Double(toGenerator) <= capacity)
    }

    @Test("Keepalives hold the generator's watchdog off while the host has nothing else to say")
    func keepalive() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.link.send(.setPower(milliwatts: 1000, validityMilliseconds: 1000), now: bench.now)
        bench.link.send(.rfOn, now: bench.now)
        for _ in 0..<10 {
            bench.run(milliseconds: 100)
            bench.link.send(.setPower(milliwatts: 1000, validityMilliseconds: 1000), now: bench.now)
        }
        #expect(bench.generator.rfState == .on, "a second with only keepalives and slow set points: still on")
        #expect(bench.generator.recorder.commands.contains { $0.frame.message.type == .keepalive })
    }

    @Test("The next deadline is the earliest of a retry, a keepalive and the statistics second")
    func nextDeadline() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        let keepalive = LinkConfiguration().keepaliveMicroseconds
        let timeout = LinkConfiguration().commandTimeoutMicroseconds
        // Idle and ready: the keepalive is what falls due.
        let idle = bench.link.nextDeadline ?? 0
        #expect(idle > bench.now && idle <= bench.now + keepalive)
        // A command in flight: its retry, sooner than the keepalive.
        bench.dropOutgoing = true
        bench.link.send(.clearFault, now: bench.now)
        #expect(bench.link.nextDeadline == bench.now + timeout)
        // Polling a little early does nothing; at the deadline the retry goes out.
        let due = bench.now + timeout
        bench.link.poll(now: due - 1)
        #expect(bench.link.statistics.retries == 0)
        bench.link.poll(now: due)
        #expect(bench.link.statistics.retries == 1)
        #expect(bench.link.nextDeadline == due + timeout)
    }

    @Test("A lost command is sent again with the same sequence number and answered once")
    func retry() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.dropOutgoing = true
        bench.link.send(.clearFault, now: bench.now)
        bench.run(milliseconds: 5)  // the first copy is lost
        bench.dropOutgoing = false
        bench.run(milliseconds: 40)
        #expect(bench.link.statistics.retries >= 1)
        let clears = bench.generator.recorder.commands.filter { $0.frame.message.type == .clearFault }
        #expect(clears.count == 2, "the handshake's and the retried one")
        #expect(bench.link.state == .ready)
    }

    @Test("Unanswered commands fail the link after the retries; RF_OFF still goes out")
    func commandFailure() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.generator.inject(.disconnected(true))
        bench.link.send(.clearFault, now: bench.now)
        bench.run(milliseconds: 200)
        #expect(bench.link.state == .failed("CLEAR_FAULT unanswered after 4 attempts"))
        #expect(!bench.link.snapshot.connected)
        #expect(bench.events.contains(.commandFailed(.clearFault, attempts: 4)))
        bench.link.send(.rfOff, now: bench.now)
        #expect(!bench.link.takeOutput().isEmpty, "RF_OFF is written even on a failed link")
    }

    @Test("Lost telemetry is counted from sequence gaps")
    func lostTelemetry() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.generator.inject(.bitErrors(probability: 0.01))
        bench.run(milliseconds: 2000)
        let stats = bench.link.statistics
        #expect(stats.telemetryLost > 0)
        #expect(stats.decoder.errors > 0)
        #expect(stats.telemetryReceived + stats.telemetryLost >= 195)
    }

    @Test("A generator reboot takes the link through a new handshake, and RF stays off")
    func reboot() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.link.send(.setPower(milliwatts: 2000, validityMilliseconds: 1000), now: bench.now)
        bench.link.send(.rfOn, now: bench.now)
        bench.run(milliseconds: 20)
        bench.generator.inject(.reboot)
        bench.run(milliseconds: 200)
        #expect(!bench.link.snapshot.connected, "booting: the link is down")
        bench.run(milliseconds: 300)
        #expect(bench.events.contains(.generatorRebooted))
        #expect(bench.link.state == .ready)
        #expect(bench.generator.rfState == .off)
        #expect(bench.generator.recorder.commands.filter { $0.frame.message.type == .rfOn }.count == 1)
    }

    @Test("A generator of another major version is refused, naming both versions")
    func incompatible() {
        var link = LinkEngine()
        link.opened(now: 0)
        _ = link.takeOutput()
        var bytes: [UInt8] = []
        FrameEncoder.encode(
            versionByte: 0x21,
            typeByte: 0x82,
            sequence: 0,
            payload: [UInt8](repeating: 0, count: 40),
            into: &bytes
        )
        link.receive(bytes, now: 1000)
        #expect(link.state == .failed("generator speaks protocol 2.1; this host speaks 1.x"))
        #expect(!link.snapshot.connected)
        #expect(link.takeEvents().count == 1)
    }

    @Test("Opened while the generator boots (300 ms), the handshake waits for it: ready without a lost link")
    func handshakeDuringBoot() {
        var bench = LinkBench(openAt: 0)
        bench.run(milliseconds: 700)
        #expect(bench.link.state == .ready, "\(bench.link.state)")
        #expect(!bench.events.contains { if case .commandFailed = $0 { true } else { false } }, "\(bench.events)")
    }

    @Test("Reply timeouts follow from the baud rate: twice a largest frame's wire time and 5 ms, at least 20 ms")
    func timeoutFromBaud() {
        #expect(LinkConfiguration.frameWireMicroseconds(baud: 115_200) == 21_615)
        #expect(LinkConfiguration.commandTimeout(baud: 115_200) == 48_230)
        #expect(LinkConfiguration.commandTimeout(baud: 921_600) == 20_000)
        #expect(LinkConfiguration.commandTimeout(baud: 9600) > 500_000)
    }

    @Test("Once the link is up, a stray frame of another major version is counted and ignored: the link stays up")
    func strayVersionFrame() {
        var bench = LinkBench()
        bench.run(milliseconds: 100)
        #expect(bench.link.state == .ready)
        // The spec's own vector (protocol/vectors/malformed.txt, unsupported_version): a 2.1 frame.
        let stray: [UInt8] = [0x00, 0x04, 0x21, 0x80, 0x03, 0x02, 0x01, 0x04, 0x02, 0xD9, 0x0A, 0x00]
        bench.link.receive(stray, now: bench.now)
        bench.run(milliseconds: 100)
        #expect(bench.link.state == .ready, "\(bench.link.state)")
        #expect(bench.link.snapshot.connected)
        #expect(bench.link.statistics.decoder.versionErrors == 1)
        #expect(!bench.events.contains { if case .incompatible = $0 { true } else { false } })
    }

    @Test("A generator whose telemetry range excludes the rate the host needs is never made ready")
    func telemetryRangeExcludesRate() {
        var bench = LinkBench(
            generator: SimulatedGenerator(
                configuration: { () -> GeneratorConfiguration in
                    var c = GeneratorConfiguration()
                    c.telemetryRateRangeHz = 1...50
                    return c
                }()
            )
        )
        bench.run(milliseconds: 500)
        #expect(bench.link.state == .failed("the generator offers telemetry at 1-50 Hz; this host needs 100 Hz"))
        #expect(!bench.link.snapshot.connected)
        let sent = bench.generator.recorder.commands.map(\.frame.message.type)
        #expect(!sent.contains(.configure), "nothing is configured outside what the generator advertises")
        #expect(!sent.contains(.clearFault), "the reset fault stays latched: RF_ON would be refused")
    }

    @Test("A refused CONFIGURE fails the handshake: the link is never ready on settings it did not get")
    func refusedConfigure() {
        var configuration = LinkConfiguration()
        configuration.watchdogMilliseconds = 40  // below the spec's 50 ms: NAK out_of_range
        var bench = LinkBench(link: LinkEngine(configuration: configuration))
        bench.run(milliseconds: 500)
        #expect(bench.events.contains(.refused(.configure, .outOfRange)))
        #expect(
            bench.link.state
                == .failed("the generator refused CONFIGURE (telemetry 100 Hz, watchdog 40 ms): out_of_range")
        )
        #expect(!bench.link.snapshot.connected)
        #expect(!bench.events.contains { if case .ready = $0 { true } else { false } })
        bench.link.send(.setPower(milliwatts: 1000, validityMilliseconds: 100), now: bench.now)
        bench.link.send(.rfOn, now: bench.now)
        bench.run(milliseconds: 50)
        #expect(bench.generator.rfState == .off)
        #expect(!bench.generator.recorder.commands.contains { $0.frame.message.type == .rfOn })
    }

    @Test("Statistics are kept per second, bounded, and add up to the totals")
    func perSecond() {
        var bench = LinkBench()
        bench.run(milliseconds: 50)
        bench.generator.inject(.bitErrors(probability: 0.005))
        bench.run(milliseconds: 70_000)
        let seconds = bench.link.seconds
        #expect(seconds.count == bench.link.configuration.statisticsSeconds)
        // 100 telemetry frames and about 40 keepalive ACKs a second.
        #expect(seconds.allSatisfy { (120...160).contains($0.frames + $0.decodeErrors) }, "\(seconds.map(\.frames))")
        #expect(
            zip(seconds, seconds.dropFirst()).allSatisfy { $1.startMicroseconds - $0.startMicroseconds == 1_000_000 }
        )
        #expect(seconds.reduce(0) { $0 + $1.telemetryLost } <= bench.link.statistics.telemetryLost)
        #expect(seconds.contains { $0.crcErrors > 0 })
        // A lost reply costs a 20 ms retry; four attempts at most.
        #expect(seconds.allSatisfy { $0.roundTripMaxMicroseconds < 100_000 })
    }
}
