import RFGenAPI
import RFGenCore
import RFGenMachine
import Testing

/// Procedure sessions in the API's session logic (issue 16 item 1): pure, time given.
struct ProcedureSessionTests {
    static let t0 = MonotonicInstant(microseconds: 1_000_000)

    static func send(_ sessions: inout APISessions, _ json: String, from client: UInt64 = 1) -> [SessionEffect] {
        sessions.request(from: client, line: Array(json.utf8), now: t0, latchedAlarms: [])
    }

    static func error(_ effects: [SessionEffect]) -> APIError? {
        for case .reply(_, _, .failure(let error)) in effects { return error }
        return nil
    }

    static func handled(_ effects: [SessionEffect]) -> RFGenAPI.Method? {
        for case .handle(_, _, let method, _) in effects { return method }
        return nil
    }

    static func submitted(_ effects: [SessionEffect]) -> OperatorRequest? {
        for case .submit(let request) in effects { return request }
        return nil
    }

    static func operators() -> APISessions {
        var sessions = APISessions(limits: .daemon(clients: 4))
        _ = sessions.connect(uid: 1000, gid: 1000, groups: [], pid: 1, role: .operator, now: t0)
        _ = sessions.connect(uid: 1001, gid: 1001, groups: [], pid: 2, role: .observer, now: t0)
        _ = send(&sessions, #"{"id":1,"method":"lease.acquire"}"#)
        return sessions
    }

    static let open = #"{"id":2,"method":"session.open","params":{"patient_ref":"MRN-4711","levels":["L3","L4","L5"]}}"#

    @Test("Parameters: an opaque reference, 1-5 treatable levels, no repeat unless asked, printable label")
    func parameters() {
        func problem(_ ref: String, _ levels: [String], repeats: Bool? = nil, label: String? = nil) -> String? {
            SessionOpenParams(patientRef: ref, procedure: label, levels: levels, allowRepeats: repeats).problem()
        }
        #expect(problem("MRN-4711", ["L3", "L4", "L5"]) == nil)
        #expect(problem("enc:2026/12/01.7", ["S1"], label: "BVN ablation") == nil)
        #expect(problem("Jane Doe", ["L4"])?.hasPrefix("patient_ref") == true, "a name with its space is refused")
        #expect(problem("", ["L4"])?.hasPrefix("patient_ref") == true)
        #expect(problem(String(repeating: "x", count: 65), ["L4"])?.hasPrefix("patient_ref") == true)
        #expect(problem("M1", [])?.hasPrefix("levels must name 1 to 5") == true)
        #expect(problem("M1", ["L1", "L2", "L3", "L4", "L5", "S1"])?.hasPrefix("levels must name 1 to 5") == true)
        #expect(problem("M1", ["T12"]) == "levels: \"T12\" is not one of L1, L2, L3, L4, L5, S1")
        #expect(problem("M1", ["L4", "L4"])?.contains("planned twice") == true)
        #expect(problem("M1", ["L4", "L4"], repeats: true) == nil)
        #expect(problem("M1", ["L4"], label: "a\u{7}b")?.hasPrefix("procedure must be printable") == true)
        #expect(problem("M1", ["L4"], label: String(repeating: "x", count: 121))?.contains("at most 120") == true)
    }

    @Test("Open: operators only, one at a time, written by the shell; starts then take only planned levels")
    func openAndStart() throws {
        var sessions = Self.operators()
        // An observer may not open one; bad params are invalid_params, naming the key.
        #expect(Self.error(Self.send(&sessions, Self.open, from: 2))?.code == .notPermitted)
        let bad = Self.send(
            &sessions,
            #"{"id":3,"method":"session.open","params":{"patient_ref":"x y","levels":["L4"]}}"#
        )
        #expect(Self.error(bad)?.code == .invalidParams && Self.error(bad)?.message.hasPrefix("patient_ref") == true)
        // A good one goes to the shell to be written; until it settles, no other change and no start.
        #expect(Self.handled(Self.send(&sessions, Self.open)) == .sessionOpen)
        #expect(sessions.procedureChanging)
        #expect(Self.error(Self.send(&sessions, Self.open))?.code == .busy)
        let early = Self.send(&sessions, #"{"id":4,"method":"start","params":{"level":"L4"}}"#)
        #expect(Self.error(early)?.code == .busy, "a start while the session opens would not know its session")
        sessions.procedureChanged(to: SessionBrief(id: 7, patientRef: "MRN-4711", levels: ["L3", "L4", "L5"]))
        #expect(!sessions.procedureChanging && sessions.procedure?.id == 7)
        // A second open is refused while one is open, naming it.
        #expect(
            Self.error(Self.send(&sessions, Self.open))?.message.hasPrefix("session 7 (patient MRN-4711) is open")
                == true
        )
        // Starts take planned levels only, each stamped with the session.
        let outside = Self.send(&sessions, #"{"id":5,"method":"start","params":{"level":"L2"}}"#)
        #expect(Self.error(outside)?.code == .invalidParams)
        #expect(Self.error(outside)?.message.hasPrefix("level L2 is not planned in session 7 (L3, L4, L5)") == true)
        let request = try #require(
            Self.submitted(Self.send(&sessions, #"{"id":6,"method":"start","params":{"level":"L4"}}"#))
        )
        #expect(request.level == "L4" && request.session == 7)
        // While that start waits for the tick, the session cannot close under it.
        #expect(Self.error(Self.send(&sessions, #"{"id":7,"method":"session.close"}"#))?.code == .busy)
        _ = sessions.taken([OperatorOutcome(ticket: request.ticket, refusal: nil)])
        #expect(Self.handled(Self.send(&sessions, #"{"id":8,"method":"session.close"}"#)) == .sessionClose)
    }

    @Test("Close: only the open one, refused when none; a failed write leaves it as it was; a restart restores it")
    func closeAndRestore() throws {
        var sessions = Self.operators()
        #expect(
            Self.error(Self.send(&sessions, #"{"id":2,"method":"session.close"}"#))?.message == "no session is open"
        )
        sessions.restore(procedure: SessionBrief(id: 3, patientRef: "E-9", levels: ["L5", "S1"]))
        #expect(
            Self.error(Self.send(&sessions, #"{"id":3,"method":"session.close","params":{"id":2}}"#))?.code == .notFound
        )
        #expect(
            Self.handled(Self.send(&sessions, #"{"id":4,"method":"session.close","params":{"id":3}}"#)) == .sessionClose
        )
        // The write failed (a full disk): still open, and a change may be tried again.
        sessions.procedureUnchanged()
        #expect(sessions.procedure?.id == 3 && !sessions.procedureChanging)
        #expect(Self.handled(Self.send(&sessions, #"{"id":5,"method":"session.close"}"#)) == .sessionClose)
        sessions.procedureChanged(to: nil)
        // Without a session, start takes any valid level again, outside any session.
        let request = try #require(
            Self.submitted(Self.send(&sessions, #"{"id":6,"method":"start","params":{"level":"L2"}}"#))
        )
        #expect(request.session == nil)
        // Observers may read sessions.
        #expect(Self.handled(Self.send(&sessions, #"{"id":7,"method":"session.show"}"#, from: 2)) == .sessionShow)
        #expect(Self.handled(Self.send(&sessions, #"{"id":8,"method":"session.list"}"#, from: 2)) == .sessionList)
    }

    @Test("The record names the session a lesion's start belonged to")
    func recordNamesTheSession() throws {
        var h = CoreHarness()
        var request = h.request(.start(TreatmentProfile.bvn.withHold(seconds: 5)), level: "L4", uid: 1000)
        request.session = 12
        h.tick(requests: [request])
        let begun = try #require(h.records.compactMap { if case .began(let start) = $0 { start } else { nil } }.first)
        #expect(begun.session == 12 && begun.level == "L4")
    }
}
