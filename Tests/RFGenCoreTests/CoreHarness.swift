import RFGenCore
import RFGenProtocol
import RFGenSimulator

/// The core against the simulated generator in virtual time, with a minimal stand-in for the
/// daemon's link: it encodes the core's generator commands, decodes telemetry and replies, and
/// fills the `LinkSnapshot` the core reads. Ticks are 10 ms.
struct CoreHarness {
    var generator: SimulatedGenerator
    var core = TreatmentCore()
    var decoder = FrameDecoder(accepting: .generatorToHost)
    var link = LinkSnapshot(connected: false)
    var sequence: UInt16 = 0
    /// Every action the core returned, with its tick's time.
    var actions: [(microseconds: Int64, action: CoreAction)] = []
    /// While true, commands from the host are lost on the way (a half-broken link).
    var dropCommands = false
    /// Command types to drop (e.g. RF_ON, to play a generator that never got it).
    var dropTypes: Set<MessageType> = []
    static let tick: Int64 = 10_000

    var now: Int64 { generator.now }

    init(configuration: GeneratorConfiguration = GeneratorConfiguration()) {
        generator = SimulatedGenerator(configuration: configuration)
        generator.advance(to: configuration.bootMicroseconds + 20_000)
        collect()
        send(.helloRequest)
        send(.configure(Configure(telemetryRateHz: 100, watchdogMilliseconds: 100)))
        send(.clearFault)
        generator.advance(to: now + 20_000)
        collect()
    }

    mutating func send(_ message: Message) {
        sequence &+= 1
        guard !dropCommands, !dropTypes.contains(message.type) else { return }
        generator.receive(FrameEncoder.encode(Frame(sequence: sequence, message: message)), at: now)
        collect()
    }

    mutating func collect() {
        let time = now
        for case .frame(let frame) in decoder.feed(generator.takeOutput()) {
            switch frame.message {
            case .hello(let hello):
                link.connected = true
                link.generatorMaxPowerWatts = Double(hello.maxPowerMilliwatts) / 1000
            case .telemetry(let t):
                link.telemetry = t
                link.telemetryReceivedAt = time
            case .impedanceResult(let r):
                link.impedanceResult = r
                link.impedanceResultReceivedAt = time
            default:
                break
            }
        }
    }

    /// One control tick: the core decides, its commands go out, 10 ms pass.
    @discardableResult
    mutating func tick(_ commands: [OperatorCommand] = []) -> [CoreAction] {
        collect()
        let decided = core.step(now: now, link: link, commands: commands)
        // Keepalives are the link's duty, not the core's: one each tick without another command.
        if !decided.contains(where: { if case .generator = $0 { true } else { false } }) { send(.keepalive) }
        for action in decided {
            actions.append((now, action))
            guard case .generator(let command) = action else { continue }
            switch command {
            case .setPower(let mW, let ms): send(.setPower(SetPower(powerMilliwatts: mW, validityMilliseconds: ms)))
            case .rfOn: send(.rfOn)
            case .rfOff: send(.rfOff)
            case .impedanceCheck(let ms): send(.impedanceCheck(ImpedanceCheck(durationMilliseconds: ms)))
            case .clearFault: send(.clearFault)
            }
        }
        generator.advance(to: now + Self.tick)
        return decided
    }

    /// Ticks for `seconds`, or until `until` holds.
    mutating func run(seconds: Double, until: (CoreHarness) -> Bool = { _ in false }) {
        let end = now + Int64(seconds * 1e6)
        while now < end && !until(self) { tick() }
    }

    /// Starts a bvn lesion and runs until it holds at temperature.
    mutating func startAndReachHold(_ profile: TreatmentProfile = .bvn) {
        tick([.start(profile)])
        run(seconds: 300) { $0.core.phase == .hold || $0.core.phase == .faulted }
    }

    /// The alarms the core raised.
    var alarms: [Alarm] { actions.compactMap { if case .alarm(let a) = $0.action { a } else { nil } } }

    /// When the generator's output stage last switched off, by its own record.
    var rfOffAt: Int64? { generator.recorder.lastOffMicroseconds }
}
