// The procedure room in one value: clients speaking the socket API's request lines to the API's
// session logic (`APISessions`, as rfgend's `APIHub` runs it) and the daemon's machine against
// the simulated generator (`VirtualDaemon`), on one virtual clock. No socket, no thread: what the
// in-process tests and the deterministic simulation drive, so that leases, tickets, outcomes and
// replies are the shipping code's.

import RFGenAPI
import RFGenCore
import RFGenMachine
import RFGenSimulator

public struct VirtualAPI: Sendable {
    /// One reply a client received.
    public struct Answer: Hashable, Sendable {
        public var id: RequestID?
        public var reply: SessionReply

        public init(id: RequestID?, reply: SessionReply) {
            self.id = id
            self.reply = reply
        }
    }

    public var rig: VirtualDaemon
    public private(set) var sessions: APISessions
    /// Replies per client, oldest first.
    public private(set) var answers: [UInt64: [Answer]] = [:]
    /// Every event the machine and the session logic published, in order.
    public private(set) var events: [EventBody] = []
    /// The machine's output of every tick and arrival, in order.
    public private(set) var outputs: [MachineOutput] = []
    /// Requests queued for the next tick (rfgend's operator queue).
    private var queue: [OperatorRequest] = []
    /// Requests the session handed to the shell's own methods (status, records...), unanswered here.
    public private(set) var handled: [RFGenAPI.Method] = []
    /// The queue's bound, as rfgend's.
    public let queueLimit: Int
    /// Whether `outputs` and `events` keep everything (tests) or nothing (the simulation, which
    /// checks each output as it comes).
    public var keepsHistory = true

    public var now: Int64 { rig.now }

    public init(configuration: GeneratorConfiguration = GeneratorConfiguration(), limits: SessionLimits? = nil) {
        rig = VirtualDaemon(configuration: configuration)
        // The daemon's own limits unless a test asks for others.
        let limits = limits ?? .daemon()
        sessions = APISessions(limits: limits)
        queueLimit = limits.waitingRequests
    }

    /// A client connects with this role; its number (nil when refused, with the refusal).
    public mutating func connect(uid: UInt32, role: Role?) -> (client: UInt64, refusal: APIError?) {
        sessions.connect(
            uid: uid,
            gid: uid,
            groups: [uid],
            pid: Int32(uid),
            role: role,
            now: MonotonicInstant(microseconds: now)
        )
    }

    public mutating func disconnect(_ client: UInt64) {
        carryOut(sessions.disconnected(client))
    }

    /// A request line from a client, as it would arrive on its socket.
    public mutating func send(_ client: UInt64, _ line: String) {
        let latched = rig.core.alarms.map(\.id)
        carryOut(
            sessions.request(
                from: client,
                line: Array(line.utf8),
                now: MonotonicInstant(microseconds: now),
                latchedAlarms: latched
            )
        )
    }

    /// One control tick with the queued requests, their outcomes answered, then 10 ms.
    public mutating func tick() {
        _ = decide()
        _ = advance()
    }

    /// The control tick alone: the queued requests to the machine, their outcomes answered.
    /// Returns the requests and the machine's output; time does not pass.
    public mutating func decide() -> (requests: [OperatorRequest], output: MachineOutput) {
        let requests = queue
        queue.removeAll()
        let out = rig.tick(requests)
        if keepsHistory {
            outputs.append(out)
            events += out.events
        }
        carryOut(sessions.taken(out.outcomes))
        carryOut(sessions.expire(now: MonotonicInstant(microseconds: now)))
        return (requests, out)
    }

    /// A tick's time passing, every frame checked on arrival; returns the arrivals' reactions.
    public mutating func advance() -> [ArrivalReaction] {
        rig.exchange(advancing: rig.tickMicroseconds)
        let reactions = rig.takeArrivals()
        for reaction in reactions where keepsHistory {
            outputs.append(reaction.output)
            events += reaction.output.events
        }
        return reactions
    }

    /// Ticks for `seconds`, or until `until` holds.
    public mutating func run(seconds: Double, until: (VirtualAPI) -> Bool = { _ in false }) {
        let end = now + Int64(seconds * 1e6)
        while now < end && !until(self) { tick() }
    }

    /// The replies a client has received since the last call.
    public mutating func takeAnswers(_ client: UInt64) -> [Answer] {
        defer { answers[client] = [] }
        return answers[client] ?? []
    }

    private mutating func carryOut(_ effects: [SessionEffect]) {
        for effect in effects {
            switch effect {
            case .reply(let client, let id, let reply):
                answers[client, default: []].append(Answer(id: id, reply: reply))
            case .submit(let request):
                if queue.count < queueLimit {
                    queue.append(request)
                } else {
                    carryOut(sessions.notQueued(request.ticket))
                }
            case .publish(let body):
                if keepsHistory { events.append(body) }
            case .close(let client):
                carryOut(sessions.disconnected(client))
            case .complain, .log:
                break
            case .handle(_, _, let method, _):
                handled.append(method)
            }
        }
    }
}
