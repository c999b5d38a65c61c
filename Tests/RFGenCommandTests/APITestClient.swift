import Foundation
import RFGenSystem

#if canImport(Glibc)
import Glibc
#endif

/// A test's client of rfgend's JSON API: written against protocol/API.md with Foundation's
/// JSONSerialization, not the daemon's own types, so the tests check the wire format.
final class APITestClient {
    let connection: LineConnection
    let banner: [String: Any]
    private var nextID = 1
    /// Events and gap markers that arrived while waiting for replies.
    var held: [[String: Any]] = []

    init(_ path: String) throws {
        connection = try LineConnection(path: path)
        guard let line = try connection.readLine(timeoutMilliseconds: 5000) else {
            throw LineSocketError("no banner")
        }
        banner = try Self.object(line)
    }

    static func object(_ line: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw LineSocketError("not a JSON object: \(String(decoding: line, as: UTF8.self))")
        }
        return object
    }

    /// Sends a raw line (for malformed input).
    func send(raw line: String) throws { try connection.send(line) }

    /// Sends a request and returns its reply object (`ok`, `result` or `error`).
    func call(
        _ method: String,
        _ params: [String: Any]? = nil,
        timeoutMilliseconds: Int32 = 5000
    ) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var request: [String: Any] = ["id": id, "method": method]
        if let params { request["params"] = params }
        try connection.send(String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self))
        return try reply(id: id, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The next reply with this id (nil: the next reply of any id), holding events on the way.
    func reply(id: Int?, timeoutMilliseconds: Int32 = 5000) throws -> [String: Any] {
        while true {
            guard let line = try connection.readLine(timeoutMilliseconds: timeoutMilliseconds) else {
                throw LineSocketError("no reply in time")
            }
            let object = try Self.object(line)
            if object["type"] as? String == "reply" {
                if id == nil || object["id"] as? Int == id || object["id"] is NSNull { return object }
            } else {
                held.append(object)
            }
        }
    }

    /// The next event or gap line; nil when none came in time.
    func next(timeoutMilliseconds: Int32 = 2000) throws -> [String: Any]? {
        if !held.isEmpty { return held.removeFirst() }
        guard let line = try connection.readLine(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        return try Self.object(line)
    }

    static func errorCode(_ reply: [String: Any]) -> String? {
        (reply["error"] as? [String: Any])?["code"] as? String
    }

    static func result(_ reply: [String: Any]) -> [String: Any]? { reply["result"] as? [String: Any] }

    static func resultArray(_ reply: [String: Any]) -> [[String: Any]]? { reply["result"] as? [[String: Any]] }
}

extension RFGenDProcessTests {
    /// Calls a method on a fresh connection until `accept` holds of the reply or 10 s pass.
    static func call(
        _ socket: String,
        _ method: String,
        _ params: [String: Any]? = nil,
        until accept: ([String: Any]) -> Bool = { _ in true }
    ) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(10)
        var last: [String: Any]?
        while Date() < deadline {
            if let client = try? APITestClient(socket) {
                last = try? client.call(method, params)
                if let last, accept(last) { return last }
            }
            var pfd = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&pfd, 0, 50)  // pacing between polls of another process, not a wait for time
        }
        return last
    }

    /// `status` until `accept` holds of its result.
    static func status(_ socket: String, until accept: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        call(socket, "status") { reply in APITestClient.result(reply).map(accept) ?? false }
            .flatMap(APITestClient.result)
    }

    /// Idle, link up, RF off, fresh readings and no generator fault: ready for a start.
    static func ready(_ status: [String: Any]) -> Bool {
        status["link"] as? String == "up" && status["rf_on"] as? Bool == false
            && ((status["readings"] as? [String: Any])?["faults"] as? [Any])?.isEmpty == true
    }

    /// Takes the lease and starts, on one connection, retrying while refused for a reading a tick
    /// late on a loaded machine, as an operator would.
    static func start(_ socket: String, _ params: [String: Any] = ["level": "L4"]) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(10)
        var last: [String: Any]?
        while Date() < deadline {
            if let client = try? APITestClient(socket), (try? client.call("lease.acquire"))?["ok"] as? Bool == true {
                last = try? client.call("start", params)
                if last?["ok"] as? Bool == true { return last }
            }
            var pfd = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&pfd, 0, 50)
        }
        return last
    }

    static func ok(_ reply: [String: Any]?) -> Bool { reply?["ok"] as? Bool == true }
}
