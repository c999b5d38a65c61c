// The socket API's session logic without I/O: who is admitted, with which role; each client's
// request rate; the control lease; the operator requests on their way to the tick, with their
// tickets and deadlines. Pure: time is given with each call (`MonotonicInstant`), and what the
// shell must do comes back as effects. rfgend's `APIHub` moves the bytes and carries the effects
// out; the in-process tests and the deterministic simulation drive this same value.

import RFGenAPI
import RFGenCore

/// A reply the session logic decides on its own.
public enum SessionReply: Hashable, Sendable {
    /// `{}`: the request was carried out (for a command: once the tick took it).
    case empty
    case lease(LeaseInfo)
    case failure(APIError)
}

/// What the shell must do for the session logic, in order.
public enum SessionEffect: Hashable, Sendable {
    case reply(client: UInt64, id: RequestID?, SessionReply)
    /// Queue this request for the next tick; its reply comes with its outcome (`taken`).
    case submit(OperatorRequest)
    /// Publish this event (a change of the lease).
    case publish(EventBody)
    /// Close the connection once what was sent before is out.
    case close(client: UInt64)
    /// Log the client's misbehaviour with its last requests.
    case complain(client: UInt64, String)
    case log(String)
    /// A method whose answer needs the daemon's data (status, records, subscriptions): the shell
    /// answers it. Rate, parse and role have been checked.
    case handle(client: UInt64, id: RequestID?, RFGenAPI.Method, line: [UInt8])
}

/// The limits the session logic keeps, from the daemon's configuration.
public struct SessionLimits: Hashable, Sendable {
    /// Clients connected at once (`max_clients`): what observers may take.
    public var clients: Int
    /// Connections beyond `clients` that only operators may take, so that no observer (nor a
    /// crowd of them) can keep an operator from connecting to stop a lesion.
    public var operatorReserve = 8
    /// A connection that has sent no complete request for this long and is not subscribed is
    /// closed, µs: it holds a slot and does nothing (a console polls status every second or
    /// subscribes; rfctl's commands are over in a moment).
    public var idleMicroseconds: Int64 = 60_000_000
    /// A request line begun and not finished for this long closes the connection, µs: a line
    /// trickled a byte at a time would hold its slot for ever.
    public var partialLineMicroseconds: Int64 = 10_000_000
    /// Operator requests waiting for the tick, across all clients; more are answered `busy`.
    /// `start` and `ack` only: see `waitingStops`.
    public var waitingRequests: Int
    /// `stop` and `estop` waiting for the tick, across all clients, in a room of their own: no
    /// flood of starts or acknowledgements from any client can make an operator's stop busy.
    public var waitingStops: Int
    /// How long a request waits for the tick before it is answered `timeout`, µs.
    public var replyTimeoutMicroseconds: Int64

    public init(clients: Int, waitingRequests: Int, waitingStops: Int = 16, replyTimeoutMicroseconds: Int64) {
        self.clients = clients
        self.waitingRequests = waitingRequests
        self.waitingStops = waitingStops
        self.replyTimeoutMicroseconds = replyTimeoutMicroseconds
    }

    /// rfgend's limits for `clients` clients (`max_clients`): what the daemon, the in-process
    /// tests and the simulation all run with. 16 commands waiting: a tick takes them all, so more
    /// means something is sending far faster than anyone types. Half a second for the tick to take
    /// one: fifty ticks at the slowest rate.
    public static func daemon(clients: Int = APILimits.clients) -> SessionLimits {
        SessionLimits(clients: clients, waitingRequests: 16, replyTimeoutMicroseconds: 500_000)
    }
}

/// A token bucket: `APILimits.requestsPerSecond` on average, bursts of `requestBurst`, and a
/// client rate-limited `floodDisconnect` times in a row is dropped.
public struct RequestBucket: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable { case allowed, limited, flood }

    public private(set) var tokens = Double(APILimits.requestBurst)
    private var refilled: MonotonicInstant
    public private(set) var limitedInARow = 0

    public init(now: MonotonicInstant) { refilled = now }

    public mutating func take(now: MonotonicInstant) -> Verdict {
        let elapsed = Double(max(0, now - refilled)) / 1e6
        tokens = min(Double(APILimits.requestBurst), tokens + elapsed * Double(APILimits.requestsPerSecond))
        refilled = max(refilled, now)
        guard tokens >= 1 else {
            limitedInARow += 1
            return limitedInARow >= APILimits.floodDisconnect ? .flood : .limited
        }
        // A flood is forgiven only once the client has let its bucket fill up again: a few tokens
        // trickling in mid-flood do not reset the count.
        if tokens >= Double(APILimits.requestBurst) { limitedInARow = 0 }
        tokens -= 1
        return .allowed
    }
}

public struct APISessions: Sendable {
    /// One connected client, as the session logic knows it.
    public struct Session: Hashable, Sendable {
        public let id: UInt64
        public let uid: UInt32
        public let gid: UInt32
        public let pid: Int32
        public let role: Role
        /// Its last requests (cut to 200 bytes), for the log and `clients`.
        public fileprivate(set) var history: [String] = []
        fileprivate var bucket: RequestBucket
        /// When it connected or last sent a complete request; whether it is subscribed; since
        /// when a request line has been left unfinished.
        fileprivate var lastRequest: MonotonicInstant
        public fileprivate(set) var subscribed = false
        fileprivate var partialSince: MonotonicInstant?

        public var name: String { "client \(id) (uid \(uid), pid \(pid))" }
    }

    private struct Waiting: Hashable, Sendable {
        var client: UInt64
        /// A stop or an emergency stop, which waits in its own room.
        var stops: Bool
        /// A start, which belongs to the open session once the tick takes it.
        var starts = false
        var id: RequestID?
        var ticket: UInt64
        var deadline: MonotonicInstant
    }

    public let limits: SessionLimits
    public private(set) var sessions: [UInt64: Session] = [:]
    /// The client holding the control lease.
    public private(set) var leaseHolder: UInt64?
    public private(set) var shuttingDown = false
    /// The open procedure session, as the records hold it; nil when none is open.
    public private(set) var procedure: SessionBrief?
    /// A `session.open` or `session.close` is being written to the records: no other may begin,
    /// and no start (which would not know which session it belongs to) is taken, until it settles.
    public private(set) var procedureChanging = false
    private var waiting: [Waiting] = []
    private var nextClient: UInt64 = 1
    private var nextTicket: UInt64 = 1
    private let decoder = APIJSON.decoder()

    /// The profiles a start may name: the built-in ones and the configuration's.
    public let profiles: [TreatmentProfile]

    public init(limits: SessionLimits, profiles: [TreatmentProfile] = TreatmentProfile.builtIn) {
        precondition(!profiles.isEmpty, "a daemon offers at least its built-in profiles")
        self.limits = limits
        self.profiles = profiles
    }

    // MARK: - Procedure sessions

    /// The session the records say is open, when the daemon starts: it stays open across a restart.
    public mutating func restore(procedure: SessionBrief?) {
        precondition(!procedureChanging, "restored before any request")
        self.procedure = procedure
    }

    /// A `session.open` or `session.close` was written: `procedure` is what is open now.
    public mutating func procedureChanged(to procedure: SessionBrief?) {
        assert(procedureChanging, "a change settles only after it began")
        self.procedure = procedure
        procedureChanging = false
    }

    /// A `session.open` or `session.close` was not carried out (refused, or the write failed).
    public mutating func procedureUnchanged() {
        assert(procedureChanging, "a change settles only after it began")
        procedureChanging = false
    }

    private mutating func beginProcedureChange() throws(APIError) {
        guard !procedureChanging else { throw APIError(.busy, "a session is being opened or closed; try again") }
        procedureChanging = true
    }

    // MARK: - Connections

    /// A peer connected: its number, and the refusal it gets instead of a banner, if any.
    /// - Parameter role: its role by the policy (`RolePolicy.role`); nil when it has none.
    public mutating func connect(
        uid: UInt32,
        gid: UInt32,
        groups: Set<UInt32>,
        pid: Int32,
        role: Role?,
        now: MonotonicInstant
    ) -> (client: UInt64, refusal: APIError?) {
        let id = nextClient
        nextClient += 1
        let refusal: APIError? =
            if shuttingDown {
                APIError(.shuttingDown, "rfgend is stopping")
            } else if role != .operator && sessions.count >= limits.clients {
                APIError(.tooManyClients, "\(limits.clients) clients are connected; try again later")
            } else if sessions.count >= limits.clients + limits.operatorReserve {
                APIError(
                    .tooManyClients,
                    "\(limits.clients) clients and \(limits.operatorReserve) operators beyond them are connected; try again later"
                )
            } else if role == nil {
                APIError(
                    .noRole,
                    "uid \(uid) is in no operator or observer group of this daemon (its groups: \(groups.sorted().map(String.init).joined(separator: ", ")))"
                )
            } else {
                nil
            }
        if refusal == nil, let role {
            sessions[id] = Session(
                id: id,
                uid: uid,
                gid: gid,
                pid: pid,
                role: role,
                bucket: RequestBucket(now: now),
                lastRequest: now
            )
        }
        return (id, refusal)
    }

    /// A connection closed: its waiting requests are forgotten (their commands still run) and
    /// its lease is freed.
    public mutating func disconnected(_ client: UInt64) -> [SessionEffect] {
        guard let session = sessions.removeValue(forKey: client) else { return [] }
        waiting.removeAll { $0.client == client }
        guard leaseHolder == client else { return [] }
        leaseHolder = nil
        return [
            .log("\(session.name) disconnected holding the control lease; the lease is free"),
            .publish(.lease(lease(for: nil))),
        ]
    }

    // MARK: - Requests

    /// One request line from a client.
    /// - Parameter latchedAlarms: the alarms latched now, for `ack` with an id.
    public mutating func request(
        from client: UInt64,
        line: [UInt8],
        now: MonotonicInstant,
        latchedAlarms: @autoclosure () -> [UInt64]
    ) -> [SessionEffect] {
        guard var session = sessions[client] else { return [] }
        defer { sessions[client] = session }
        session.lastRequest = now
        var text = String(decoding: line.prefix(200), as: UTF8.self)
        if line.count > 200 { text += "…" }
        session.history.append(text)
        if session.history.count > APILimits.requestHistory { session.history.removeFirst() }

        switch session.bucket.take(now: now) {
        case .allowed:
            break
        case .limited:
            let error = APIError(.rateLimited, "more than \(APILimits.requestsPerSecond) requests a second; slow down")
            return [.reply(client: client, id: APIJSON.readableID(line, decoder: decoder), .failure(error))]
        case .flood:
            return [
                .complain(
                    client: client,
                    "\(session.bucket.limitedInARow) requests over the rate limit in a row; disconnecting"
                ),
                .close(client: client),
            ]
        }

        let head: RequestHead
        do {
            head = try APIJSON.head(line, decoder: decoder)
        } catch {
            return [
                .complain(client: client, "malformed request: \(error.message)"),
                // Its id, where one can be read (a request without a method still has one).
                .reply(client: client, id: APIJSON.readableID(line, decoder: decoder), .failure(error)),
            ]
        }
        guard let method = RFGenAPI.Method(rawValue: head.method) else {
            let error = APIError(
                .unknownMethod,
                "unknown method \"\(head.method)\"; methods: \(RFGenAPI.Method.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return [.reply(client: client, id: head.id, .failure(error))]
        }
        guard session.role >= method.requiredRole else {
            let error = APIError(
                .notPermitted,
                "\(method.rawValue) needs the operator role; uid \(session.uid) is an observer (observers read and subscribe)"
            )
            return [.reply(client: client, id: head.id, .failure(error))]
        }
        do {
            return try dispatch(method, id: head.id, line: line, session: session, now: now, latched: latchedAlarms)
        } catch {
            return [.reply(client: client, id: head.id, .failure(error))]
        }
    }

    private mutating func dispatch(
        _ method: RFGenAPI.Method,
        id: RequestID?,
        line: [UInt8],
        session: Session,
        now: MonotonicInstant,
        latched: () -> [UInt64]
    ) throws(APIError) -> [SessionEffect] {
        let client = session.id
        switch method {
        case .ping:
            return [.reply(client: client, id: id, .empty)]
        case .leaseAcquire:
            if let holder = leaseHolder, holder != client { throw leaseHeld("the control lease is", holder) }
            var effects: [SessionEffect] = []
            if leaseHolder == nil {
                leaseHolder = client
                effects.append(.publish(.lease(lease(for: nil))))
            }
            return effects + [.reply(client: client, id: id, .lease(lease(for: client)))]
        case .leaseRelease:
            var effects: [SessionEffect] = []
            if leaseHolder == client {
                leaseHolder = nil
                effects.append(.publish(.lease(lease(for: nil))))
            }
            return effects + [.reply(client: client, id: id, .lease(lease(for: client)))]
        case .start:
            guard let params = try APIJSON.params(StartParams.self, line, decoder: decoder) else {
                throw APIError(
                    .invalidParams,
                    "start needs params {\"level\": \"L4\"} (and optionally profile, hold_s)"
                )
            }
            let name = params.profile ?? "bvn"
            guard var profile = profiles.first(where: { $0.name == name }) else {
                throw APIError(
                    .invalidParams,
                    "unknown profile \"\(name)\"; profiles: \(profiles.map(\.name).joined(separator: ", "))"
                )
            }
            if let problem = StartParams.levelProblem(params.level) { throw APIError(.invalidParams, problem) }
            if let procedure, !procedure.levels.contains(params.level) {
                throw APIError(
                    .invalidParams,
                    "level \(params.level) is not planned in session \(procedure.id) "
                        + "(\(procedure.levels.joined(separator: ", "))); close it to treat outside the plan"
                )
            }
            if let hold = params.holdS {
                // A shorter hold than the profile's, for tests and demonstrations; never a longer one.
                let allowed = TreatmentProfile.Limits.holdSeconds.lowerBound...profile.holdSeconds
                guard hold.isFinite, allowed.contains(hold) else {
                    throw APIError(
                        .invalidParams,
                        "hold_s must be \(Int(allowed.lowerBound))-\(Int(allowed.upperBound)) s for profile \(profile.name) (at most its own hold); got \(hold)"
                    )
                }
                profile = profile.withHold(seconds: hold)
            }
            // The params are read before the lease is looked at (API.md: the order of the checks).
            guard leaseHolder == client else {
                if let holder = leaseHolder { throw leaseHeld("start needs the control lease,", holder) }
                throw APIError(.leaseRequired, "start needs the control lease: call lease.acquire first")
            }
            guard !procedureChanging else {
                throw APIError(.busy, "a session is being opened or closed; try again")
            }
            return try submit(.start(profile), level: params.level, id: id, session: session, now: now)
        case .stop:
            return try submit(.stop, id: id, session: session, now: now)
        case .estop:
            return try submit(.emergencyStop, id: id, session: session, now: now)
        case .ack:
            let params = try APIJSON.params(AckParams.self, line, decoder: decoder) ?? AckParams()
            if let alarm = params.id {
                let latched = latched()
                guard latched.contains(alarm) else {
                    throw APIError(
                        .notFound,
                        "no latched alarm \(alarm); latched: \(latched.isEmpty ? "none" : latched.map(String.init).joined(separator: ", "))"
                    )
                }
            }
            return try submit(.acknowledge, id: id, session: session, now: now)
        case .sessionOpen:
            guard let params = try APIJSON.params(SessionOpenParams.self, line, decoder: decoder) else {
                throw APIError(
                    .invalidParams,
                    "session.open needs params {\"patient_ref\": \"…\", \"levels\": [\"L4\", …]} (and optionally procedure)"
                )
            }
            if let problem = params.problem() { throw APIError(.invalidParams, problem) }
            if let open = procedure {
                throw APIError(.refused, "session \(open.id) (patient \(open.patientRef)) is open: close it first")
            }
            try beginProcedureChange()
            return [.handle(client: client, id: id, method, line: line)]
        case .sessionClose:
            let params = try APIJSON.params(SessionParams.self, line, decoder: decoder) ?? SessionParams()
            guard let open = procedure else { throw APIError(.refused, "no session is open") }
            if let asked = params.id, asked != open.id {
                throw APIError(.notFound, "session \(asked) is not the open one; session \(open.id) is")
            }
            // A start on its way to the tick belongs to this session: closing now would file a
            // lesion under a closed session.
            guard !waiting.contains(where: \.starts) else {
                throw APIError(.busy, "a start is waiting for the control loop; try again")
            }
            try beginProcedureChange()
            return [.handle(client: client, id: id, method, line: line)]
        case .status, .profiles, .clients, .metrics, .subscribe, .unsubscribe, .recordsList, .recordsShow,
            .recordsExport,
            .sessionShow, .sessionList:
            return [.handle(client: client, id: id, method, line: line)]
        }
    }

    private func leaseHeld(_ what: String, _ holder: UInt64) -> APIError {
        let named = sessions[holder].map { "client \($0.id) (uid \($0.uid), pid \($0.pid))" } ?? "client \(holder)"
        return APIError(.leaseHeld, "\(what) held by \(named)")
    }

    /// A command for the tick, with a new ticket; answered when the tick has taken it.
    private mutating func submit(
        _ command: OperatorCommand,
        level: String = "",
        id: RequestID?,
        session: Session,
        now: MonotonicInstant
    ) throws(APIError) -> [SessionEffect] {
        guard !shuttingDown else { throw APIError(.shuttingDown, "rfgend is stopping; RF is off") }
        let stops = command == .stop || command == .emergencyStop
        let room = stops ? limits.waitingStops : limits.waitingRequests
        guard waiting.count(where: { $0.stops == stops }) < room else {
            throw APIError(
                .busy,
                "\(room) \(stops ? "stops" : "commands") are waiting for the control loop; try again"
            )
        }
        let ticket = nextTicket
        nextTicket += 1
        waiting.append(
            Waiting(
                client: session.id,
                stops: stops,
                starts: { if case .start = command { true } else { false } }(),
                id: id,
                ticket: ticket,
                deadline: now + limits.replyTimeoutMicroseconds
            )
        )
        assert(waiting.count <= limits.waitingRequests + limits.waitingStops, "each room holds its own")
        return [
            .submit(
                OperatorRequest(
                    ticket: ticket,
                    command: command,
                    level: level,
                    uid: session.uid,
                    client: session.id,
                    session: procedure?.id
                )
            )
        ]
    }

    // MARK: - Deadlines

    /// Bytes arrived from a client; `endsLine`: the last of them ended a request line.
    public mutating func bytesArrived(from client: UInt64, endsLine: Bool, now: MonotonicInstant) {
        guard sessions[client] != nil else { return }
        if endsLine {
            sessions[client]?.partialSince = nil
        } else if sessions[client]?.partialSince == nil {
            sessions[client]?.partialSince = now
        }
    }

    /// The shell's subscription state for a client (it answers `subscribe` and `unsubscribe`).
    public mutating func setSubscribed(_ client: UInt64, _ subscribed: Bool) {
        sessions[client]?.subscribed = subscribed
    }

    /// Connections past their deadline: a line left unfinished, or idle and not subscribed. Each
    /// is told why and closed.
    public mutating func overdue(now: MonotonicInstant) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        for session in sessions.values.sorted(by: { $0.id < $1.id }) {
            let why: String
            if let since = session.partialSince, now - since > limits.partialLineMicroseconds {
                why = "a request line unfinished for \(limits.partialLineMicroseconds / 1_000_000) s"
            } else if !session.subscribed, now - session.lastRequest > limits.idleMicroseconds {
                why = "no request for \(limits.idleMicroseconds / 1_000_000) s and not subscribed"
            } else {
                continue
            }
            let recent = session.history.suffix(4).joined(separator: " | ")
            effects.append(
                .log(
                    "\(session.name), \(session.role.rawValue): \(why); closing; last requests: \(recent.isEmpty ? "none" : recent)"
                )
            )
            effects.append(
                .reply(client: session.id, id: nil, .failure(APIError(.timeout, "\(why); closing the connection")))
            )
            effects.append(.close(client: session.id))
            // Closed: forgotten now, so that it is told once (its disconnect finds nothing).
            effects += disconnected(session.id)
        }
        return effects
    }

    // MARK: - Outcomes

    /// The tickets waiting for the tick's outcome.
    public var waitingTickets: [UInt64] { waiting.map(\.ticket) }

    /// The tick has taken these requests: each is answered, done or refused with the reason.
    public mutating func taken(_ outcomes: [OperatorOutcome]) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        for outcome in outcomes {
            guard let index = waiting.firstIndex(where: { $0.ticket == outcome.ticket }) else { continue }
            let entry = waiting.remove(at: index)
            let reply: SessionReply = outcome.refusal.map { .failure(APIError(.refused, $0)) } ?? .empty
            effects.append(.reply(client: entry.client, id: entry.id, reply))
        }
        return effects
    }

    /// A request the shell could not queue: answered `busy`.
    public mutating func notQueued(_ ticket: UInt64) -> [SessionEffect] {
        guard let index = waiting.firstIndex(where: { $0.ticket == ticket }) else { return [] }
        let entry = waiting.remove(at: index)
        let error = APIError(.busy, "the control loop's queue is full; try again")
        return [.reply(client: entry.client, id: entry.id, .failure(error))]
    }

    /// Requests the tick has not taken by their deadline are answered `timeout`.
    public mutating func expire(now: MonotonicInstant) -> [SessionEffect] {
        var effects: [SessionEffect] = []
        waiting.removeAll { entry in
            guard now > entry.deadline else { return false }
            let error = APIError(.timeout, "the control loop did not take the command in time; check status")
            effects.append(.reply(client: entry.client, id: entry.id, .failure(error)))
            return true
        }
        return effects
    }

    /// The daemon is stopping: no more clients or commands; waiting requests are answered.
    public mutating func shutDown() -> [SessionEffect] {
        shuttingDown = true
        defer { waiting.removeAll() }
        return waiting.map {
            .reply(client: $0.client, id: $0.id, .failure(APIError(.shuttingDown, "rfgend is stopping; RF is off")))
        }
    }

    // MARK: - Views

    /// The lease as `client` sees it (nil: as an event, for everyone).
    public func lease(for client: UInt64?) -> LeaseInfo {
        guard let holder = leaseHolder, let session = sessions[holder] else { return LeaseInfo(held: false) }
        return LeaseInfo(held: true, client: session.id, uid: session.uid, pid: session.pid, mine: holder == client)
    }
}
