import RFGenAPI
import RFGenCore
import RFGenMachine
import RFGenSimulator
import RFGenTestSupport
import Testing

/// The API's session logic and the daemon's machine together, in process and in virtual time
/// (`VirtualAPI`): several clients' request lines, the lease, the tick's outcomes, the replies.
struct APISessionTests {
    static func codes(_ answers: [VirtualAPI.Answer]) -> [String] {
        answers.map {
            switch $0.reply {
            case .empty: "ok"
            case .lease(let lease): lease.mine ? "lease mine" : "lease \(lease.held ? "held" : "free")"
            case .failure(let error): error.code.rawValue
            }
        }
    }

    @Test("The lease: only its holder starts; stop needs none; an observer does neither; the record names who started")
    func lease() {
        var api = VirtualAPI()
        let a = api.connect(uid: 1001, role: .operator).client
        let b = api.connect(uid: 1002, role: .operator).client
        let observer = api.connect(uid: 2000, role: .observer).client

        api.send(b, #"{"id":1,"method":"start","params":{"level":"L3"}}"#)
        #expect(Self.codes(api.takeAnswers(b)) == ["lease_required"])
        api.send(a, #"{"id":1,"method":"lease.acquire"}"#)
        #expect(Self.codes(api.takeAnswers(a)) == ["lease mine"])
        #expect(api.events.contains(.lease(LeaseInfo(held: true, client: a, uid: 1001, pid: 1001))))
        api.send(b, #"{"id":2,"method":"lease.acquire"}"#)
        api.send(b, #"{"id":3,"method":"start","params":{"level":"L3"}}"#)
        let refused = api.takeAnswers(b)
        #expect(Self.codes(refused) == ["lease_held", "lease_held"])
        if case .failure(let error) = refused.last?.reply {
            #expect(error.message.contains("client \(a) (uid 1001"), "names the holder: \(error.message)")
        }
        api.send(observer, #"{"id":1,"method":"stop"}"#)
        #expect(Self.codes(api.takeAnswers(observer)) == ["not_permitted"])

        api.send(a, #"{"id":4,"method":"start","params":{"level":"L4"}}"#)
        #expect(api.takeAnswers(a).isEmpty, "answered once the tick has taken it")
        api.tick()
        #expect(api.takeAnswers(a) == [VirtualAPI.Answer(id: .number(4), reply: .empty)])
        #expect(api.rig.machine.status.level == "L4")
        let began = api.outputs.flatMap(\.records).compactMap {
            if case .began(let start) = $0 { "\(start.level) \(start.operatorUID)" } else { nil }
        }
        #expect(began == ["L4 1001"])

        // Any operator may stop, lease or not.
        api.run(seconds: 1)
        api.send(b, #"{"id":5,"method":"stop"}"#)
        api.tick()
        #expect(Self.codes(api.takeAnswers(b)) == ["ok"])
        #expect(api.rig.core.phase == .stopped)

        // The holder disconnects: the lease is free, and said so.
        api.disconnect(a)
        #expect(api.events.last == .lease(LeaseInfo(held: false)))
        api.send(b, #"{"id":6,"method":"lease.acquire"}"#)
        #expect(Self.codes(api.takeAnswers(b)) == ["lease mine"])
    }

    @Test("The lease changes hands within one tick: both starts reach the tick; the first is done, the second refused")
    func leaseHandedOverInOneTick() {
        var api = VirtualAPI()
        let a = api.connect(uid: 1001, role: .operator).client
        let b = api.connect(uid: 1002, role: .operator).client
        api.send(a, #"{"id":1,"method":"lease.acquire"}"#)
        api.send(a, #"{"id":2,"method":"start","params":{"level":"L5"}}"#)
        api.send(a, #"{"id":3,"method":"lease.release"}"#)
        api.send(b, #"{"id":1,"method":"lease.acquire"}"#)
        api.send(b, #"{"id":2,"method":"start","params":{"level":"S1"}}"#)
        #expect(Self.codes(api.takeAnswers(a)) == ["lease mine", "lease free"])
        #expect(Self.codes(api.takeAnswers(b)) == ["lease mine"])
        api.tick()
        #expect(Self.codes(api.takeAnswers(a)) == ["ok"])
        let second = api.takeAnswers(b)
        #expect(Self.codes(second) == ["refused"])
        if case .failure(let error) = second.first?.reply {
            #expect(error.message.contains("a treatment is running"), "\(error.message)")
        }
        let began = api.outputs.flatMap(\.records).compactMap {
            if case .began(let start) = $0 { "\(start.level) \(start.operatorUID)" } else { nil }
        }
        #expect(began == ["L5 1001"], "the record names the start carried out")
    }

    @Test("Stop, then estop, racing a start in one tick: each request its own reply; RF never on for the estopped one")
    func stopAndEstopRacingStart() {
        var api = VirtualAPI()
        let a = api.connect(uid: 1001, role: .operator).client
        let b = api.connect(uid: 1002, role: .operator).client
        api.send(a, #"{"id":1,"method":"lease.acquire"}"#)
        _ = api.takeAnswers(a)

        // A stop sent just before the start in the same tick finds nothing running: done (stop
        // is idempotent), and the start after it is carried out.
        api.send(b, #"{"id":1,"method":"stop"}"#)
        api.send(a, #"{"id":2,"method":"start","params":{"level":"L4"}}"#)
        api.tick()
        #expect(Self.codes(api.takeAnswers(b)) == ["ok"])
        #expect(Self.codes(api.takeAnswers(a)) == ["ok"])
        #expect(api.rig.core.phase.isActive)
        // A stop sent just after the start in the same tick ends it.
        api.run(seconds: 1)
        api.send(b, #"{"id":2,"method":"stop"}"#)
        api.tick()
        #expect(api.rig.core.phase == .stopped)
        #expect(Self.codes(api.takeAnswers(b)) == ["ok"])
        let edges = api.rig.generator.recorder.edges.count

        // An estop racing a new start: the start is carried out and at once ended; the probe is
        // never energised, not even for the impedance check.
        api.send(a, #"{"id":3,"method":"start","params":{"level":"L5"}}"#)
        api.send(b, #"{"id":3,"method":"estop"}"#)
        api.tick()
        #expect(Self.codes(api.takeAnswers(a)) == ["ok"])
        #expect(Self.codes(api.takeAnswers(b)) == ["ok"])
        #expect(api.rig.core.phase == .faulted)
        api.run(seconds: 1)
        #expect(api.rig.generator.recorder.edges.count == edges, "no RF edge after the estop's tick")
        let commands = api.events.compactMap {
            if case .command(let c) = $0 { "\(c.client) \(c.command) \(c.accepted)" } else { nil }
        }
        #expect(commands.suffix(2) == ["\(a) start true", "\(b) estop true"])
    }

    @Test("Admission: too many clients, no role, a stopping daemon; waiting requests answered on stop")
    func admission() {
        var sessions = APISessions(
            limits: SessionLimits(clients: 2, waitingRequests: 2, replyTimeoutMicroseconds: 500_000)
        )
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        #expect(sessions.connect(uid: 1, gid: 1, groups: [1], pid: 1, role: .operator, now: t0).refusal == nil)
        #expect(sessions.connect(uid: 2, gid: 2, groups: [2], pid: 2, role: nil, now: t0).refusal?.code == .noRole)
        #expect(sessions.connect(uid: 3, gid: 3, groups: [3], pid: 3, role: .observer, now: t0).refusal == nil)
        #expect(
            sessions.connect(uid: 4, gid: 4, groups: [4], pid: 4, role: .observer, now: t0).refusal?.code
                == .tooManyClients
        )
        let effects = sessions.request(
            from: 1,
            line: Array(#"{"id":1,"method":"stop"}"#.utf8),
            now: t0,
            latchedAlarms: []
        )
        guard case .submit(let request) = effects.first else {
            Issue.record("no submit: \(effects)")
            return
        }
        #expect(request.command == .stop && request.uid == 1 && request.client == 1)
        let last = sessions.shutDown()
        #expect(
            last == [
                .reply(client: 1, id: .number(1), .failure(APIError(.shuttingDown, "rfgend is stopping; RF is off")))
            ]
        )
        #expect(
            sessions.connect(uid: 5, gid: 5, groups: [5], pid: 5, role: .operator, now: t0).refusal?.code
                == .shuttingDown
        )
    }

    /// A request of `method` without params, from `client`, at `now`.
    static func call(
        _ sessions: inout APISessions,
        _ method: String,
        from client: UInt64,
        id: Int,
        now: MonotonicInstant
    ) -> [SessionEffect] {
        sessions.request(
            from: client,
            line: Array("{\"id\":\(id),\"method\":\"\(method)\"}".utf8),
            now: now,
            latchedAlarms: []
        )
    }

    @Test("An operator's stop is never busy for acknowledgements or starts that fill the waiting room")
    func stopsHaveTheirOwnRoom() {
        var sessions = APISessions(limits: .daemon(clients: 4))
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        _ = sessions.connect(uid: 1, gid: 1, groups: [1], pid: 1, role: .operator, now: t0)
        _ = sessions.connect(uid: 2, gid: 2, groups: [2], pid: 2, role: .operator, now: t0)
        // Operator 1 floods acknowledgements until they are busy.
        var busy = false
        for id in 1...40 where !busy {
            let out = Self.call(&sessions, "ack", from: 1, id: id, now: t0)
            busy = out.contains { if case .reply(_, _, .failure(let e)) = $0 { e.code == .busy } else { false } }
        }
        #expect(busy, "the flood fills the room")
        // Operator 2's stop and estop still go to the tick.
        for method in ["stop", "estop"] {
            let out = Self.call(&sessions, method, from: 2, id: 1, now: t0)
            #expect(out.count == 1 && { if case .submit = out[0] { true } else { false } }(), "\(method): \(out)")
        }
    }

    @Test("Commands the tick does not take in time are answered timeout; more waiting than the limit are busy")
    func timeoutAndBusy() {
        var sessions = APISessions(
            limits: SessionLimits(clients: 4, waitingRequests: 16, waitingStops: 2, replyTimeoutMicroseconds: 500_000)
        )
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        _ = sessions.connect(uid: 1, gid: 1, groups: [1], pid: 1, role: .operator, now: t0)
        func send(_ id: Int) -> [SessionEffect] { Self.call(&sessions, "estop", from: 1, id: id, now: t0) }
        #expect(send(1).count == 1)
        #expect(send(2).count == 1)
        #expect(
            send(3) == [
                .reply(
                    client: 1,
                    id: .number(3),
                    .failure(APIError(.busy, "2 stops are waiting for the control loop; try again"))
                )
            ]
        )
        #expect(sessions.expire(now: t0 + 500_000).isEmpty, "not before the deadline")
        let late = sessions.expire(now: t0 + 500_001)
        #expect(late.count == 2)
        #expect(late.allSatisfy { if case .reply(_, _, .failure(let e)) = $0 { e.code == .timeout } else { false } })
        #expect(sessions.waitingTickets.isEmpty)
    }

    @Test("The rate limit: a burst of 100, then 50 a second; 500 limited in a row is a flood and closes")
    func rateLimit() {
        var sessions = APISessions(
            limits: SessionLimits(clients: 4, waitingRequests: 16, replyTimeoutMicroseconds: 500_000)
        )
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        _ = sessions.connect(uid: 1, gid: 1, groups: [1], pid: 1, role: .observer, now: t0)
        let ping = Array(#"{"id":1,"method":"ping"}"#.utf8)
        for _ in 0..<APILimits.requestBurst {
            #expect(
                sessions.request(from: 1, line: ping, now: t0, latchedAlarms: []) == [
                    .reply(client: 1, id: .number(1), .empty)
                ]
            )
        }
        let limited = sessions.request(from: 1, line: ping, now: t0, latchedAlarms: [])
        #expect(
            limited.first.map {
                if case .reply(_, .number(1), .failure(let e)) = $0 { e.code == .rateLimited } else { false }
            } == true,
            "rate_limited, with the request's id"
        )
        // A second later, 50 more.
        let later = t0 + 1_000_000
        for _ in 0..<APILimits.requestsPerSecond {
            #expect(sessions.request(from: 1, line: ping, now: later, latchedAlarms: []).count == 1)
        }
        var closed = false
        for _ in 0..<APILimits.floodDisconnect where !closed {
            closed = sessions.request(from: 1, line: ping, now: later, latchedAlarms: []).contains(.close(client: 1))
        }
        #expect(closed, "a flood closes the connection")
    }

    @Test("Operators have slots no observer can take: with max_clients observers connected, an operator still gets in")
    func operatorReserve() {
        var limits = SessionLimits.daemon(clients: 3)
        limits.operatorReserve = 2
        var sessions = APISessions(limits: limits)
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        for uid in UInt32(1)...3 {
            #expect(
                sessions.connect(uid: uid, gid: uid, groups: [uid], pid: 1, role: .observer, now: t0).refusal == nil
            )
        }
        let observer = sessions.connect(uid: 4, gid: 4, groups: [4], pid: 1, role: .observer, now: t0)
        #expect(observer.refusal?.code == .tooManyClients, "observers stop at max_clients")
        #expect(sessions.connect(uid: 0, gid: 0, groups: [0], pid: 1, role: .operator, now: t0).refusal == nil)
        #expect(sessions.connect(uid: 0, gid: 0, groups: [0], pid: 2, role: .operator, now: t0).refusal == nil)
        let third = sessions.connect(uid: 0, gid: 0, groups: [0], pid: 3, role: .operator, now: t0)
        #expect(third.refusal?.code == .tooManyClients, "the reserve is bounded too")
    }

    @Test("Deadlines: idle and unsubscribed after 60 s, a line unfinished for 10 s; a subscriber is kept")
    func deadlines() {
        var sessions = APISessions(limits: .daemon())
        let t0 = MonotonicInstant(microseconds: 1_000_000)
        let idle = sessions.connect(uid: 1, gid: 1, groups: [1], pid: 1, role: .observer, now: t0).client
        let subscriber = sessions.connect(uid: 2, gid: 2, groups: [2], pid: 2, role: .observer, now: t0).client
        let trickler = sessions.connect(uid: 3, gid: 3, groups: [3], pid: 3, role: .observer, now: t0).client
        let poller = sessions.connect(uid: 4, gid: 4, groups: [4], pid: 4, role: .observer, now: t0).client
        sessions.setSubscribed(subscriber, true)
        // The trickler begins a line and sends more of it, never its end.
        sessions.bytesArrived(from: trickler, endsLine: false, now: t0 + 1_000_000)
        sessions.bytesArrived(from: trickler, endsLine: false, now: t0 + 9_000_000)
        #expect(sessions.overdue(now: t0 + 11_000_000).isEmpty, "10 s from the line's first bytes is allowed")
        #expect(sessions.overdue(now: t0 + 11_000_001).contains(.close(client: trickler)))
        #expect(sessions.sessions[trickler] == nil, "closed and forgotten at once")
        // The poller asks at 30 s.
        _ = sessions.request(
            from: poller,
            line: Array(#"{"id":1,"method":"ping"}"#.utf8),
            now: t0 + 30_000_000,
            latchedAlarms: []
        )
        #expect(sessions.overdue(now: t0 + 60_000_000).isEmpty, "60 s is allowed")
        let late = sessions.overdue(now: t0 + 60_000_001)
        #expect(late.contains(.close(client: idle)))
        #expect(!late.contains(.close(client: subscriber)) && !late.contains(.close(client: poller)))
        #expect(late.contains { if case .reply(idle, nil, .failure(let e)) = $0 { e.code == .timeout } else { false } })
        #expect(sessions.overdue(now: t0 + 90_000_001).contains(.close(client: poller)))
        #expect(sessions.overdue(now: t0 + 1_000_000_000).allSatisfy { $0 != .close(client: subscriber) })
    }
}
