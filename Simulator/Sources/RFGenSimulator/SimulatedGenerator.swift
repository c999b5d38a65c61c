import RFGenProtocol

/// The simulated RF generator: the generator-side half of `protocol/PROTOCOL.md` (commands, replies,
/// telemetry, events and the mandatory generator-side safety) driving a `TissueModel`.
///
/// Sans-I/O and clock-free: the caller hands it bytes with the time they arrived (`receive`), moves
/// its clock (`advance`) and takes the bytes it sends (`takeOutput`). Time is microseconds since the
/// simulation started and never goes backwards. Every timed duty (watchdog, set-point validity,
/// physics steps, telemetry) happens at its exact instant in simulated time, however coarsely the
/// caller advances, so a 15-minute treatment runs as fast as the CPU allows and the same seed gives
/// the same bytes.
public struct SimulatedGenerator: Sendable {
    public let configuration: GeneratorConfiguration

    // Physics.
    public private(set) var tissue: TissueModel
    public private(set) var thermocouples: [Thermocouple]
    private var random: SeededRandom

    // Firmware state.
    public private(set) var rfState: RFState = .off
    public private(set) var faults: FaultBits = .reset
    private var setPointMilliwatts: UInt32 = 0
    /// When the set point lapses; nil when there is none.
    private var setPointExpiry: Int64?
    private var watchdogMicroseconds = Int64(ProtocolLimits.defaultWatchdogMilliseconds) * 1000
    private var telemetryRateHz = ProtocolLimits.defaultTelemetryRateHz
    /// The rate after a reset: 100 Hz, or the nearest the generator can do (PROTOCOL.md 7.2).
    private var resetTelemetryRateHz: UInt16 { Self.resetTelemetryRate(configuration) }

    private static func resetTelemetryRate(_ configuration: GeneratorConfiguration) -> UInt16 {
        min(
            max(ProtocolLimits.defaultTelemetryRateHz, configuration.telemetryRateRangeHz.lowerBound),
            configuration.telemetryRateRangeHz.upperBound
        )
    }
    private var lastValidHostFrame: Int64
    private var impedanceCheck: (sequence: UInt16, end: Int64)?
    /// The newest commands and their replies, newest last, so that retries are answered, not redone.
    private var recentCommands: [(sequence: UInt16, type: MessageType, reply: Message)] = []
    private var telemetrySequence: UInt16 = 0
    private var messageSequence: UInt16 = 0
    private var decoder = FrameDecoder(accepting: .hostToGenerator)
    /// Start of the current boot, for the generator's own timestamps.
    private var bootTime: Int64
    /// While booting the generator neither listens nor talks.
    private var bootDone: Int64

    // Timing.
    public private(set) var now: Int64
    private var nextPhysics: Int64
    private var nextTelemetry: Int64

    // Outputs of the last physics step, which telemetry reports.
    public private(set) var deliveredPower = 0.0
    public private(set) var loadResistance: Double
    private var temperatureSamples: [TemperatureSample]

    // Injected faults.
    public private(set) var impedanceFault: ImpedanceFault?
    public private(set) var powerFactor = 1.0
    /// Non-nil while the output stage is stuck on: the power it keeps delivering, watts.
    private var stuckPower: Double?
    public private(set) var stuckOn = false
    public private(set) var telemetryStalled = false
    public private(set) var bitErrorProbability = 0.0
    public private(set) var connected = true

    // Transport.
    private var output: [UInt8] = []
    /// Output bytes dropped because nobody took them (`SimulatorLimits.outputBufferBytes`).
    public private(set) var droppedOutputBytes = 0
    public private(set) var recorder = Recorder()
    /// Telemetry frames sent and RF_OFF frames received (retries and malformed ones included),
    /// since power-on: the real-time shell times the host's reaction between the two.
    public private(set) var telemetryFramesSent = 0
    /// Energy delivered into the load since power-on, joules, by the physics' own account (power
    /// times each step): what a record's energy is checked against.
    public private(set) var deliveredEnergyJoules = 0.0
    public private(set) var rfOffFramesReceived = 0
    /// Whether any power can flow, as last recorded.
    private var outputEnabled = false

    /// Powers the generator on: RF off, the `reset` fault latched, silent for its boot time.
    /// - Parameters:
    ///   - configuration: what to simulate.
    ///   - microseconds: the simulated time now.
    public init(configuration: GeneratorConfiguration = GeneratorConfiguration(), microseconds: Int64 = 0) {
        precondition((1...4).contains(configuration.temperatureChannels), "1-4 temperature channels")
        self.configuration = configuration
        tissue = TissueModel(parameters: configuration.tissue)
        thermocouples = (0..<configuration.temperatureChannels).map { _ in
            Thermocouple(
                initialTemperature: configuration.tissue.bodyTemperature,
                timeConstant: configuration.thermocoupleTimeConstant,
                noise: configuration.thermocoupleNoise
            )
        }
        random = SeededRandom(seed: configuration.seed)
        now = microseconds
        bootTime = microseconds
        telemetryRateHz = Self.resetTelemetryRate(configuration)
        bootDone = microseconds + configuration.bootMicroseconds
        lastValidHostFrame = microseconds
        nextPhysics = microseconds + configuration.physicsStepMicroseconds
        nextTelemetry = bootDone
        loadResistance = tissue.loadResistance
        temperatureSamples = thermocouples.map {
            TemperatureSample(celsius: $0.junctionTemperature, status: .ok)
        }
    }

    // MARK: - Transport

    /// Bytes from the host, arriving at `microseconds`. The clock first advances to that instant.
    public mutating func receive(_ bytes: some Sequence<UInt8>, at microseconds: Int64) {
        advance(to: microseconds)
        guard connected, now >= bootDone else { return }
        var outputs: [FrameDecoder.Output] = []
        decoder.feed(bytes) { outputs.append($0) }
        for result in outputs {
            switch result {
            case .frame(let frame): handle(frame)
            case .error(let error): handle(error)
            }
        }
    }

    /// Takes everything the generator has sent since the last call.
    public mutating func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Counters of the generator's own decoder (what the host's frames looked like on arrival).
    public var decoderCounters: DecoderCounters { decoder.counters }

    // MARK: - Time

    /// Moves simulated time forward, carrying out every timed duty at its own instant.
    /// - Parameter microseconds: the new time; not earlier than `now`.
    public mutating func advance(to microseconds: Int64) {
        precondition(microseconds >= now, "simulated time never goes backwards")
        while nextDutyMicroseconds <= microseconds {
            now = nextDutyMicroseconds
            runDuties()
        }
        now = microseconds
    }

    /// When the next timed duty falls due (a physics step, telemetry, the end of booting, the
    /// watchdog, a set point's expiry, the end of an impedance check): a real-time shell sleeps
    /// until then, so that telemetry leaves on the generator's own clock whatever the host does.
    public var nextDutyMicroseconds: Int64 {
        var next = min(nextPhysics, nextTelemetry)
        if now < bootDone { next = min(next, bootDone) }
        if let deadline = watchdogDeadline { next = min(next, deadline) }
        if configuration.selfProtection, let expiry = setPointExpiry { next = min(next, expiry) }
        if let check = impedanceCheck { next = min(next, check.end) }
        return next
    }

    /// Bytes from the host that a real-time shell found waiting at `microseconds`, having been
    /// off the CPU for some time before (a loaded machine, a stall); returns the instant they
    /// were taken at. A generator's UART takes bytes as they arrive, so when a deadline on the
    /// host (the watchdog, a set point's expiry) fell while the shell was away, they are taken
    /// just before it: a set point the host sent in time never expires for the simulator's own
    /// lateness. Otherwise they are taken at `microseconds`. Lenient, never strict: bytes that
    /// really came after the deadline cannot be told from those that came before it.
    @discardableResult
    public mutating func receiveWaiting(_ bytes: some Sequence<UInt8>, foundAt microseconds: Int64) -> Int64 {
        let takenAt = max(now, min(microseconds, (hostDeadlineMicroseconds ?? .max) - 1))
        receive(bytes, at: takenAt)
        return takenAt
    }

    /// The earliest deadline by which the host must have sent something (the watchdog, a set
    /// point's expiry), or nil when none runs.
    var hostDeadlineMicroseconds: Int64? {
        var deadline = watchdogDeadline
        if configuration.selfProtection, let expiry = setPointExpiry { deadline = min(deadline ?? expiry, expiry) }
        return deadline
    }

    /// The watchdog only matters while output is commanded: an idle generator may be left alone.
    private var watchdogDeadline: Int64? {
        rfState == .off || !configuration.selfProtection ? nil : lastValidHostFrame + watchdogMicroseconds
    }

    private mutating func runDuties() {
        if now == bootDone {
            send(.event(Event(timestampMicroseconds: timestamp, code: .boot, faults: faults, detail: 0)))
        }
        if let deadline = watchdogDeadline, now >= deadline {
            raise(.watchdog)
        }
        if configuration.selfProtection, let expiry = setPointExpiry, now >= expiry {
            setPointExpiry = nil
            setPointMilliwatts = 0
            if rfState == .on { raise(.setPointExpired) }
        }
        if let check = impedanceCheck, now >= check.end {
            finishImpedanceCheck(sequence: check.sequence)
        }
        if now == nextPhysics {
            stepPhysics()
            nextPhysics += configuration.physicsStepMicroseconds
        }
        if now == nextTelemetry {
            if now >= bootDone && !telemetryStalled { sendTelemetry() }
            nextTelemetry += 1_000_000 / Int64(telemetryRateHz)
        }
    }

    /// Microseconds since the generator's last reset, as its own clock reads.
    private var timestamp: UInt64 { UInt64(now - bootTime) }

    // MARK: - Physics

    /// Total load between the terminals, with injected impedance faults, and the share of the
    /// power that heats the tissue.
    private func load() -> (ohms: Double, tissueShare: Double) {
        let tissueOhms = tissue.loadResistance
        switch impedanceFault {
        case nil: return (tissueOhms, 1)
        case .short:
            let bypass = 2.0
            return (tissueOhms * bypass / (tissueOhms + bypass), bypass / (tissueOhms + bypass))
        case .open: return (1e9, 0)
        case .step(let ohms): return (tissueOhms + ohms, tissueOhms / (tissueOhms + ohms))
        }
    }

    /// The power the output stage delivers now, watts, within its voltage, current and power ceilings.
    private func outputPower(intoLoad ohms: Double) -> Double {
        let requested: Double
        switch rfState {
        case .on: requested = Double(setPointMilliwatts) / 1000 * powerFactor
        case .impedanceCheck: requested = configuration.impedanceCheckPower
        case .off: requested = stuckPower ?? 0
        }
        let volts = Double(configuration.maxVoltageMillivolts) / 1000
        let amps = Double(configuration.maxCurrentMilliamps) / 1000
        let ceiling = Double(configuration.maxPowerMilliwatts) / 1000 * SimulatorLimits.outputStageCeiling
        return max(0, min(requested, volts * volts / ohms, amps * amps * ohms, ceiling))
    }

    private mutating func stepPhysics() {
        let dt = Double(configuration.physicsStepMicroseconds) / 1e6
        let (ohms, share) = load()
        let power = outputPower(intoLoad: ohms)
        deliveredPower = power
        deliveredEnergyJoules += power * dt
        loadResistance = ohms
        tissue.step(seconds: dt, power: power * share)
        for channel in thermocouples.indices {
            // Both electrodes of the symmetric probe see the tip temperature.
            thermocouples[channel].step(seconds: dt, tissueTemperature: tissue.tipTemperature)
            temperatureSamples[channel] = thermocouples[channel].read(using: &random)
        }
        monitor()
    }

    /// The generator's own protection, checked every physics step.
    private mutating func monitor() {
        guard configuration.selfProtection else { return }
        var tripped: FaultBits = []
        let limit = Double(configuration.temperatureLimitCentiCelsius) / 100
        for sample in temperatureSamples {
            if sample.status != .ok { tripped.insert(.temperatureSensor) }
            if sample.status == .ok && sample.celsius >= limit { tripped.insert(.overTemperature) }
        }
        if rfState == .on && setPointMilliwatts > 0 {
            let range = configuration.impedanceRangeDeciohms
            let deciohms = loadResistance * 10
            if deciohms < Double(range.lowerBound) || deciohms > Double(range.upperBound) {
                tripped.insert(.impedance)
            }
        }
        if deliveredPower > Double(configuration.maxPowerMilliwatts) / 1000 * SimulatorLimits.overPowerTolerance {
            tripped.insert(.overPower)
        }
        if !tripped.isEmpty { raise(tripped) }
    }

    // MARK: - Faults and output

    /// Latches faults; any new fault switches RF off and is reported in an EVENT.
    private mutating func raise(_ bits: FaultBits) {
        let new = bits.subtracting(faults)
        guard !new.isEmpty else { return }
        faults.formUnion(new)
        switchOff(cause: .fault(new))
        send(.event(Event(timestampMicroseconds: timestamp, code: .fault, faults: faults, detail: new.rawValue)))
    }

    private mutating func switchOff(cause: Recorder.Cause) {
        if rfState == .on, stuckOn {
            // The relay is welded: the firmware lets go, the power does not.
            stuckPower = deliveredPower
        }
        if let check = impedanceCheck {
            impedanceCheck = nil
            send(
                .impedanceResult(ImpedanceResult(ackSequence: check.sequence, outcome: .aborted, impedanceDeciohms: 0))
            )
        }
        rfState = .off
        recordEdge(cause: cause)
    }

    private mutating func recordEdge(cause: Recorder.Cause) {
        let enabled = rfState != .off || stuckPower != nil
        if enabled != outputEnabled {
            outputEnabled = enabled
            recorder.record(Recorder.Edge(microseconds: now, on: enabled, cause: cause))
        }
    }

    // MARK: - Commands

    private mutating func handle(_ error: DecodeError) {
        recorder.record(Recorder.Rejected(microseconds: now, error: error))
        switch error {
        case .framing, .crc, .oversize:
            // Nothing in the frame can be trusted, not even its sequence number: drop it silently.
            break
        case .unsupportedVersion(_, let type, let sequence):
            send(.nak(Nak(ackSequence: sequence, ackType: type, reason: .unsupportedVersion)))
        case .unknownType(let type, let sequence):
            send(.nak(Nak(ackSequence: sequence, ackType: type, reason: .unknownType)))
        case .badField(let type, let sequence, _):
            // An intact RF_OFF frame is obeyed even if its payload is wrong: switching off is
            // always safe, and a host asking for it must not be ignored for a formatting slip.
            if type == .rfOff {
                rfOffFramesReceived += 1
                if rfState != .off { switchOff(cause: .command(.rfOff)) }
            }
            send(.nak(Nak(ackSequence: sequence, ackType: type.rawValue, reason: .malformed)))
        }
    }

    private mutating func handle(_ frame: Frame) {
        recorder.record(Recorder.Command(microseconds: now, frame: frame))
        lastValidHostFrame = now
        let type = frame.message.type
        if type == .rfOff { rfOffFramesReceived += 1 }
        let isQuery = type == .helloRequest || type == .getStatus || type == .keepalive
        if !isQuery, let original = recentCommands.last(where: { $0.sequence == frame.sequence && $0.type == type }) {
            // A retry: the original was carried out; answer it again without doing it twice,
            // except RF_OFF, which is always safe to repeat.
            if type == .rfOff && rfState != .off { switchOff(cause: .command(.rfOff)) }
            send(original.reply)
            return
        }
        let reply = execute(frame.message, sequence: frame.sequence)
        if recentCommands.count == ProtocolLimits.rememberedCommands { recentCommands.removeFirst() }
        recentCommands.append((frame.sequence, type, reply))
        send(reply)
    }

    private mutating func execute(_ message: Message, sequence: UInt16) -> Message {
        let type = message.type
        func ack() -> Message { .ack(Ack(ackSequence: sequence, ackType: type.rawValue)) }
        func nak(_ reason: NakReason) -> Message {
            .nak(Nak(ackSequence: sequence, ackType: type.rawValue, reason: reason))
        }

        switch message {
        case .helloRequest:
            return .hello(configuration.hello(answering: sequence))
        case .keepalive:
            return ack()
        case .getStatus:
            return .status(status(answering: sequence))
        case .configure(let c):
            guard rfState == .off else { return nak(.rfActive) }
            guard configuration.telemetryRateRangeHz.contains(c.telemetryRateHz),
                ProtocolLimits.watchdogMilliseconds.contains(c.watchdogMilliseconds)
            else { return nak(.outOfRange) }
            telemetryRateHz = c.telemetryRateHz
            watchdogMicroseconds = Int64(c.watchdogMilliseconds) * 1000
            nextTelemetry = now + 1_000_000 / Int64(telemetryRateHz)
            return ack()
        case .setPower(let p):
            guard p.powerMilliwatts <= configuration.maxPowerMilliwatts,
                ProtocolLimits.setPointValidityMilliseconds.contains(p.validityMilliseconds)
            else { return nak(.outOfRange) }
            setPointMilliwatts = p.powerMilliwatts
            setPointExpiry = now + Int64(p.validityMilliseconds) * 1000
            return ack()
        case .rfOn:
            guard faults.isEmpty else { return nak(.faultActive) }
            guard impedanceCheck == nil else { return nak(.busy) }
            guard setPointExpiry != nil else { return nak(.noSetPoint) }
            if rfState == .off {
                rfState = .on
                recordEdge(cause: .command(.rfOn))
            }
            return ack()
        case .rfOff:
            if rfState != .off { switchOff(cause: .command(.rfOff)) }
            return ack()
        case .impedanceCheck(let c):
            guard rfState != .on else { return nak(.rfActive) }
            guard impedanceCheck == nil else { return nak(.busy) }
            guard faults.isEmpty else { return nak(.faultActive) }
            guard ProtocolLimits.impedanceCheckMilliseconds.contains(c.durationMilliseconds) else {
                return nak(.outOfRange)
            }
            impedanceCheck = (sequence, now + Int64(c.durationMilliseconds) * 1000)
            rfState = .impedanceCheck
            recordEdge(cause: .impedanceCheck)
            return ack()
        case .clearFault:
            let persisting = persistingConditions()
            let cleared = faults.subtracting(persisting)
            faults = faults.intersection(persisting)
            if !cleared.isEmpty {
                send(
                    .event(
                        Event(
                            timestampMicroseconds: timestamp,
                            code: .faultsCleared,
                            faults: faults,
                            detail: cleared.rawValue
                        )
                    )
                )
            }
            return persisting.isEmpty ? ack() : nak(.conditionPersists)
        case .ack, .nak, .hello, .status, .telemetry, .event, .impedanceResult:
            // The decoder accepts host commands only.
            preconditionFailure("generator message \(type) reached the generator's command handler")
        }
    }

    /// Faults whose cause is still present and that CLEAR_FAULT therefore cannot clear.
    private func persistingConditions() -> FaultBits {
        var bits: FaultBits = []
        let limit = Double(configuration.temperatureLimitCentiCelsius) / 100
        for sample in temperatureSamples {
            if sample.status != .ok { bits.insert(.temperatureSensor) }
            if sample.status == .ok && sample.celsius >= limit { bits.insert(.overTemperature) }
        }
        return bits.intersection(faults)
    }

    private mutating func finishImpedanceCheck(sequence: UInt16) {
        // Measure while the test signal is still applied, then switch it off.
        let (ohms, _) = load()
        let power = outputPower(intoLoad: ohms)
        impedanceCheck = nil
        rfState = .off
        recordEdge(cause: .impedanceCheck)
        let current = (power / ohms).squareRoot()
        let deciohms = ohms * 10
        let range = configuration.impedanceRangeDeciohms
        if current < SimulatorLimits.minimumMeasurableCurrent || deciohms < Double(range.lowerBound)
            || deciohms > Double(range.upperBound)
        {
            send(.impedanceResult(ImpedanceResult(ackSequence: sequence, outcome: .outOfRange, impedanceDeciohms: 0)))
        } else {
            send(
                .impedanceResult(
                    ImpedanceResult(ackSequence: sequence, outcome: .ok, impedanceDeciohms: UInt32(deciohms.rounded()))
                )
            )
        }
    }

    private func status(answering sequence: UInt16) -> Status {
        let remaining = setPointExpiry.map { UInt16(clamping: ($0 - now) / 1000) } ?? 0
        return Status(
            ackSequence: sequence,
            rfState: rfState,
            faults: faults,
            setPointMilliwatts: setPointExpiry == nil ? 0 : setPointMilliwatts,
            setPointRemainingMilliseconds: remaining,
            watchdogMilliseconds: UInt16(watchdogMicroseconds / 1000),
            telemetryRateHz: telemetryRateHz,
            uptimeMilliseconds: UInt32(truncatingIfNeeded: (now - bootTime) / 1000)
        )
    }

    // MARK: - Sending

    private mutating func sendTelemetry() {
        let power = deliveredPower
        let ohms = loadResistance
        let current = power > 0 ? (power / ohms).squareRoot() : 0
        let voltage = power > 0 ? (power * ohms).squareRoot() : 0
        let measurable = current >= SimulatorLimits.minimumMeasurableCurrent
        let telemetry = Telemetry(
            timestampMicroseconds: timestamp,
            rfState: rfState,
            faults: faults,
            setPointMilliwatts: setPointExpiry == nil ? 0 : setPointMilliwatts,
            powerMilliwatts: UInt32(clamping: Int64((power * 1000).rounded())),
            voltageMillivolts: UInt32(clamping: Int64((voltage * 1000).rounded())),
            currentMilliamps: UInt16(clamping: Int64((current * 1000).rounded())),
            impedanceDeciohms: measurable ? UInt32(clamping: Int64((ohms * 10).rounded())) : 0,
            impedanceValid: measurable,
            temperatures: TemperatureReadings(
                temperatureSamples.lazy.map {
                    TemperatureReading(
                        centiCelsius: $0.status == .ok ? Int16(clamping: Int64(($0.celsius * 100).rounded())) : 0,
                        status: $0.status
                    )
                }
            )
        )
        let frame = Frame(sequence: telemetrySequence, message: .telemetry(telemetry))
        telemetrySequence &+= 1
        telemetryFramesSent += 1
        transmit(FrameEncoder.encode(frame))
    }

    private mutating func send(_ message: Message) {
        let frame = Frame(sequence: messageSequence, message: message)
        messageSequence &+= 1
        transmit(FrameEncoder.encode(frame))
    }

    private mutating func transmit(_ bytes: [UInt8]) {
        guard connected else { return }
        var bytes = bytes
        if bitErrorProbability > 0 {
            for i in bytes.indices where Double.random(in: 0..<1, using: &random) < bitErrorProbability {
                bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            }
        }
        let room = SimulatorLimits.outputBufferBytes - output.count
        if bytes.count > room {
            droppedOutputBytes += bytes.count - max(0, room)
            output.append(contentsOf: bytes.prefix(max(0, room)))
        } else {
            output.append(contentsOf: bytes)
        }
    }

    // MARK: - Fault injection

    /// Injects or clears a fault at the current simulated time (advance first to choose the instant).
    public mutating func inject(_ fault: InjectedFault) {
        switch fault {
        case .thermocouple(let channel, let kind):
            guard thermocouples.indices.contains(channel) else { return }
            thermocouples[channel].setFault(kind)
            // A step shows on the wire from the next frame, not only after the next physics step.
            if case .offset(let celsius) = kind, temperatureSamples[channel].status == .ok {
                temperatureSamples[channel].celsius += celsius
            }
        case .impedance(let kind):
            impedanceFault = kind
        case .powerMismatch(let factor):
            powerFactor = factor ?? 1
        case .rfStuckOn(let stuck):
            stuckOn = stuck
            if !stuck && stuckPower != nil {
                stuckPower = nil
                recordEdge(cause: .stuckReleased)
            }
        case .telemetryStall(let stalled):
            telemetryStalled = stalled
        case .bitErrors(let probability):
            bitErrorProbability = probability
        case .garbage(let count):
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            for _ in 0..<count { bytes.append(UInt8.random(in: 0...255, using: &random)) }
            transmit(bytes)
        case .reboot:
            reboot()
        case .disconnected(let cut):
            connected = !cut
            if cut {
                output.removeAll(keepingCapacity: true)
            } else {
                decoder.reset()
            }
        }
    }

    /// A reset: the firmware starts over; the tissue and the injected hardware faults stay.
    private mutating func reboot() {
        impedanceCheck = nil
        rfState = .off
        // A stuck relay is hardware: a reset does not free it.
        if stuckOn, deliveredPower > 0, stuckPower == nil { stuckPower = deliveredPower }
        recordEdge(cause: .reset)
        faults = .reset
        setPointMilliwatts = 0
        setPointExpiry = nil
        watchdogMicroseconds = Int64(ProtocolLimits.defaultWatchdogMilliseconds) * 1000
        telemetryRateHz = resetTelemetryRateHz
        recentCommands.removeAll()
        telemetrySequence = 0
        messageSequence = 0
        decoder.reset()
        output.removeAll(keepingCapacity: true)
        bootTime = now
        bootDone = now + configuration.bootMicroseconds
        nextTelemetry = bootDone
        lastValidHostFrame = now
    }

    // MARK: - Observation (for tests and the status command)

    /// The tissue temperature at the tip, °C: the truth that the thermocouples may misreport.
    public var tipTemperature: Double { tissue.tipTemperature }
    /// The latest thermocouple samples.
    public var samples: [TemperatureSample] { temperatureSamples }
    /// Whether power can flow right now (RF on, an impedance check, or a stuck output stage).
    public var isOutputEnabled: Bool { outputEnabled }
}
