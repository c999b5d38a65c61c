import NIOCore
import NIOExtras
import NIOPosix
import RFGenAPI
import RFGenCore
import RFGenMachine
import RFGenRecords
import RFGenSystem

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The API's shell: connections, the replay buffer and the subscribers' delivery, and the answers
/// that need the daemon's data. Who is admitted, roles, rate limits, the control lease and the
/// commands waiting for the tick are decided by `APISessions` (pure); this carries its effects
/// out. Confined to one event loop: every method runs on it (asserted), so nothing here locks.
final class APIHub: @unchecked Sendable {
    /// Who this daemon is, for the banner.
    struct Identity: Sendable {
        var version: String
        /// Random, new on every start.
        var instance: String
        /// The first sequence number this daemon issued, and, after a daemon that died, the last
        /// number known to have been issued before it.
        var firstSeq: UInt64
        var unknownAfterSeq: UInt64?
        /// The procedure session the records say is open as this daemon starts: it stays open.
        var openSession: SessionBrief? = nil
    }

    /// One connection. @unchecked: touched only on the hub's event loop, like the hub.
    final class Client: @unchecked Sendable {
        let id: UInt64
        let channel: any Channel
        let uid: UInt32
        let pid: Int32
        var streams: Set<RFGenAPI.Stream> = []
        /// The next sequence number to send; nil when not subscribed.
        var cursor: UInt64?
        var missed: UInt64 = 0
        /// Since when events or a reply have waited for a client that reads nothing.
        var blockedSince: MonotonicInstant?
        var closing = false
        /// Records requests of this client waiting or being answered (`RecordsRead`).
        var recordsRequests = 0
        /// A records reply is being read, encoded or written: the client's next waits for it, so
        /// a client holds at most one records reply in the daemon's memory.
        var readingRecords = false
        /// What is left to write of a large reply, sent in pieces as the socket takes them, and
        /// what to do once it is written.
        var replyLeft: ByteBuffer?
        var replyDone: (() -> Void)?

        init(id: UInt64, channel: any Channel, uid: UInt32, pid: Int32) {
            self.id = id
            self.channel = channel
            self.uid = uid
            self.pid = pid
        }

        var name: String { "client \(id) (uid \(uid), pid \(pid))" }
    }

    private let loop: any EventLoop
    private let pool: NIOThreadPool
    private let shared: Shared
    private let roles: RolePolicy
    private let identity: Identity
    private let log: @Sendable (String) -> Void
    private let encoder = APIJSON.encoder()
    private let decoder = APIJSON.decoder()
    private var clients: [UInt64: Client] = [:]
    private var sessions: APISessions
    private var replay: ReplayBuffer<ReplayEntry>
    private var drained: [Event] = []
    private var pumpTask: Scheduled<Void>?
    /// When the scheduled pump runs.
    private var nextPump: NIODeadline = .distantFuture
    /// Set by `finish`: no pump is scheduled after the last.
    private var finished = false
    /// The bus will wake the loop at its next event (`pumpAndWait`).
    private var wakeArmed = false
    /// Watches the bus's wake-up (`EventBus.wake`); nil until registered, or if it could not be.
    private var wakeChannel: (any Channel)?
    /// When `pumpAndWait` last took an event: the pace of the events, whatever else woke it.
    private var lastTake: NIODeadline = .distantPast
    /// When the pump last looked for connections past their deadlines (`apiHousekeepingMicroseconds`).
    private var lastHousekeeping = MonotonicInstant(microseconds: .min / 2)
    /// The notable events into the log (alarms, RF edges, phases, commands).
    private var journal: EventJournal
    private let maxClients: Int
    /// Records requests in the order they came, each waiting for its client's previous one and,
    /// for an export, for the thread pool and room in `APILimits.exportBytesHeld`.
    private var recordsReads: [RecordsRead] = []
    /// Exports being read and encoded on the thread pool, and the bytes of encoded exports not
    /// yet taken by their clients (`APILimits.exportsProduced`, `exportBytesHeld`).
    private var exportsProducing = 0
    private var exportBytesHeld = 0

    /// A records request: the read and its reply's encoding, both done on the thread pool.
    private struct RecordsRead {
        let client: Client
        /// An export: its reply may be many megabytes.
        let large: Bool
        let produce: @Sendable () -> (line: ByteBuffer?, value: (any Sendable)?)
        /// Called on the loop once `produce` has run, with its value (nil when it failed).
        let settled: (@Sendable ((any Sendable)?) -> Void)?
    }

    init(
        loop: any EventLoop,
        pool: NIOThreadPool,
        shared: Shared,
        roles: RolePolicy,
        maxClients: Int,
        profiles: [TreatmentProfile],
        identity: Identity,
        journal: EventJournal,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.journal = journal
        self.loop = loop
        self.pool = pool
        self.shared = shared
        self.roles = roles
        self.maxClients = maxClients
        sessions = APISessions(limits: .daemon(clients: maxClients), profiles: profiles)
        sessions.restore(procedure: identity.openSession)
        self.identity = identity
        self.log = log
        replay = ReplayBuffer(capacity: APILimits.replayEvents, latestSeq: identity.firstSeq - 1)
    }

    func startPumping() {
        loop.assertInEventLoop()
        schedulePump(inMicroseconds: DaemonLimits.apiPumpMicroseconds)
        // The bus's wake-up, watched by the loop like a connection. NIO closes its copy.
        let copy = dup(shared.bus.wake.descriptor)
        guard copy >= 0 else {
            log("api: cannot watch the event bus (dup: errno \(errno)); subscribers are fed every 5 ms instead")
            return
        }
        NIOPipeBootstrap(group: loop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BusWake(hub: self))
                }
            }
            .takingOwnershipOfDescriptor(input: copy)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    if finished { channel.close(promise: nil) } else { wakeChannel = channel }
                case .failure(let error):
                    // Not closed here: NIO may have closed it already, and a second close could
                    // take a descriptor opened since. One descriptor, once, is the cost.
                    log("api: cannot watch the event bus (\(error)); subscribers are fed every 5 ms instead")
                }
            }
    }

    /// The bus's wake-up came: an event is waiting.
    fileprivate func busWoke() {
        loop.assertInEventLoop()
        wakeArmed = false
        if !finished { pumpAndWait() }
    }

    /// Runs the pump within the given time, sooner if it is already due sooner.
    private func schedulePump(inMicroseconds delay: Int64) {
        let deadline = NIODeadline.now() + .microseconds(delay)
        guard deadline < nextPump else { return }
        setPumpTimer(deadline)
    }

    private func setPumpTimer(_ deadline: NIODeadline) {
        guard !finished else { return }
        pumpTask?.cancel()
        nextPump = deadline
        pumpTask = loop.scheduleTask(deadline: deadline) { [self] in
            nextPump = .distantFuture
            pumpTask = nil
            pumpAndWait()
        }
    }

    /// The pump, then what wakes the next one. While a subscriber waits, the bus wakes the loop
    /// at the next event, so an event is sent as it is made; the timer is then only the
    /// housekeeping's backstop (connections past their deadlines, which each pump also looks
    /// after), every `apiHousekeepingMicroseconds`, and is not moved by the pumps in between:
    /// about one wake-up an event (issue 19: each wake-up costs more CPU than the work it does).
    /// A timer pushed back at each pump did not save its wake-up: NIO arms its timer descriptor
    /// for the earliest deadline and does not move it later, so it fired as first set and the
    /// loop woke for nothing. Events that come faster than `apiPumpMicroseconds` apart (a 1 kHz
    /// tick's telemetry) are taken on that beat instead, several a wake-up, until a pump finds
    /// at most one. While a command waits for the tick's answer, which makes no event, the pump
    /// runs every `apiPumpMicroseconds`; with no subscriber, every `apiIdlePumpMicroseconds`.
    private func pumpAndWait() {
        let now = NIODeadline.now()
        let taken = pump()
        guard !finished else { return }
        let beat = TimeAmount.microseconds(DaemonLimits.apiPumpMicroseconds)
        // Events come fast when a pump takes several, or takes one soon after the last pump that
        // took any. Measured from any pump, the beat's own pump 5 ms after an event made the
        // next event at 100 Hz look fast, and the loop woke every 5 ms for good.
        // Without the bus's wake-up (it could not be watched), the beat feeds subscribers.
        let fast = taken > 1 || (taken == 1 && now - lastTake < beat) || wakeChannel == nil
        if taken > 0 { lastTake = now }
        let subscribed = clients.values.contains { $0.cursor != nil }
        if subscribed && !fast { armWake() }
        if !sessions.waitingTickets.isEmpty || (subscribed && fast) {
            setPumpTimer(now + beat)
        } else if subscribed {
            // The bus wakes the loop; a backstop already due sooner stays as it is.
            let backstop = now + .microseconds(DaemonLimits.apiHousekeepingMicroseconds)
            if pumpTask == nil || nextPump > backstop { setPumpTimer(backstop) }
        } else {
            setPumpTimer(now + .microseconds(DaemonLimits.apiIdlePumpMicroseconds))
        }
    }

    /// The bus wakes the loop for a pump at its next event.
    private func armWake() {
        guard !wakeArmed, !finished, wakeChannel != nil else { return }
        wakeArmed = true
        shared.bus.armWake()
    }

    // MARK: - Connections

    /// - Parameter why: set when the peer's credentials could not be read.
    func connect(
        channel: any Channel,
        pid: Int32,
        uid: UInt32,
        gid: UInt32,
        groups: [UInt32],
        why: String? = nil
    )
        -> Client
    {
        loop.assertInEventLoop()
        if let why { log("a connecting peer: \(why)") }
        let groups = Set([gid] + groups)
        let role = roles.role(uid: uid, groups: groups)
        let (id, refusal) = sessions.connect(uid: uid, gid: gid, groups: groups, pid: pid, role: role, now: now())
        let client = Client(id: id, channel: channel, uid: uid, pid: pid)
        if let refusal {
            log("\(client.name) refused: \(refusal.message)")
            send(Reply<Empty>(id: nil, .failure(refusal)), to: client, type: "reply")
            close(client)
            return client
        }
        clients[client.id] = client
        return client
    }

    /// Writes an admitted client's banner. Called by the connection's handler once it holds the
    /// client: the peer may close during this write, and NIO then reports the channel inactive
    /// inside it, which must find the client to free its slot.
    func greet(_ client: Client) {
        loop.assertInEventLoop()
        guard clients[client.id] != nil, let session = sessions.sessions[client.id] else { return }
        let banner = Banner(
            daemon: identity.version,
            instance: identity.instance,
            role: session.role,
            client: client.id,
            uid: session.uid,
            pid: session.pid,
            seq: shared.bus.lastSeq,
            limits: .init(
                requestLineBytes: APILimits.requestLineBytes,
                requestsPerSecond: APILimits.requestsPerSecond,
                replayEvents: APILimits.replayEvents
            )
        )
        send(banner, to: client, type: "banner")
    }

    /// Bytes arrived from a client (before they are cut into lines): whether they end a line.
    func bytesArrived(from client: Client, endsLine: Bool) {
        loop.assertInEventLoop()
        sessions.bytesArrived(from: client.id, endsLine: endsLine, now: now())
    }

    func disconnected(_ client: Client) {
        loop.assertInEventLoop()
        guard clients.removeValue(forKey: client.id) != nil else { return }
        // Its waiting records requests are dropped; a reply being written in pieces ends.
        client.closing = true
        endReply(client)
        carryOut(sessions.disconnected(client.id))
    }

    func failed(_ client: Client, _ error: any Error) {
        loop.assertInEventLoop()
        guard !client.closing else { return }
        if error is ByteToMessageDecoderError.PayloadTooLargeError {
            lineTooLong(client)
        } else if !(error is NIOExtrasErrors.LeftOverBytesError) {
            // A reset or a broken pipe: the client went away; nothing to answer.
            log("\(client.name): connection error \(error)")
        }
    }

    /// A line over `APILimits.requestLineBytes` (its newline not counted): answered, and the
    /// connection closed, since the next request's start cannot be found in a line that the
    /// decoder gave up on.
    private func lineTooLong(_ client: Client) {
        complain(client, "sent a line longer than \(APILimits.requestLineBytes) bytes; closing")
        let error = APIError(
            .lineTooLong,
            "requests are at most \(APILimits.requestLineBytes) bytes a line; closing the connection"
        )
        send(Reply<Empty>(id: nil, .failure(error)), to: client, type: "reply")
        close(client)
    }

    func writabilityChanged(_ client: Client) {
        loop.assertInEventLoop()
        if client.channel.isWritable {
            client.blockedSince = nil
            if let left = client.replyLeft, let done = client.replyDone {
                client.replyLeft = nil
                client.replyDone = nil
                writeInPieces(left, to: client, done: done)
                if client.replyLeft != nil { return }
            }
            // Reading was paused while the client was not taking its replies (see `reply`).
            client.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            deliver(to: client)
        }
    }

    /// Logs a client's misbehaviour with its last requests, which say what it was doing.
    private func complain(_ client: Client, _ what: String) {
        let session = sessions.sessions[client.id]
        let recent = (session?.history ?? []).suffix(4).joined(separator: " | ")
        log(
            "\(client.name), \(session?.role.rawValue ?? "no role"): \(what); last requests: \(recent.isEmpty ? "none" : recent)"
        )
    }

    /// The monotonic clock, for the session logic.
    private func now() -> MonotonicInstant { MonotonicInstant(microseconds: MonotonicClock.microseconds()) }

    /// Carries out what the session logic decided, in order.
    private func carryOut(_ effects: [SessionEffect]) {
        for effect in effects {
            switch effect {
            case .reply(let id, let request, let answer):
                if case .failure(let error) = answer, error.code == .rateLimited { shared.metrics.rateLimited() }
                guard let client = clients[id] else { continue }
                switch answer {
                case .empty: reply(to: client, id: request, Result<Empty, APIError>.success(Empty()))
                case .lease(let info): reply(to: client, id: request, Result<LeaseInfo, APIError>.success(info))
                case .failure(let error): reply(to: client, id: request, Result<Empty, APIError>.failure(error))
                }
            case .submit(let request):
                if !shared.submit(request) { carryOut(sessions.notQueued(request.ticket)) }
                // The answer comes from the next tick: look for it soon.
                schedulePump(inMicroseconds: DaemonLimits.apiPumpMicroseconds)
            case .publish(let body):
                shared.bus.publish(body, wallUs: wallClockMicroseconds())
            case .close(let id):
                if let client = clients[id] { close(client) }
            case .complain(let id, let what):
                if let client = clients[id] { complain(client, what) }
            case .log(let text):
                log(text)
            case .handle(let id, let request, let method, let line):
                guard let client = clients[id] else { continue }
                do {
                    try dispatch(method, id: request, line: line, client: client)
                } catch {
                    reply(to: client, id: request, Result<Empty, APIError>.failure(error))
                }
            }
        }
    }

    private func close(_ client: Client) {
        guard !client.closing else { return }
        client.closing = true
        // The error reply goes out first; then the connection closes.
        client.channel.writeAndFlush(ByteBuffer()).whenComplete { _ in client.channel.close(promise: nil) }
    }

    // MARK: - Requests

    func request(from client: Client, line: ByteBuffer) {
        loop.assertInEventLoop()
        guard !client.closing else { return }
        // The decoder bounds what it buffers without a newline; a longer line that arrived whole
        // with its newline in one read is caught here.
        guard line.readableBytes <= APILimits.requestLineBytes else { return lineTooLong(client) }
        let effects = sessions.request(
            from: client.id,
            line: Array(line.readableBytesView),
            now: now(),
            latchedAlarms: shared.status.withLock { $0.alarms.map(\.id) }
        )
        carryOut(effects)
    }

    /// The methods whose answer needs the daemon's data; the rest are the session logic's.
    private func dispatch(_ method: RFGenAPI.Method, id: RequestID?, line: [UInt8], client: Client) throws(APIError) {
        switch method {
        case .ping:
            reply(to: client, id: id, Result<Empty, APIError>.success(Empty()))
        case .status:
            reply(to: client, id: id, Result<StatusResult, APIError>.success(status(for: client)))
        case .profiles:
            reply(to: client, id: id, Result<[ProfileInfo], APIError>.success(sessions.profiles.map(\.info)))
        case .clients:
            let list = clients.values.sorted { $0.id < $1.id }.map { info($0) }
            reply(to: client, id: id, Result<[ClientInfo], APIError>.success(list))
        case .metrics:
            let text = shared.metrics.exposition(
                status: status(for: client),
                logDropped: DaemonLogging.writer?.droppedTotal ?? 0,
                recordsWritten: shared.recordsWritten.load(ordering: .relaxed)
            )
            reply(to: client, id: id, Result<MetricsResult, APIError>.success(MetricsResult(text: text)))
        case .subscribe:
            let params = try APIJSON.params(SubscribeParams.self, line, decoder: decoder) ?? SubscribeParams()
            subscribe(client, id: id, params)
        case .unsubscribe:
            client.cursor = nil
            client.streams = []
            sessions.setSubscribed(client.id, false)
            reply(to: client, id: id, Result<Empty, APIError>.success(Empty()))
        case .leaseAcquire, .leaseRelease, .start, .stop, .estop, .ack:
            preconditionFailure("\(method.rawValue) is decided by the session logic (APISessions)")
        case .sessionOpen, .sessionClose:
            do {
                try changeSession(method, id: id, line: line, client: client)
            } catch {
                // Refused before anything was written: the session logic may take the next change.
                sessions.procedureUnchanged()
                throw error
            }
        case .sessionShow:
            let params = try APIJSON.params(SessionParams.self, line, decoder: decoder) ?? SessionParams()
            let open = sessions.procedure?.id
            try readRecords(client: client, id: id) { store in
                guard let asked = try params.id ?? open ?? store.procedures(limit: 1, beforeID: nil).first?.id else {
                    throw APIError(.notFound, "no sessions yet")
                }
                guard let info = try store.procedureInfo(id: asked) else {
                    throw APIError(.notFound, "no session \(asked)")
                }
                return info
            }
        case .sessionList:
            let params = try APIJSON.params(SessionListParams.self, line, decoder: decoder) ?? SessionListParams()
            let limit = params.limit ?? APILimits.recordsPerPage
            guard (1...APILimits.recordsPerPage).contains(limit) else {
                throw APIError(.invalidParams, "limit must be 1-\(APILimits.recordsPerPage); got \(limit)")
            }
            if let before = params.beforeId, before < 1 {
                throw APIError(.invalidParams, "before_id must be a session id, 1 or more; got \(before)")
            }
            try readRecords(client: client, id: id) { store in
                try store.procedures(limit: limit, beforeID: params.beforeId).map {
                    $0.info(lesions: try store.lesions(procedure: $0.id))
                }
            }
        case .recordsList:
            let params = try APIJSON.params(RecordsListParams.self, line, decoder: decoder) ?? RecordsListParams()
            let limit = params.limit ?? APILimits.recordsPerPage
            guard (1...APILimits.recordsPerPage).contains(limit) else {
                throw APIError(.invalidParams, "limit must be 1-\(APILimits.recordsPerPage); got \(limit)")
            }
            if let before = params.beforeId, before < 1 {
                throw APIError(.invalidParams, "before_id must be a record id, 1 or more; got \(before)")
            }
            try readRecords(client: client, id: id) { store in
                try store.lesions(limit: limit, beforeID: params.beforeId).map(\.summary)
            }
        case .recordsShow:
            guard let params = try APIJSON.params(RecordParams.self, line, decoder: decoder) else {
                throw APIError(.invalidParams, "records.show needs params {\"id\": N}")
            }
            try readRecords(client: client, id: id) { store in
                guard let record = try store.lesion(id: params.id) else {
                    throw APIError(.notFound, "no record \(params.id)")
                }
                return RecordDetail(
                    record: record.summary,
                    alarms: try store.alarms(lesion: params.id).map(\.api),
                    samples: try store.sampleCount(lesion: params.id)
                )
            }
        case .recordsExport:
            guard let params = try APIJSON.params(RecordParams.self, line, decoder: decoder) else {
                throw APIError(
                    .invalidParams,
                    "records.export needs params {\"id\": N, \"format\": \"csv\" or \"json\"}"
                )
            }
            let format = params.format ?? "json"
            guard format == "csv" || format == "json" else {
                throw APIError(.invalidParams, "format must be csv or json, got \"\(format)\"")
            }
            try readRecords(client: client, id: id, large: true) { store in
                guard try store.lesion(id: params.id) != nil else {
                    throw APIError(.notFound, "no record \(params.id)")
                }
                let content =
                    format == "csv"
                    ? try store.exportCSV(lesion: params.id)
                    : String(decoding: try store.exportJSON(lesion: params.id), as: UTF8.self)
                return RecordExport(id: params.id, format: format, content: content)
            }
        }
    }

    /// Queues a read of the records. It runs on the thread pool (SQLite may wait for the record
    /// thread's commit), which also encodes the reply, so that a large export never holds the
    /// event loop; its client's next records request waits until this reply is written, and at
    /// most `APILimits.exportsProduced` exports are encoded at once, and a new one only while the
    /// encoded exports not yet read by their clients hold less than `APILimits.exportBytesHeld`.
    private func readRecords<Result: Encodable & Sendable>(
        client: Client,
        id: RequestID?,
        large: Bool = false,
        _ read: @escaping @Sendable (RecordStore) throws -> Result,
        settled: (@Sendable (Result?) -> Void)? = nil
    ) throws(APIError) {
        guard let store = shared.store.withLock({ $0 }) else {
            throw APIError(.noRecords, "this daemon keeps no records (start rfgend with --state-dir)")
        }
        guard client.recordsRequests < APILimits.recordsRequestsPerClient else {
            throw APIError(
                .busy,
                "\(APILimits.recordsRequestsPerClient) records requests of this connection already wait; read their replies first"
            )
        }
        let log = self.log
        let name = client.name
        let produce: @Sendable () -> (line: ByteBuffer?, value: (any Sendable)?) = {
            let result: Swift.Result<Result, APIError>
            do {
                result = .success(try read(store))
            } catch let error as APIError {
                result = .failure(error)
            } catch {
                log("records: reading failed for \(name): \(error)")
                result = .failure(APIError(.internal, "reading the records failed: \(error)"))
            }
            do {
                var line = ByteBuffer(
                    bytes: try APIJSON.line("reply", Reply(id: id, result), encoder: APIJSON.encoder())
                )
                line.writeInteger(UInt8(ascii: "\n"))
                return (line, try? result.get())
            } catch {
                log("api: a records reply for \(name) could not be encoded: \(error)")
                return (nil, try? result.get())
            }
        }
        var settle: (@Sendable ((any Sendable)?) -> Void)?
        if let settled {
            settle = { @Sendable value in settled(value as? Result) }
        }
        client.recordsRequests += 1
        recordsReads.append(RecordsRead(client: client, large: large, produce: produce, settled: settle))
        startRecordsReads()
    }

    /// `session.open` or `session.close`, which the session logic has checked and marked as
    /// changing: written on the thread pool like a records request (a slow disk never holds the
    /// API's loop, nor a stop), then the session logic learns what is open.
    private func changeSession(
        _ method: RFGenAPI.Method,
        id: RequestID?,
        line: [UInt8],
        client: Client
    ) throws(APIError) {
        let uid = client.uid
        let wall = wallClockMicroseconds()
        if method == .sessionOpen {
            guard let params = try APIJSON.params(SessionOpenParams.self, line, decoder: decoder) else {
                throw APIError(.invalidParams, "session.open needs params")
            }
            try readRecords(client: client, id: id) { store in
                let record: ProcedureRecord
                do {
                    record = try store.openProcedure(params, operatorUID: uid, at: wall)
                } catch let error as RecordError {
                    throw APIError(.refused, "\(error)")
                }
                return record.info(lesions: [])
            } settled: { [self] info in
                if let opened = info.map({
                    SessionBrief(id: $0.id, patientRef: $0.patientRef, levels: $0.plannedLevels)
                }) {
                    sessions.procedureChanged(to: opened)
                    log("session \(opened.id) opened by uid \(uid): levels \(opened.levels.joined(separator: ", "))")
                } else {
                    sessions.procedureUnchanged()
                }
            }
            return
        }
        guard let closing = sessions.procedure else { throw APIError(.refused, "no session is open") }
        let status = shared.status.withLock { $0 }
        if status.phase.isActive {
            throw APIError(
                .refused,
                "a lesion is running (\(status.phase.rawValue), level \(status.level ?? "-")): "
                    + "stop it or let it end before closing the session"
            )
        }
        try readRecords(client: client, id: id) { store in
            try store.closeProcedure(closing.id, at: wall)
            guard let info = try store.procedureInfo(id: closing.id) else {
                throw APIError(.internal, "session \(closing.id) vanished as it closed")
            }
            return info
        } settled: { [self] info in
            if info != nil {
                sessions.procedureChanged(to: nil)
                log("session \(closing.id) closed by uid \(uid)")
            } else {
                sessions.procedureUnchanged()
            }
        }
    }

    /// Starts every waiting records read that may run now, oldest first.
    private func startRecordsReads() {
        var index = 0
        while index < recordsReads.count {
            let read = recordsReads[index]
            if read.client.closing {
                recordsReads.remove(at: index)
                // A session change its client left before it was written: not carried out.
                read.settled?(nil)
                continue
            }
            let roomForExport =
                exportsProducing < APILimits.exportsProduced && exportBytesHeld < APILimits.exportBytesHeld
            guard !read.client.readingRecords, !read.large || roomForExport else {
                index += 1
                continue
            }
            recordsReads.remove(at: index)
            let client = read.client
            client.readingRecords = true
            if read.large { exportsProducing += 1 }
            pool.runIfActive(eventLoop: loop, read.produce).whenComplete { [self] result in
                let produced = try? result.get()
                let line = produced?.line
                read.settled?(produced?.value)
                let held = read.large ? line?.readableBytes ?? 0 : 0
                if read.large {
                    exportsProducing -= 1
                    exportBytesHeld += held
                }
                writeInPieces(line ?? ByteBuffer(), to: client) { [self] in
                    client.readingRecords = false
                    client.recordsRequests -= 1
                    exportBytesHeld -= held
                    startRecordsReads()
                }
                // The pool is free for the next export while this one is written.
                startRecordsReads()
            }
        }
    }

    /// Ends a reply being written in pieces, if any: written, or its client gone.
    private func endReply(_ client: Client) {
        guard let done = client.replyDone else { return }
        client.replyLeft = nil
        client.replyDone = nil
        done()
    }

    /// Writes a reply a piece at a time, each while the client's socket takes it, and calls
    /// `done` once all is written (or the client is gone). The daemon's outbound queue for the
    /// client stays near its high-water mark, however large the reply.
    private func writeInPieces(_ line: ByteBuffer, to client: Client, done: @escaping () -> Void) {
        var left = line
        while true {
            while left.readableBytes > 0, client.channel.isWritable, !client.closing, client.channel.isActive {
                let piece = left.readSlice(length: min(left.readableBytes, APILimits.replyPieceBytes))!
                client.channel.write(piece, promise: nil)
            }
            client.channel.flush()
            // A client that reads as fast as the socket fills drains it inside that flush: the
            // channel turned unwritable and writable again before this reply was parked, and no
            // later change would resume it (the client then looked stalled and was dropped).
            // Writable again: go on writing now.
            guard left.readableBytes > 0, client.channel.isWritable, !client.closing, client.channel.isActive
            else { break }
        }
        if left.readableBytes == 0 || client.closing || !client.channel.isActive {
            client.replyLeft = nil
            client.replyDone = nil
            done()
            return
        }
        // The rest goes when the socket drains (`writabilityChanged`); a client that reads
        // nothing for `stalledClientMilliseconds` is disconnected, which ends the reply.
        client.replyLeft = left
        client.replyDone = done
        if client.blockedSince == nil { client.blockedSince = now() }
        // Nor are its requests read meanwhile (`writabilityChanged` reads again).
        client.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    private func subscribe(_ client: Client, id: RequestID?, _ params: SubscribeParams) {
        let streams = Set(params.streams ?? RFGenAPI.Stream.allCases)
        let latest = shared.bus.lastSeq
        let start = SubscriptionStart.plan(
            fromSeq: params.fromSeq,
            latestSeq: latest,
            firstSeq: identity.firstSeq,
            unknownAfterSeq: identity.unknownAfterSeq
        )
        var cursor = start.cursor
        let gaps = start.gaps
        client.streams = streams
        sessions.setSubscribed(client.id, true)
        reply(
            to: client,
            id: id,
            Result<SubscribeResult, APIError>.success(
                SubscribeResult(
                    streams: RFGenAPI.Stream.allCases.filter(streams.contains),
                    nextSeq: cursor,
                    oldestSeq: replay.oldestSeq,
                    latestSeq: latest
                )
            )
        )
        for gap in gaps {
            client.missed += gap.toSeq - gap.fromSeq + 1
            send(gap, to: client, type: "gap")
        }
        // Numbers below the buffer that the client asked for are gone: say so before the rest.
        if cursor < replay.oldestSeq, cursor <= replay.latestSeq {
            let (step, next) = replay.step(cursor: cursor, streams: streams, behindReason: "replay_exhausted")
            if case .gap(let gap) = step {
                client.missed += gap.toSeq - gap.fromSeq + 1
                send(gap, to: client, type: "gap")
            }
            cursor = next
        }
        client.cursor = cursor
        flush(client)
        deliver(to: client)
        armWake()
    }

    // MARK: - Events

    /// At each event while a client is subscribed, and on the timer (`pumpAndWait`): takes new
    /// events, answers commands the tick has taken, feeds subscribers, and drops clients that
    /// have read nothing for too long.
    /// Returns how many events it took.
    @discardableResult
    private func pump() -> Int {
        let taken = takeEvents()
        answerWaiting()
        let time = now()
        // Deadlines of seconds (an idle or unfinished connection, a reader that reads nothing)
        // are looked at every `apiHousekeepingMicroseconds`, not at every event: with many
        // subscribers a look at every connection each tick was most of what a pump did.
        let housekeeping = time - lastHousekeeping >= DaemonLimits.apiHousekeepingMicroseconds
        if housekeeping {
            lastHousekeeping = time
            carryOut(sessions.overdue(now: time))
        }
        for client in clients.values where (client.cursor != nil || client.replyLeft != nil) && !client.closing {
            deliver(to: client)
            if housekeeping, let since = client.blockedSince,
                time - since > APILimits.stalledClientMilliseconds * 1000
            {
                complain(
                    client,
                    "read nothing for \(APILimits.stalledClientMilliseconds) ms while events or a reply waited; disconnecting"
                )
                client.closing = true
                client.channel.close(promise: nil)
                // The reply in pieces ends with the connection: the memory it held is free.
                endReply(client)
            }
        }
        return taken
    }

    /// Takes the events published since the last take into the journal and the replay buffer;
    /// returns how many.
    @discardableResult
    private func takeEvents() -> Int {
        drained.removeAll(keepingCapacity: true)
        let dropped = shared.bus.drain(into: &drained)
        if dropped > 0 { log("api: \(dropped) events were lost before the event loop took them") }
        for event in drained {
            shared.metrics.eventTaken(event.body)
            journal.record(event)
            replay.append(seq: event.seq, stream: event.stream, payload: ReplayEntry(event))
        }
        return drained.count
    }

    /// Answers the commands the tick has taken, and those it has not taken in time.
    private func answerWaiting() {
        let tickets = sessions.waitingTickets
        guard !tickets.isEmpty else { return }
        let outcomes = tickets.compactMap { ticket in
            shared.outcome(ticket).map { OperatorOutcome(ticket: ticket, refusal: $0) }
        }
        carryOut(sessions.taken(outcomes))
        carryOut(sessions.expire(now: now()))
    }

    /// Sends a subscriber what it has not had, as far as its socket takes without queueing more
    /// than the high-water mark. A client that does not keep up stays behind, and is told of a
    /// gap once the replay buffer has moved past it.
    private func deliver(to client: Client) {
        guard var cursor = client.cursor, !client.closing else { return }
        var wrote = false
        var budget = 512
        while budget > 0 {
            let (step, next) = replay.step(cursor: cursor, streams: client.streams)
            if case .upToDate = step { break }
            guard client.channel.isWritable else {
                if client.blockedSince == nil { client.blockedSince = now() }
                break
            }
            switch step {
            case .upToDate, .skip:
                break
            case .event(let entry):
                if let line = line(for: entry) {
                    client.channel.write(line, promise: nil)
                    wrote = true
                }
                budget -= 1
            case .gap(let gap):
                client.missed += gap.toSeq - gap.fromSeq + 1
                if let line = encodeLine(gap, type: "gap") {
                    client.channel.write(line, promise: nil)
                    wrote = true
                }
            }
            cursor = next
        }
        client.cursor = cursor
        if wrote { client.channel.flush() }
    }

    /// An event's line, encoded the first time a subscriber needs it and then shared by all:
    /// with no subscribers, no JSON is written at all.
    private func line(for entry: ReplayEntry) -> ByteBuffer? {
        if let line = entry.line { return line }
        guard let event = entry.event else { return nil }
        entry.event = nil
        // Telemetry, a line a tick, is written directly (APIJSON.telemetryLine, same bytes).
        let direct = APIJSON.telemetryLine(event).map { bytes -> ByteBuffer in
            var buffer = ByteBuffer(bytes: bytes)
            buffer.writeInteger(UInt8(ascii: "\n"))
            return buffer
        }
        guard let line = direct ?? encodeLine(event, type: "event") else { return nil }
        entry.line = line
        return line
    }

    // MARK: - Shutdown

    /// The last pump, then every client closed once its writes are out; a second at most.
    func finish() -> EventLoopFuture<Void> {
        loop.assertInEventLoop()
        // The last pump answers what the tick has taken; the rest are told the daemon is stopping.
        pump()
        carryOut(sessions.shutDown())
        finished = true
        pumpTask?.cancel()
        wakeChannel?.close(promise: nil)
        let closes = clients.values.map { client -> EventLoopFuture<Void> in
            client.channel.writeAndFlush(ByteBuffer()).flatMap { client.channel.close() }
        }
        let all = EventLoopFuture.andAllComplete(closes, on: loop)
        let timeout = loop.makePromise(of: Void.self)
        loop.scheduleTask(in: .seconds(1)) { timeout.succeed() }
        all.cascade(to: timeout)
        return timeout.futureResult
    }

    // MARK: - Replies

    private func reply<Value: Encodable & Sendable>(
        to client: Client,
        id: RequestID?,
        _ result: Result<Value, APIError>
    ) {
        // A reply never overtakes an event made before it: a subscriber gets every event
        // published before the reply's data was read first (a status that lists an alarm comes
        // after the alarm's event, which a console rings its bell on). The events are taken now
        // rather than at the next pump; the others get them then.
        if client.cursor != nil {
            takeEvents()
            deliver(to: client)
        }
        send(Reply(id: id, result), to: client, type: "reply")
        flush(client)
        // A client that sends requests without reading the replies stops being read, so its
        // replies cannot pile up here beyond the high-water mark.
        if !client.channel.isWritable {
            client.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    private func send<Body: Encodable>(_ body: Body, to client: Client, type: String) {
        guard let line = encodeLine(body, type: type) else { return }
        client.channel.write(line, promise: nil)
        if type != "reply" { flush(client) }
    }

    private func flush(_ client: Client) { client.channel.flush() }

    private func encodeLine<Body: Encodable>(_ body: Body, type: String) -> ByteBuffer? {
        do {
            var buffer = ByteBuffer(bytes: try APIJSON.line(type, body, encoder: encoder))
            buffer.writeInteger(UInt8(ascii: "\n"))
            return buffer
        } catch {
            log("api: a \(type) could not be encoded: \(error)")
            return nil
        }
    }

    // MARK: - Views

    private func lease(for client: Client?) -> LeaseInfo { sessions.lease(for: client?.id) }

    private func info(_ client: Client) -> ClientInfo {
        let session = sessions.sessions[client.id]
        return ClientInfo(
            client: client.id,
            uid: client.uid,
            gid: session?.gid ?? .max,
            pid: client.pid,
            role: session?.role ?? .observer,
            subscribed: RFGenAPI.Stream.allCases.filter(client.streams.contains).map(\.rawValue),
            holdsLease: sessions.leaseHolder == client.id,
            missed: client.missed,
            lastRequests: session?.history ?? []
        )
    }

    private func status(for client: Client) -> StatusResult {
        let status = shared.status.withLock { $0 }
        let lateness = shared.metrics.latenessMicroseconds()
        let (total, second) = shared.link.withLock { ($0.statistics, $0.lastSecond) }
        let t = status.telemetry
        let readings = t.map { t in
            Readings(
                ageMs: Double(status.telemetryAgeMicroseconds ?? 0) / 1000,
                temperaturesC: t.temperatures.map { $0.status == .ok ? Double($0.centiCelsius) / 100 : nil },
                temperatureStatus: t.temperatures.map { "\($0.status)" },
                powerW: Double(t.powerMilliwatts) / 1000,
                setpointW: Double(t.setPointMilliwatts) / 1000,
                voltageV: Double(t.voltageMillivolts) / 1000,
                currentA: Double(t.currentMilliamps) / 1000,
                impedanceOhm: t.impedanceValid ? Double(t.impedanceDeciohms) / 10 : nil,
                rf: "\(t.rfState)",
                faults: t.faults.names
            )
        }
        let mean = total.roundTripCount > 0 ? total.roundTripTotalMicroseconds / Int64(total.roundTripCount) : 0
        let progress = status.progress
        var result = StatusResult(
            state: status.phase.rawValue,
            rfOn: t?.rfState == .on,
            link: status.linkUp ? "up" : "down",
            tipTempC: readings?.temperaturesC.first ?? nil,
            powerW: readings?.powerW,
            impedanceOhm: readings?.impedanceOhm,
            // Each with the wall time of its alarm_raised event.
            alarms: status.alarmInfo,
            linkState: status.linkState,
            readings: readings,
            telemetryAgeMs: status.telemetryAgeMicroseconds.map { Double($0) / 1000 },
            profile: status.profile?.info,
            level: status.level,
            setpointC: progress.setpointC,
            elapsedS: progress.elapsedS,
            remainingS: progress.remainingS,
            holdS: progress.holdS,
            energyJ: progress.energyJ,
            peakC: progress.peakC,
            linkStats: LinkStats(
                bytes: total.decoder.bytes,
                frames: total.decoder.frames,
                decodeErrors: total.decoder.errors,
                crcErrors: total.decoder.crcErrors,
                telemetryReceived: total.telemetryReceived,
                telemetryLost: total.telemetryLost,
                commandsSent: total.commandsSent,
                retries: total.retries,
                commandsFailed: total.commandsFailed,
                commandsDropped: total.commandsDropped,
                rttMeanUs: mean,
                rttMaxUs: total.roundTripMaxMicroseconds,
                lastSecond: second.map {
                    LinkStats.Second(
                        bytes: $0.bytes,
                        frames: $0.frames,
                        decodeErrors: $0.decodeErrors,
                        crcErrors: $0.crcErrors,
                        telemetryLost: $0.telemetryLost,
                        commandsSent: $0.commandsSent,
                        retries: $0.retries,
                        rttMaxUs: $0.roundTripMaxMicroseconds
                    )
                }
            ),
            loop: LoopTiming(
                tickHz: status.tickRateHz,
                ticks: status.ticks,
                overruns: status.overruns,
                lateP50Us: lateness.p50,
                lateP99Us: lateness.p99,
                lateP999Us: lateness.p999,
                lateMaxUs: status.worstLatenessMicroseconds
            ),
            lease: lease(for: client),
            seq: shared.bus.lastSeq,
            clients: clients.count
        )
        result.records = shared.records.withLock { $0 }
        result.session = sessions.procedure
        result.doseCem43Min = progress.doseCem43Min
        result.diameterMm = progress.diameterMm
        if let profile = status.profile {
            if !status.phase.isActive {
                // The record's own judgement (`LesionCompleteness`), made again from the same totals.
                let shortfall = LesionCompleteness.shortfall(
                    profile: profile,
                    holdSeconds: status.holdSeconds,
                    doseMinutes: status.doseCEM43Minutes
                )
                result.complete = shortfall == nil
                result.incompleteReason = shortfall
            }
        }
        return result
    }
}

/// One event in the replay buffer: the value until a subscriber needs it, then its encoded line.
/// Confined to the hub's event loop.
final class ReplayEntry {
    var event: Event?
    var line: ByteBuffer?

    init(_ event: Event) { self.event = event }
}

/// Reads the bus's wake-up (an eventfd: each read takes its count) and tells the hub.
private final class BusWake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let hub: APIHub

    init(hub: APIHub) { self.hub = hub }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        hub.busWoke()
    }
}
