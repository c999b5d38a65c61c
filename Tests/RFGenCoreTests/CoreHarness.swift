import RFGenCore
import RFGenLink
import RFGenProtocol
import RFGenSimulator

/// The core against the simulated generator in virtual time, through the daemon's own link engine
/// and the real codec: the same path as in rfgend, less the threads and the port. Ticks are 10 ms.
struct CoreHarness {
    var generator: SimulatedGenerator
    var core = TreatmentCore()
    var engine = LinkEngine()
    /// Every action the core returned, with its tick's time.
    var actions: [(microseconds: Int64, action: CoreAction)] = []
    /// While true, bytes from the host are lost on the way (a half-broken link).
    var dropCommands = false
    /// Generator commands the core decides but that never reach the link (a generator that never
    /// got them).
    var dropTypes: Set<MessageType> = []
    /// What the control loop would report as consecutive overruns.
    var consecutiveOverruns = 0
    static let tick: Int64 = 10_000

    var now: Int64 { generator.now }

    /// What the core sees.
    var link: LinkSnapshot {
        var snapshot = engine.snapshot
        snapshot.consecutiveOverruns = consecutiveOverruns
        return snapshot
    }

    init(configuration: GeneratorConfiguration = GeneratorConfiguration()) {
        generator = SimulatedGenerator(configuration: configuration)
        generator.advance(to: configuration.bootMicroseconds + 20_000)
        engine.opened(now: now)
        // Handshake, CLEAR_FAULT, and the telemetry that shows the reset fault cleared.
        for _ in 0..<30 { exchange(advancing: 1000) }
    }

    /// Moves bytes both ways and lets `microseconds` pass.
    mutating func exchange(advancing microseconds: Int64) {
        engine.receive(generator.takeOutput(), now: now)
        engine.poll(now: now)
        let out = engine.takeOutput()
        if !dropCommands && !out.isEmpty { generator.receive(out, at: now) }
        engine.receive(generator.takeOutput(), now: now)
        generator.advance(to: now + microseconds)
    }

    /// One control tick: the core decides, its commands go out through the link, 10 ms pass.
    @discardableResult
    mutating func tick(_ commands: [OperatorCommand] = []) -> [CoreAction] {
        engine.receive(generator.takeOutput(), now: now)
        let decided = core.step(now: now, link: link, commands: commands)
        for action in decided {
            actions.append((now, action))
            guard case .generator(let command) = action else { continue }
            if dropTypes.contains(command.messageType) { continue }
            engine.send(command, now: now)
        }
        exchange(advancing: Self.tick)
        return decided
    }

    /// The cable is pulled: nothing passes, and the shell sees the port hang up.
    mutating func pullCable() {
        generator.inject(.disconnected(true))
        engine.closed()
    }

    /// The cable is back: the shell reopens the port and the link handshakes again.
    mutating func plugCable() {
        generator.inject(.disconnected(false))
        engine.opened(now: now)
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

extension GeneratorCommand {
    var messageType: MessageType {
        switch self {
        case .setPower: .setPower
        case .rfOn: .rfOn
        case .rfOff: .rfOff
        case .impedanceCheck: .impedanceCheck
        case .clearFault: .clearFault
        }
    }
}
