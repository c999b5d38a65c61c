// The daemon's machine against the simulated generator in virtual time, through the daemon's own
// link engine and the real codec: what rfgend's threads do, less the threads and the port. The
// deterministic simulation, the core's test harness and the benchmarks all run this; it moves bytes
// and time and decides nothing (every decision is `DaemonMachine`'s).

import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol
import RFGenSimulator

/// What a telemetry frame's arrival check decided, and what the generator did right after.
public struct ArrivalReaction: Sendable {
    public var microseconds: Int64
    public var output: MachineOutput
    /// Whether the generator's output stage was still enabled once the reaction was delivered.
    public var outputEnabledAfter: Bool
}

public struct VirtualDaemon: Sendable {
    public var generator: SimulatedGenerator
    public private(set) var machine: DaemonMachine
    public var engine = LinkEngine()
    /// While true, bytes from the host are lost on the way (a half-broken link).
    public var dropCommands = false
    /// Generator commands the machine decides but that never reach the link (a generator that
    /// never got them).
    public var dropTypes: Set<MessageType> = []
    /// How often the host looks at the port between ticks, µs: a frame is checked at most this
    /// long after the generator sent it (rfgend's link thread wakes on every byte).
    public var arrivalStepMicroseconds: Int64 = 1000
    /// How many lesions' starts the record has made durable, as the record thread would say
    /// (`TickInput.recordedStarts`); by default every one at once.
    public var recordedStarts = Int.max
    /// The tick, µs.
    public let tickMicroseconds: Int64
    /// Reactions of the arrival checks since the last `takeArrivals`.
    private var arrivals: [ArrivalReaction] = []
    private var checkedTelemetryAt: MonotonicInstant?
    private var nextTicket: UInt64 = 1

    public var now: Int64 { generator.now }
    public var core: TreatmentCore { machine.core }

    /// A generator booted and handshaken, the machine idle.
    public init(configuration: GeneratorConfiguration, tickMicroseconds: Int64 = 10_000) {
        self.tickMicroseconds = tickMicroseconds
        machine = DaemonMachine(tickSeconds: Double(tickMicroseconds) / 1e6)
        generator = SimulatedGenerator(configuration: configuration)
        generator.advance(to: configuration.bootMicroseconds + 20_000)
        engine.opened(now: now)
        // Handshake, CLEAR_FAULT, and the telemetry that shows the reset fault cleared.
        for _ in 0..<30 { exchange(advancing: 1000) }
    }

    /// A request with the next ticket.
    public mutating func request(
        _ command: OperatorCommand,
        level: String = "",
        uid: UInt32 = 0,
        client: UInt64 = 0
    ) -> OperatorRequest {
        defer { nextTicket += 1 }
        return OperatorRequest(ticket: nextTicket, command: command, level: level, uid: uid, client: client)
    }

    /// One control tick with these requests; its generator commands go out through the link.
    /// Time does not pass: `exchange` moves it.
    public mutating func tick(_ requests: [OperatorRequest] = [], lateMicroseconds: Int64 = 0) -> MachineOutput {
        receive()
        let out = machine.tick(
            TickInput(
                now: MonotonicInstant(microseconds: now),
                wall: WallInstant(microsecondsSinceEpoch: now),
                link: engine.snapshot,
                linkState: engine.state,
                lateMicroseconds: lateMicroseconds,
                requests: requests,
                recordedStarts: recordedStarts
            )
        )
        send(out.generator)
        return out
    }

    /// Moves bytes both ways and lets `microseconds` pass, looking at the port every
    /// `arrivalStepMicroseconds` as the link thread would, each new frame checked on arrival.
    public mutating func exchange(advancing microseconds: Int64) {
        receive()
        flush()
        receive()
        let end = now + microseconds
        while now < end {
            generator.advance(to: min(end, now + arrivalStepMicroseconds))
            receive()
            flush()
        }
    }

    /// The arrival checks' reactions since the last call.
    public mutating func takeArrivals() -> [ArrivalReaction] {
        defer { arrivals.removeAll(keepingCapacity: true) }
        return arrivals
    }

    /// The cable is pulled: nothing passes, and the shell sees the port hang up.
    public mutating func pullCable() {
        generator.inject(.disconnected(true))
        engine.closed()
    }

    /// The cable is back: the shell reopens the port and the link handshakes again.
    public mutating func plugCable() {
        generator.inject(.disconnected(false))
        engine.opened(now: now)
    }

    /// What the generator sent, into the link; a new frame is checked at once.
    private mutating func receive() {
        let bytes = generator.takeOutput()
        guard !bytes.isEmpty else { return }
        engine.receive(bytes, now: now)
        let snapshot = engine.snapshot
        guard snapshot.telemetry != nil, snapshot.telemetryReceivedAt != checkedTelemetryAt else { return }
        checkedTelemetryAt = snapshot.telemetryReceivedAt
        let out = machine.telemetryArrived(
            now: MonotonicInstant(microseconds: now),
            wall: WallInstant(microsecondsSinceEpoch: now),
            link: snapshot,
            linkState: engine.state
        )
        guard !out.actions.isEmpty else { return }
        send(out.generator)
        flush()
        arrivals.append(ArrivalReaction(microseconds: now, output: out, outputEnabledAfter: generator.isOutputEnabled))
    }

    private mutating func send(_ commands: [GeneratorCommand]) {
        for command in commands where !dropTypes.contains(command.messageType) {
            engine.send(command, now: now)
        }
    }

    /// What the link has to send, to the generator (unless lost on the way).
    private mutating func flush() {
        engine.poll(now: now)
        let out = engine.takeOutput()
        if !dropCommands && !out.isEmpty { generator.receive(out, at: now) }
    }
}

extension GeneratorCommand {
    /// The message that carries it.
    public var messageType: MessageType {
        switch self {
        case .setPower: .setPower
        case .rfOn: .rfOn
        case .rfOff: .rfOff
        case .impedanceCheck: .impedanceCheck
        case .clearFault: .clearFault
        }
    }
}
