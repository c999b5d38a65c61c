import RFGenProtocol
import RFGenSimulator

/// A minimal host for tests: talks to a `SimulatedGenerator` in virtual time through the real
/// codec, and keeps every frame the generator sent with the time it arrived.
struct HostHarness {
    var generator: SimulatedGenerator
    var decoder = FrameDecoder(accepting: .generatorToHost)
    /// Frames received, with the simulated time of arrival in microseconds.
    var received: [(microseconds: Int64, frame: Frame)] = []
    var nextSequence: UInt16 = 1
    /// The newest telemetry, kept apart so that a long run need not search `received`.
    var lastTelemetry: Telemetry?
    var now: Int64 { generator.now }

    init(configuration: GeneratorConfiguration = GeneratorConfiguration()) {
        generator = SimulatedGenerator(configuration: configuration)
    }

    /// Encodes and delivers a command now; returns its sequence number.
    @discardableResult
    mutating func send(_ message: Message) -> UInt16 {
        let sequence = nextSequence
        nextSequence &+= 1
        sendRaw(FrameEncoder.encode(Frame(sequence: sequence, message: message)))
        return sequence
    }

    /// Sends a command and returns its reply. (Not `reply(to: send(...))`: a struct's method
    /// reads `self` before its arguments run, so it would search the frames from before the send.)
    mutating func command(_ message: Message) -> Message? {
        let sequence = send(message)
        return reply(to: sequence)
    }

    mutating func sendRaw(_ bytes: [UInt8]) {
        generator.receive(bytes, at: now)
        collect()
    }

    /// Advances virtual time by `microseconds`, in steps of `step`, collecting output as it appears.
    mutating func run(_ microseconds: Int64, step: Int64 = 1000) {
        let end = now + microseconds
        while now < end {
            generator.advance(to: min(end, now + step))
            collect()
        }
    }

    /// Runs until the generator has booted and sent its BOOT event.
    mutating func boot() {
        run(generator.configuration.bootMicroseconds + 1000)
    }

    /// Boots, configures and clears the reset fault: a generator ready for RF_ON.
    mutating func ready(watchdogMilliseconds: UInt16 = 100) {
        boot()
        send(.configure(Configure(telemetryRateHz: 100, watchdogMilliseconds: watchdogMilliseconds)))
        send(.clearFault)
    }

    /// Sets a power with a long validity and sends RF_ON: the usual start of a scenario.
    mutating func switchOn(milliwatts: UInt32) {
        send(.setPower(SetPower(powerMilliwatts: milliwatts, validityMilliseconds: 1000)))
        send(.rfOn)
    }

    mutating func collect() {
        let bytes = generator.takeOutput()
        guard !bytes.isEmpty else { return }
        let time = now
        for case .frame(let frame) in decoder.feed(bytes) {
            received.append((time, frame))
            if case .telemetry(let t) = frame.message { lastTelemetry = t }
        }
    }

    /// The reply (ACK, NAK, HELLO or STATUS) to the command with this sequence number.
    func reply(to sequence: UInt16) -> Message? {
        for (_, frame) in received.reversed() {
            switch frame.message {
            case .ack(let a) where a.ackSequence == sequence: return frame.message
            case .nak(let n) where n.ackSequence == sequence: return frame.message
            case .hello(let h) where h.ackSequence == sequence: return frame.message
            case .status(let s) where s.ackSequence == sequence: return frame.message
            default: continue
            }
        }
        return nil
    }

    var telemetry: [Telemetry] {
        received.compactMap { if case .telemetry(let t) = $0.frame.message { t } else { nil } }
    }

    var events: [Event] {
        received.compactMap { if case .event(let e) = $0.frame.message { e } else { nil } }
    }

    var edges: [Recorder.Edge] { generator.recorder.edges }
}

extension Message {
    var isAck: Bool { if case .ack = self { true } else { false } }

    var nakReason: NakReason? { if case .nak(let n) = self { n.reason } else { nil } }
}
