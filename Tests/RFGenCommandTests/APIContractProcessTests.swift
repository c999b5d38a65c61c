import Foundation
import RFGenSystem
import Testing

/// What an independent client, written from protocol/API.md alone, checked and found wrong: each
/// case as that client sees it on the wire.
@Suite(.serialized)
struct APIContractProcessTests {
    typealias P = RFGenDProcessTests

    /// The next reply to a raw line.
    static func answer(_ client: APITestClient, _ line: String) throws -> [String: Any] {
        try client.send(raw: line)
        return try client.reply(id: nil)
    }

    static func code(_ reply: [String: Any]) -> String? { APITestClient.errorCode(reply) }
    static func message(_ reply: [String: Any]) -> String {
        (reply["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    @Test("Ids, limits, params and errors as API.md says: readable ids echoed, ranges checked, keys as written")
    func requestsAsSpecified() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready")
        let client = try APITestClient(pair.api)

        // A fractional id is an id, echoed as given; "id": null is no id.
        let fractional = try Self.answer(client, #"{"id":1.5,"method":"ping"}"#)
        #expect(fractional["id"] as? Double == 1.5 && fractional["ok"] as? Bool == true, "\(fractional)")
        let nullID = try Self.answer(client, #"{"id":null,"method":"ping"}"#)
        #expect(nullID["id"] is NSNull && nullID["ok"] as? Bool == true, "\(nullID)")
        // A request without a method still has a readable id.
        let noMethod = try Self.answer(client, #"{"id":7,"params":{}}"#)
        #expect(Self.code(noMethod) == "invalid_request" && noMethod["id"] as? Int == 7, "\(noMethod)")
        // params that is not an object.
        let notObject = try Self.answer(client, #"{"id":8,"method":"records.list","params":5}"#)
        #expect(Self.code(notObject) == "invalid_params" && Self.message(notObject).contains("params"), "\(notObject)")
        // records.list's limit is 1-100.
        for limit in [0, 101, -3] {
            let reply = try Self.answer(client, #"{"id":9,"method":"records.list","params":{"limit":\#(limit)}}"#)
            #expect(Self.code(reply) == "invalid_params" && Self.message(reply).contains("limit"), "\(limit): \(reply)")
        }
        // start's hold_s: a range error is invalid_params naming hold_s, never refused; never
        // longer than the profile's own hold.
        #expect(P.ok(try client.call("lease.acquire")))
        for hold in ["5000", "0", "901", "\"x\""] {
            let reply = try Self.answer(
                client,
                #"{"id":10,"method":"start","params":{"level":"L4","hold_s":\#(hold)}}"#
            )
            #expect(Self.code(reply) == "invalid_params", "hold_s \(hold): \(reply)")
            #expect(Self.message(reply).contains("hold_s") && !Self.message(reply).contains("holdS"), "\(reply)")
        }
    }

    @Test("A line of 4,096 bytes is read, one of 4,097 is line_too_long and closes; the newline is not counted")
    func lineLimit() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready")
        func line(_ bytes: Int) -> String {
            let head = #"{"id":1,"method":"ping","pad":""#
            return head + String(repeating: "x", count: bytes - head.utf8.count - 2) + #""}"#
        }
        let fits = try APITestClient(pair.api)
        #expect(line(4096).utf8.count == 4096)
        let ok = try Self.answer(fits, line(4096))
        #expect(ok["ok"] as? Bool == true, "\(ok)")
        let crlf = try Self.answer(fits, line(4096) + "\r")
        #expect(crlf["ok"] as? Bool == true, "with \\r\\n: \(crlf)")
        for size in [4097, 5000, 6143] {
            let long = try APITestClient(pair.api)
            let reply = try Self.answer(long, line(size))
            #expect(Self.code(reply) == "line_too_long", "\(size): \(reply)")
            #expect((try? long.connection.readLine(timeoutMilliseconds: 2000)) == nil, "\(size): not closed")
        }
    }

    @Test("Unknown values are null, never left out; one alarm has one raised_us; rate_limited keeps the id")
    func valuesAsSpecified() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready")
        let client = try APITestClient(pair.api)
        let status = try #require(APITestClient.result(try client.call("status")))
        // Before any lesion: no set point, no peak, a free lease with null holder.
        #expect(status["setpoint_c"] is NSNull, "\(status["setpoint_c"] ?? "missing")")
        #expect(status["peak_c"] is NSNull, "\(status["peak_c"] ?? "missing")")
        let lease = status["lease"] as? [String: Any] ?? [:]
        for key in ["client", "uid", "pid"] { #expect(lease[key] is NSNull, "lease.\(key): \(lease)") }
        #expect(status.keys.contains("profile") && status["profile"] is NSNull, "profile")

        // Telemetry events carry every key, null where unknown.
        #expect(P.ok(try client.call("subscribe", ["streams": ["telemetry", "alarms"]])))
        /// The next event of this kind's data.
        func event(_ kind: String) throws -> [String: Any]? {
            for _ in 0..<500 {
                guard let line = try client.next() else { return nil }
                if line["kind"] as? String == kind { return line["data"] as? [String: Any] }
            }
            return nil
        }
        let telemetry = try event("telemetry") ?? [:]
        for key in ["tip_temp_c", "power_w", "setpoint_w", "impedance_ohm", "age_ms", "setpoint_c", "remaining_s"] {
            #expect(telemetry.keys.contains(key), "telemetry without \(key): \(telemetry)")
        }
        #expect(telemetry["setpoint_c"] is NSNull && telemetry["remaining_s"] is NSNull, "\(telemetry)")

        // An emergency stop while idle raises an alarm: its event and the status agree on when.
        #expect(P.ok(try client.call("estop")))
        let alarm = try #require(try event("alarm_raised"), "no alarm_raised event")
        let listed = (APITestClient.result(try client.call("status"))?["alarms"] as? [[String: Any]])?.first
        #expect(listed?["raised_us"] as? Int == alarm["raised_us"] as? Int, "\(listed ?? [:]) vs \(alarm)")

        // Past the rate limit the reply still carries the request's id.
        let flood = try APITestClient(pair.api)
        try flood.send(raw: (1...150).map { #"{"id":\#($0),"method":"ping"}"# }.joined(separator: "\n"))
        var limited: [String: Any]?
        for _ in 0..<150 {
            let reply = try flood.reply(id: nil)
            if Self.code(reply) == "rate_limited" {
                limited = reply
                break
            }
        }
        #expect(limited?["id"] as? Int ?? 0 > 100, "\(limited ?? [:])")
    }
}
