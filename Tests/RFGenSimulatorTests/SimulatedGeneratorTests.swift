import RFGenProtocol
import RFGenSimulator
import Testing

struct SimulatedGeneratorTests {
    @Test("After power-on the generator is silent while booting, then sends BOOT and telemetry at 100 Hz")
    func bootAndTelemetry() {
        var host = HostHarness()
        host.run(299_000)
        #expect(host.received.isEmpty)
        host.run(1_001_000)  // to 1.3 s: one second of telemetry
        guard case .event(let boot) = host.received.first?.frame.message else {
            Issue.record("first frame is not an event: \(String(describing: host.received.first))")
            return
        }
        #expect(boot.code == .boot)
        #expect(boot.faults == .reset)
        let telemetry = host.telemetry
        #expect(telemetry.count == 101)
        #expect(telemetry.first?.timestampMicroseconds == 300_000)
        #expect(
            zip(telemetry, telemetry.dropFirst()).allSatisfy {
                $1.timestampMicroseconds - $0.timestampMicroseconds == 10_000
            }
        )
        let sequences = host.received.filter { $0.frame.message.type == .telemetry }.map(\.frame.sequence)
        #expect(sequences == Array(0..<UInt16(sequences.count)), "telemetry counts from 0 with no gap")
        #expect(telemetry.allSatisfy { $0.rfState == .off && $0.faults == .reset && $0.temperatures.count == 2 })
        #expect(telemetry.allSatisfy { abs(Double($0.temperatures[0].centiCelsius) / 100 - 37) < 0.5 })
    }

    @Test("HELLO_REQUEST is answered with the configured identity and capabilities")
    func handshake() {
        var config = GeneratorConfiguration()
        config.serialNumber = "SN-4711"
        var host = HostHarness(configuration: config)
        host.boot()
        let sequence = host.send(.helloRequest)
        guard case .hello(let hello) = host.reply(to: sequence) else {
            Issue.record("no HELLO")
            return
        }
        #expect(hello.serialNumber == "SN-4711")
        #expect(hello.maxPowerMilliwatts == config.maxPowerMilliwatts)
        #expect(hello.temperatureChannels == 2)
        #expect(host.received.last?.frame.version == .current)
    }

    @Test("Watchdog: with RF on and the host silent, RF goes off exactly at the timeout")
    func watchdogTripsWhenHostSilent() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 100)
        host.send(.setPower(SetPower(powerMilliwatts: 5000, validityMilliseconds: 1000)))
        let rfOn = host.send(.rfOn)
        #expect(host.reply(to: rfOn)?.isAck == true)
        let lastFrame = host.now
        host.run(500_000)
        let edges = host.edges
        #expect(edges.count == 2)
        #expect(edges.last == Recorder.Edge(microseconds: lastFrame + 100_000, on: false, cause: .fault(.watchdog)))
        #expect(host.events.contains { $0.code == .fault && $0.detail == FaultBits.watchdog.rawValue })
        #expect(host.telemetry.last?.rfState == .off)
        #expect(host.telemetry.last?.powerMilliwatts == 0)
        #expect(host.telemetry.last?.faults.contains(.watchdog) == true)
    }

    @Test("Watchdog: any valid frame in time keeps RF on; frames with a bad CRC do not count")
    func watchdogFedByValidFramesOnly() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 100)
        host.switchOn(milliwatts: 3000)
        for _ in 0..<40 {  // 2 s of SET_POWER every 50 ms
            host.run(50_000)
            host.send(.setPower(SetPower(powerMilliwatts: 3000, validityMilliseconds: 1000)))
        }
        #expect(host.generator.rfState == .on)
        let lastValid = host.now
        var corrupted = FrameEncoder.encode(Frame(sequence: 999, message: .keepalive))
        corrupted[4] ^= 0x01
        for _ in 0..<10 {
            host.run(20_000)
            host.sendRaw(corrupted)
        }
        #expect(host.generator.rfState == .off)
        #expect(
            host.edges.last == Recorder.Edge(microseconds: lastValid + 100_000, on: false, cause: .fault(.watchdog))
        )
        #expect(host.generator.decoderCounters.crcErrors == 10)
    }

    @Test("Set-point validity: RF goes off when the set point lapses, although the host keeps talking")
    func setPointExpiry() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 200)
        host.send(.setPower(SetPower(powerMilliwatts: 4000, validityMilliseconds: 150)))
        let setAt = host.now
        host.send(.rfOn)
        for _ in 0..<10 {
            host.run(40_000)
            host.send(.keepalive)
        }
        #expect(
            host.edges.last == Recorder.Edge(microseconds: setAt + 150_000, on: false, cause: .fault(.setPointExpired))
        )
        #expect(host.generator.faults.contains(.setPointExpired))
        #expect(!host.generator.faults.contains(.watchdog))
    }

    @Test("A set point refreshed in time keeps RF on; with RF off a lapse is no fault")
    func setPointRefreshed() {
        var host = HostHarness()
        host.ready()
        host.send(.setPower(SetPower(powerMilliwatts: 4000, validityMilliseconds: 50)))
        host.send(.rfOn)
        for _ in 0..<300 {
            host.run(10_000)
            host.send(.setPower(SetPower(powerMilliwatts: 4000, validityMilliseconds: 50)))
        }
        #expect(host.generator.rfState == .on)
        #expect(host.generator.faults.isEmpty)
        host.send(.rfOff)
        host.run(100_000)
        #expect(host.generator.faults.isEmpty)
        #expect(host.edges.map(\.on) == [true, false])
    }

    @Test("RF_ON is refused after reset, without a set point, and while a check runs")
    func rfOnRefusals() {
        var host = HostHarness()
        host.boot()
        host.send(.setPower(SetPower(powerMilliwatts: 1000, validityMilliseconds: 1000)))
        #expect(host.command(.rfOn)?.nakReason == .faultActive)
        host.send(.clearFault)
        host.run(1_001_000)
        #expect(host.command(.rfOn)?.nakReason == .noSetPoint)
        host.send(.impedanceCheck(ImpedanceCheck(durationMilliseconds: 100)))
        host.send(.setPower(SetPower(powerMilliwatts: 1000, validityMilliseconds: 1000)))
        #expect(host.command(.rfOn)?.nakReason == .busy)
        #expect(host.edges.allSatisfy { $0.cause == .impedanceCheck })
    }

    @Test("Host bytes found waiting after the shell overslept a set point's expiry are taken before it")
    func bytesWaitingThroughAStall() {
        // The host refreshes a 30 ms set point every 10 ms; the shell is then off the CPU for
        // 35 ms, past the expiry, while two refreshes wait for it, and finds them at the end.
        func scenario(_ take: (inout HostHarness, [UInt8], Int64) -> Void) -> HostHarness {
            var host = HostHarness()
            host.ready(watchdogMilliseconds: 1000)
            host.switchOn(milliwatts: 2000)
            for _ in 0..<10 {
                host.run(10_000)
                host.send(.setPower(SetPower(powerMilliwatts: 2000, validityMilliseconds: 30)))
            }
            let stallEnd = host.now + 35_000
            var waiting: [UInt8] = []
            for _ in 0..<2 {
                waiting += FrameEncoder.encode(
                    Frame(
                        sequence: host.nextSequence,
                        message: .setPower(SetPower(powerMilliwatts: 2000, validityMilliseconds: 30))
                    )
                )
                host.nextSequence &+= 1
            }
            take(&host, waiting, stallEnd)
            host.run(10_000)
            return host
        }
        let lenient = scenario { host, bytes, stallEnd in
            let takenAt = host.generator.receiveWaiting(bytes, foundAt: stallEnd)
            #expect(takenAt < stallEnd, "taken before the expiry that fell in the stall")
            host.collect()
        }
        #expect(lenient.generator.rfState == .on, "\(lenient.generator.faults)")
        #expect(lenient.generator.faults.isEmpty)
        // Taken only when found, as rfgen-sim did, the refresh comes after the expiry.
        let strict = scenario { host, bytes, stallEnd in
            host.generator.receive(bytes, at: stallEnd)
            host.collect()
        }
        #expect(strict.generator.faults.contains(.setPointExpired), "the stall alone expires the set point")
        // On time, bytes are taken as they are found.
        var onTime = HostHarness()
        onTime.boot()
        let found = onTime.now + 3_000
        #expect(
            onTime.generator.receiveWaiting(
                FrameEncoder.encode(Frame(sequence: 1, message: .keepalive)),
                foundAt: found
            ) == found
        )
    }

    @Test("A retried SET_POWER gets the same reply and does not extend the set point's validity")
    func retriesAreIdempotent() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        let command = FrameEncoder.encode(
            Frame(sequence: 500, message: .setPower(SetPower(powerMilliwatts: 2000, validityMilliseconds: 300)))
        )
        let firstReplies = host.received.count
        host.sendRaw(command)
        let setAt = host.now
        host.send(.rfOn)  // a newer command in between: the generator remembers more than the last one
        host.run(200_000)
        host.sendRaw(command)  // the host never saw the ACK and retries
        let replies = host.received.suffix(from: firstReplies).filter {
            if case .ack(let ack) = $0.frame.message { ack.ackSequence == 500 } else { false }
        }
        #expect(replies.count == 2)
        #expect(replies.allSatisfy { $0.frame.message == .ack(Ack(ackSequence: 500, ackType: 0x04)) })
        // The same message in a new frame: the generator's own counter moves on (PROTOCOL.md 4).
        #expect(Set(replies.map(\.frame.sequence)).count == 2, "a repeated reply is a new frame")
        host.run(200_000)
        #expect(host.edges.last?.microseconds == setAt + 300_000, "the retry did not refresh the validity")
    }

    @Test("RF_OFF is obeyed when malformed and when it repeats a sequence number")
    func rfOffAlwaysObeyed() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.switchOn(milliwatts: 2000)
        // RF_OFF with a stray payload byte, hand-built as a buggy host would.
        var bytes: [UInt8] = []
        FrameEncoder.encode(versionByte: 0x10, typeByte: 0x06, sequence: 0x40, payload: [0x01], into: &bytes)
        host.sendRaw(bytes)
        #expect(host.generator.rfState == .off)
        #expect(host.reply(to: 0x40)?.nakReason == .malformed)

        // RF_OFF with seq 7 executed; RF back on with seq 8... then a retry of seq 7 is obeyed again.
        let off = FrameEncoder.encode(Frame(sequence: 7, message: .rfOff))
        host.sendRaw(off)
        host.send(.setPower(SetPower(powerMilliwatts: 2000, validityMilliseconds: 1000)))
        let sequenceBefore = host.nextSequence
        host.nextSequence = 7
        host.sendRaw(FrameEncoder.encode(Frame(sequence: 7, message: .rfOn)))  // same seq, other type: a new command
        host.nextSequence = sequenceBefore
        #expect(host.generator.rfState == .on)
        host.sendRaw(FrameEncoder.encode(Frame(sequence: 7, message: .rfOn)))
        host.sendRaw(off)
        #expect(host.generator.rfState == .off)
    }

    @Test("Unknown types and foreign major versions are NAKed; they do not feed the watchdog")
    func unknownAndForeign() {
        var host = HostHarness()
        host.boot()
        var bytes: [UInt8] = []
        FrameEncoder.encode(versionByte: 0x10, typeByte: 0x42, sequence: 9, payload: [UInt8](), into: &bytes)
        host.sendRaw(bytes)
        #expect(host.reply(to: 9) == .nak(Nak(ackSequence: 9, ackType: 0x42, reason: .unknownType)))
        host.sendRaw(
            FrameEncoder.encode(Frame(version: ProtocolVersion(major: 2, minor: 0), sequence: 10, message: .keepalive))
        )
        #expect(host.reply(to: 10)?.nakReason == .unsupportedVersion)
        #expect(host.generator.recorder.commands.isEmpty)
        #expect(host.generator.recorder.rejected.count == 2)
    }

    @Test("After a reset, a generator whose range excludes 100 Hz sends telemetry at the nearest rate it has")
    func resetRateWithinRange() {
        var config = GeneratorConfiguration()
        config.telemetryRateRangeHz = 1...50
        var host = HostHarness(configuration: config)
        host.run(1_300_000)
        let times = host.telemetry.map(\.timestampMicroseconds)
        #expect(times.count == 51, "\(times.count) frames in a second")
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 20_000 }, "50 Hz")
    }

    @Test("CLEAR_FAULT with nothing latched is ACKed with no event; an event a command causes precedes its reply")
    func clearFaultOrdering() {
        var host = HostHarness()
        host.boot()
        let first = host.received.count
        let clear = host.send(.clearFault)
        let after = host.received.suffix(from: first).filter { $0.frame.message.type != .telemetry }.map(
            \.frame.message
        )
        #expect(after.count == 2, "\(after)")
        if case .event(let event) = after.first {
            #expect(event.code == .faultsCleared)
        } else {
            Issue.record("the EVENT faults_cleared is not first: \(after)")
        }
        #expect(after.last == .ack(Ack(ackSequence: clear, ackType: 0x08)))
        let again = host.received.count
        let second = host.send(.clearFault)
        let replies = host.received.suffix(from: again).filter { $0.frame.message.type != .telemetry }.map(
            \.frame.message
        )
        #expect(replies == [.ack(Ack(ackSequence: second, ackType: 0x08))], "nothing latched: only the ACK")
    }

    @Test("RF_ON at a 0 mW set point is accepted: RF on, no power, no impedance fault")
    func rfOnAtZero() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        #expect(host.command(.setPower(SetPower(powerMilliwatts: 0, validityMilliseconds: 1000)))?.isAck == true)
        #expect(host.command(.rfOn)?.isAck == true)
        host.run(100_000)
        #expect(host.generator.rfState == .on)
        #expect(host.lastTelemetry?.powerMilliwatts == 0)
        #expect(host.lastTelemetry?.impedanceValid == false, "no current, no impedance")
        #expect(host.lastTelemetry?.faults.isEmpty == true)
    }

    @Test("The hardware power limit: no set point above it, and over-power trips RF off")
    func hardwarePowerLimit() {
        var config = GeneratorConfiguration()
        config.maxVoltageMillivolts = 250_000  // enough voltage for the limit into bone's impedance
        var host = HostHarness(configuration: config)
        host.ready(watchdogMilliseconds: 1000)
        let limit = host.generator.configuration.maxPowerMilliwatts
        #expect(
            host.command(.setPower(SetPower(powerMilliwatts: limit + 1, validityMilliseconds: 100)))?.nakReason
                == .outOfRange
        )
        host.generator.inject(.powerMismatch(factor: 1.2))
        host.send(.setPower(SetPower(powerMilliwatts: limit, validityMilliseconds: 1000)))
        host.send(.rfOn)
        host.run(20_000)
        #expect(host.generator.faults.contains(.overPower))
        #expect(host.generator.rfState == .off)
        #expect(host.edges.last?.cause == .fault(.overPower))
    }

    @Test("A delivered power that differs from the set point is visible in telemetry")
    func powerMismatchVisible() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.generator.inject(.powerMismatch(factor: 1.5))
        host.switchOn(milliwatts: 2000)
        host.run(50_000)
        let last = host.telemetry.last!
        #expect(last.setPointMilliwatts == 2000)
        #expect(abs(Int(last.powerMilliwatts) - 3000) <= 5)
        #expect(last.impedanceValid)
        let ohms = Double(last.impedanceDeciohms) / 10
        let volts = Double(last.voltageMillivolts) / 1000
        #expect(abs(volts * volts / ohms - 3) < 0.05, "V²/Z matches the reported power")
    }

    @Test("An open thermocouple latches temp_sensor, RF off, and CLEAR_FAULT is refused while it lasts")
    func thermocoupleOpen() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.switchOn(milliwatts: 3000)
        host.run(100_000)
        host.generator.inject(.thermocouple(channel: 0, .open))
        let injected = host.now
        host.run(20_000)
        #expect(host.edges.last?.cause == .fault(.temperatureSensor))
        #expect(host.edges.last!.microseconds - injected <= 10_000, "within one physics step")
        #expect(host.telemetry.last?.temperatures[0].status == .open)
        #expect(host.command(.clearFault)?.nakReason == .conditionPersists)
        host.generator.inject(.thermocouple(channel: 0, nil))
        host.run(20_000)
        #expect(host.command(.clearFault)?.isAck == true)
        #expect(host.generator.faults.isEmpty)
    }

    @Test("A shorted thermocouple reads body temperature with status ok while the tissue heats")
    func thermocoupleShortIsSilent() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.generator.inject(.thermocouple(channel: 0, .shorted))
        for _ in 0..<300 {  // 30 s at 2.5 W
            host.send(.setPower(SetPower(powerMilliwatts: 2500, validityMilliseconds: 1000)))
            if host.generator.rfState == .off { host.send(.rfOn) }
            host.run(100_000, step: 10_000)
        }
        let reading = host.telemetry.last!.temperatures[0]
        #expect(reading.status == .ok)
        #expect(abs(Double(reading.centiCelsius) / 100 - 37) < 0.5)
        #expect(host.generator.tipTemperature > 70, "the truth the sensor hides")
        #expect(host.generator.faults.isEmpty, "the generator cannot see it: the host's plausibility check must")
    }

    @Test("A drifting or stuck thermocouple departs from the tissue temperature")
    func thermocoupleDriftAndStuck() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.generator.inject(.thermocouple(channel: 0, .drifting(celsiusPerSecond: -1)))
        host.generator.inject(.thermocouple(channel: 1, .stuck))
        host.switchOn(milliwatts: 4000)
        for _ in 0..<10 {
            host.run(100_000, step: 10_000)
            host.send(.setPower(SetPower(powerMilliwatts: 4000, validityMilliseconds: 1000)))
        }
        let samples = host.generator.samples
        let junction = host.generator.thermocouples[0].junctionTemperature
        #expect(abs(samples[0].celsius - (junction - 1)) < 0.3, "one second at -1 °C/s")
        #expect(abs(samples[1].celsius - 37) < 0.3, "stuck at its value when the fault began")
        #expect(host.generator.tipTemperature > 39)
    }

    @Test("An offset shows in the very next telemetry frame, below the generator's own cut-off; counters follow")
    func thermocoupleOffsetStepsAtOnce() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.run(50_000, step: 10_000)
        let before = host.telemetry.count
        let sent = host.generator.telemetryFramesSent
        #expect(sent >= before && before > 0)
        host.generator.inject(.thermocouple(channel: 0, .offset(celsius: 60)))
        host.run(10_000, step: 10_000)
        let next = host.telemetry[before...].first
        let reading = Double(next?.temperatures[0].centiCelsius ?? 0) / 100
        #expect(abs(reading - 97) < 0.5, "37 °C tissue read 60 °C high in the first frame after the step")
        #expect(next?.temperatures[0].status == .ok && next?.faults.isEmpty == true, "the generator sees nothing wrong")
        #expect(host.generator.telemetryFramesSent == sent + (host.telemetry.count - before))
        let offs = host.generator.rfOffFramesReceived
        host.send(.rfOff)
        host.send(.rfOff)
        #expect(host.generator.rfOffFramesReceived == offs + 2)
    }

    @Test("Impedance check: a result near the tissue's load; an open circuit is out of range; RF on refuses it")
    func impedanceCheck() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)  // the watchdog also guards a running check
        let check = host.send(.impedanceCheck(ImpedanceCheck(durationMilliseconds: 200)))
        #expect(host.reply(to: check)?.isAck == true)
        #expect(host.generator.rfState == .impedanceCheck)
        host.run(250_000)
        let results = host.received.compactMap { if case .impedanceResult(let r) = $0.frame.message { r } else { nil } }
        #expect(results.count == 1)
        #expect(results.first?.outcome == .ok)
        let expected = host.generator.tissue.loadResistance * 10
        #expect(abs(Double(results.first?.impedanceDeciohms ?? 0) - expected) < expected * 0.01)
        #expect(host.edges.map(\.on) == [true, false])

        host.generator.inject(.impedance(.open))
        host.send(.impedanceCheck(ImpedanceCheck(durationMilliseconds: 50)))
        host.run(60_000)
        #expect(
            host.received.last { $0.frame.message.type == .impedanceResult }?.frame.message
                == .impedanceResult(
                    ImpedanceResult(ackSequence: host.nextSequence - 1, outcome: .outOfRange, impedanceDeciohms: 0)
                )
        )

        host.generator.inject(.impedance(nil))
        host.switchOn(milliwatts: 1000)
        #expect(host.command(.impedanceCheck(ImpedanceCheck(durationMilliseconds: 50)))?.nakReason == .rfActive)
    }

    @Test("Impedance short or open with RF on trips the impedance fault")
    func impedanceFaults() {
        for fault in [ImpedanceFault.short, .open] {
            var host = HostHarness()
            host.ready(watchdogMilliseconds: 1000)
            host.switchOn(milliwatts: 3000)
            host.run(50_000)
            host.generator.inject(.impedance(fault))
            host.run(20_000)
            #expect(host.generator.faults == .impedance, "\(fault)")
            #expect(host.edges.last?.cause == .fault(.impedance))
        }
    }

    @Test("Reboot mid-lesion: RF off at once, silence, BOOT, counters from 0, RF_ON refused until CLEAR_FAULT")
    func reboot() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.switchOn(milliwatts: 3000)
        host.run(900_000)
        host.generator.inject(.reboot)
        let resetAt = host.now
        let before = host.received.count
        #expect(host.edges.last == Recorder.Edge(microseconds: resetAt, on: false, cause: .reset))
        host.run(299_000)
        #expect(host.received.count == before, "silent while booting")
        host.run(100_000)
        let after = host.received.suffix(from: before)
        #expect(after.first?.frame.message.type == .event)
        #expect(after.first?.frame.sequence == 0)
        #expect(host.events.last { $0.code == .boot }?.timestampMicroseconds == 300_000)
        #expect(after.first { $0.frame.message.type == .telemetry }?.frame.sequence == 0)
        host.send(.setPower(SetPower(powerMilliwatts: 3000, validityMilliseconds: 1000)))
        #expect(host.command(.rfOn)?.nakReason == .faultActive)
        host.send(.clearFault)
        #expect(host.command(.rfOn)?.isAck == true)
    }

    @Test("Stuck output stage: RF_OFF is acknowledged and the state reads off, yet power keeps flowing")
    func rfStuckOn() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 1000)
        host.generator.inject(.rfStuckOn(true))
        host.switchOn(milliwatts: 4000)
        host.run(100_000)
        #expect(host.command(.rfOff)?.isAck == true)
        host.run(500_000)
        #expect(host.telemetry.last?.rfState == .off)
        #expect((host.telemetry.last?.powerMilliwatts ?? 0) > 3500, "the host must notice power with RF off")
        #expect(host.edges.map(\.on) == [true], "from the generator's side RF never went off")
        host.generator.inject(.rfStuckOn(false))
        #expect(host.edges.last == Recorder.Edge(microseconds: host.now, on: false, cause: .stuckReleased))
    }

    @Test("Telemetry stall: no telemetry, while replies and events still arrive")
    func telemetryStall() {
        var host = HostHarness()
        host.boot()
        host.generator.inject(.telemetryStall(true))
        let before = host.telemetry.count
        host.run(500_000)
        #expect(host.telemetry.count == before)
        #expect(host.command(.keepalive)?.isAck == true)
        host.generator.inject(.telemetryStall(false))
        host.run(100_000)
        #expect(host.telemetry.count >= before + 9)
    }

    @Test("Bit errors and garbage on the line cost frames the host can count, and nothing else")
    func lineNoise() {
        var config = GeneratorConfiguration()
        config.seed = 42
        var host = HostHarness(configuration: config)
        host.boot()
        host.generator.inject(.bitErrors(probability: 0.002))
        host.run(5_000_000)
        host.generator.inject(.bitErrors(probability: 0))
        host.generator.inject(.garbage(bytes: 1000))
        host.run(1_000_000)
        let sequences = host.received.filter { $0.frame.message.type == .telemetry }.map { Int($0.frame.sequence) }
        let lost = (sequences.last! + 1) - sequences.count
        #expect(lost > 0, "some frames were hit")
        #expect(host.decoder.counters.errors >= UInt64(lost) / 2)
        #expect(sequences == sequences.sorted(), "nothing reordered or invented")
        #expect(Set(sequences).count == sequences.count)
        #expect(sequences.last == 600, "the link recovered: the last frame (6 s at 100 Hz after boot) arrived")
    }

    @Test("Disconnect: nothing passes either way, the watchdog switches RF off; reconnect restores the line")
    func disconnect() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 100)
        host.switchOn(milliwatts: 3000)
        let lastFrame = host.now
        host.generator.inject(.disconnected(true))
        let before = host.received.count
        host.run(50_000)
        host.send(.keepalive)  // lost on the cut line
        host.run(450_000)
        #expect(host.received.count == before)
        #expect(
            host.edges.last == Recorder.Edge(microseconds: lastFrame + 100_000, on: false, cause: .fault(.watchdog))
        )
        host.generator.inject(.disconnected(false))
        host.run(100_000)
        #expect(host.telemetry.count > 0 && host.received.count > before)
        #expect(host.generator.rfState == .off, "RF stays off after the line returns")
    }

    @Test("The same seed gives the same bytes; another seed gives other noise")
    func deterministic() {
        func run(seed: UInt64) -> [UInt8] {
            var config = GeneratorConfiguration()
            config.seed = seed
            var generator = SimulatedGenerator(configuration: config)
            var bytes: [UInt8] = []
            generator.advance(to: 2_000_000)
            bytes += generator.takeOutput()
            generator.receive(FrameEncoder.encode(Frame(sequence: 1, message: .clearFault)), at: 2_000_000)
            generator.inject(.bitErrors(probability: 0.01))
            generator.advance(to: 4_000_000)
            bytes += generator.takeOutput()
            return bytes
        }
        #expect(run(seed: 7) == run(seed: 7))
        #expect(run(seed: 7) != run(seed: 8))
    }

    @Test("A full 15-minute lesion runs in virtual time: ramp, hold at 85 °C, RF off, a lesion of 12-15 mm")
    func fullTreatmentInVirtualTime() {
        var host = HostHarness()
        host.ready(watchdogMilliseconds: 100)
        // A test-side PI loop at 100 Hz on telemetry channel 0: the fixture, not the product.
        var integral = 0.0
        var rfOnSent = false
        var holdTicks = 0
        var tick = 0
        while holdTicks < 90_000 && tick < 200_000 {
            tick += 1
            let reading = host.lastTelemetry.map { Double($0.temperatures[0].centiCelsius) / 100 } ?? 37
            let error = 85 - reading
            integral = min(max(integral + error * 0.01, 0), 300)
            let watts = min(max(0.3 * error + 0.03 * integral, 0), 15)
            host.send(.setPower(SetPower(powerMilliwatts: UInt32(watts * 1000), validityMilliseconds: 50)))
            if !rfOnSent {
                #expect(host.command(.rfOn)?.isAck == true)
                rfOnSent = true
            }
            host.run(10_000, step: 10_000)
            if abs(reading - 85) < 2 { holdTicks += 1 }
        }
        host.send(.rfOff)
        #expect(holdTicks == 90_000, "900 s within 2 °C of 85 °C")
        #expect(host.edges.map(\.on) == [true, false])
        #expect(host.edges.last?.cause == .command(.rfOff))
        #expect(host.generator.faults.isEmpty)
        #expect((12...15).contains(host.generator.tissue.lesionDiameter * 1000))
        #expect(host.generator.recorder.commands.count >= 90_000)
    }
}
