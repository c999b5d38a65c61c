import FoundationEssentials
import RFGenAPI
import Testing

struct WireTests {
    let encoder = APIJSON.encoder()
    let decoder = APIJSON.decoder()

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func requestsAreReadWithTheirIdsOfEitherKind() throws {
        let numbered = try APIJSON.head(Array(#"{"id":7,"method":"status"}"#.utf8), decoder: decoder)
        #expect(numbered.id == .number(7) && numbered.method == "status")
        let named = try APIJSON.head(Array(#"{"id":"a-1","method":"stop"}"#.utf8), decoder: decoder)
        #expect(named.id == .text("a-1"))
        let anonymous = try APIJSON.head(Array(#"{"method":"ping"}"#.utf8), decoder: decoder)
        #expect(anonymous.id == nil)
    }

    @Test(arguments: [
        ("not json", ErrorCode.parseError),
        ("[1,2]", .parseError),
        ("\"status\"", .parseError),
        ("{\"id\":1}", .invalidRequest),
        ("{\"id\":1,\"method\":5}", .invalidRequest),
        ("{\"id\":[1],\"method\":\"status\"}", .invalidRequest),
    ])
    func badRequestsGetTheirStableCode(line: String, code: ErrorCode) {
        #expect(throws: APIError.self) { try APIJSON.head(Array(line.utf8), decoder: decoder) }
        do {
            _ = try APIJSON.head(Array(line.utf8), decoder: decoder)
        } catch {
            #expect(error.code == code, "\(line): \(error)")
        }
    }

    @Test func paramsOfTheWrongShapeNameTheField() throws {
        let line = Array(#"{"id":1,"method":"start","params":{"level":4}}"#.utf8)
        do {
            _ = try APIJSON.params(StartParams.self, line, decoder: decoder)
            Issue.record("a number for level must be refused")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(error.message.contains("level"), "\(error.message)")
        }
        let good = try APIJSON.params(
            StartParams.self,
            Array(#"{"method":"start","params":{"level":"L4","hold_s":30}}"#.utf8),
            decoder: decoder
        )
        #expect(good == StartParams(level: "L4", holdS: 30))
        #expect(try APIJSON.params(AckParams.self, Array(#"{"method":"ack"}"#.utf8), decoder: decoder) == nil)
    }

    @Test(arguments: ["L4", "S1", "L5-S1", "T12"]) func validLevels(level: String) {
        #expect(StartParams.levelProblem(level) == nil)
    }

    @Test(arguments: ["", "L 4", "L4;rm", "ÄL4", String(repeating: "L", count: 17)]) func invalidLevels(level: String) {
        #expect(StartParams.levelProblem(level) != nil)
    }

    @Test func repliesCarryTypeIdAndOutcome() throws {
        let ok = text(try APIJSON.line("reply", Reply(id: .number(3), .success(Empty())), encoder: encoder))
        #expect(ok == #"{"id":3,"ok":true,"result":{},"type":"reply"}"#)
        let failed = text(
            try APIJSON.line(
                "reply",
                Reply<Empty>(id: nil, .failure(APIError(.leaseHeld, "held by client 2"))),
                encoder: encoder
            )
        )
        #expect(
            failed
                == #"{"error":{"code":"lease_held","message":"held by client 2"},"id":null,"ok":false,"type":"reply"}"#
        )
    }

    @Test func statusShowsMissingReadingsAsNull() throws {
        let status = StatusResult(
            state: "idle",
            rfOn: false,
            link: "down",
            tipTempC: nil,
            powerW: nil,
            impedanceOhm: nil,
            alarms: [AlarmInfo(id: 1, priority: "high", cause: "link_lost", detail: "x", latched: true, raisedUs: 5)],
            linkState: "closed",
            readings: nil,
            telemetryAgeMs: nil,
            profile: nil,
            level: nil,
            setpointC: 0,
            elapsedS: 0,
            remainingS: nil,
            holdS: 0,
            energyJ: 0,
            peakC: 0,
            linkStats: LinkStats(),
            loop: LoopTiming(
                tickHz: 100,
                ticks: 1,
                overruns: 0,
                lateP50Us: 1,
                lateP99Us: 2,
                lateP999Us: 3,
                lateMaxUs: 4
            ),
            lease: LeaseInfo(held: false),
            seq: 9,
            clients: 1
        )
        // As the API writes it: every absent optional as null, at every depth.
        let object = String(decoding: try APIJSON.encode(status, encoder: encoder), as: UTF8.self)
        for key in [
            "\"tip_temp_c\":null", "\"level\":null", "\"profile\":null", "\"client\":null", "\"last_second\":null",
            "\"power_w\":null", "\"impedance_ohm\":null", "\"rf_on\":false", "\"link\":\"down\"",
        ] {
            #expect(object.contains(key), "\(key) in \(object)")
        }
        #expect(
            object.contains(
                #""alarms":[{"cause":"link_lost","detail":"x","id":1,"latched":true,"priority":"high","raised_us":5}]"#
            )
        )
        let back = try decoder.decode(StatusResult.self, from: Data(object.utf8))
        #expect(back == status)
    }

    @Test func eventsRoundTripWithTheirKind() throws {
        let events = [
            Event(
                seq: 1,
                wallUs: 10,
                body: .alarmRaised(
                    AlarmInfo(
                        id: 2,
                        priority: "high",
                        cause: "emergency_stop",
                        detail: "d",
                        latched: true,
                        raisedUs: 10
                    )
                )
            ),
            Event(
                seq: 2,
                wallUs: 11,
                body: .phaseChanged(PhaseChange(from: "idle", to: "impedance_check", profile: "bvn", level: "L4"))
            ),
            Event(seq: 3, wallUs: 12, body: .daemonStopping(DaemonStopping(lastSeq: 3))),
            Event(
                seq: 4,
                wallUs: 13,
                body: .telemetry(
                    TelemetryData(
                        state: "hold",
                        rfOn: true,
                        link: "up",
                        tipTempC: 85,
                        temperaturesC: [85, nil],
                        powerW: 3.3,
                        setpointW: 3.3,
                        impedanceOhm: nil,
                        ageMs: 4,
                        setpointC: 85,
                        elapsedS: 100,
                        holdS: 60,
                        remainingS: 840,
                        energyJ: 300,
                        alarms: [],
                        lateUs: 20
                    )
                )
            ),
        ]
        for event in events {
            let line = try APIJSON.line("event", event, encoder: encoder)
            #expect(text(line).contains("\"type\":\"event\""))
            #expect(try decoder.decode(Event.self, from: Data(line)) == event)
        }
    }

    @Test func rolesFollowGroups() {
        let policy = RolePolicy(operatorGroups: [100], observerGroups: [200], operatorUsers: [0, 500])
        #expect(policy.role(uid: 0, groups: []) == .operator)
        #expect(policy.role(uid: 500, groups: []) == .operator)
        #expect(policy.role(uid: 1000, groups: [100]) == .operator)
        #expect(policy.role(uid: 1000, groups: [200, 300]) == .observer)
        #expect(policy.role(uid: 1000, groups: [300]) == nil)
        let open = RolePolicy(operatorGroups: [100])
        #expect(open.role(uid: 1000, groups: [300]) == .observer)
        #expect(RFGenAPI.Method.start.requiredRole == .operator)
        #expect(RFGenAPI.Method.subscribe.requiredRole == .observer)
        #expect(Role.observer < Role.operator)
    }
}
