import Dispatch
import Foundation
import RFGenSystem
import Synchronization

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
        // A refused connection gets a reply (too_many_clients, no_role, shutting_down) instead.
        guard banner["type"] as? String == "banner" else {
            throw LineSocketError("refused instead of a banner: \(String(decoding: line, as: UTF8.self))")
        }
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

    /// Whether `next` has a line without waiting.
    var hasLineWaiting: Bool { !held.isEmpty || connection.hasBufferedLine }

    /// Waits for the daemon's next `count` telemetry events (its control ticks), dropping what
    /// was held: the daemon's own clock paces the caller. False when none came within a second.
    func awaitTicks(_ count: Int) -> Bool {
        held.removeAll()
        var seen = 0
        while seen < count {
            guard let line = try? next(timeoutMilliseconds: 1000) else { return false }
            if line["kind"] as? String == "telemetry" { seen += 1 }
        }
        return true
    }

    /// Reads subscribed events until a telemetry event's data satisfies `condition`; false if
    /// none does within a second of the last event.
    func awaitTelemetry(_ condition: ([String: Any]) -> Bool) -> Bool {
        held.removeAll()
        while true {
            guard let line = try? next(timeoutMilliseconds: 1000) else { return false }
            if line["kind"] as? String == "telemetry", let data = line["data"] as? [String: Any], condition(data) {
                return true
            }
        }
    }

    static func errorCode(_ reply: [String: Any]) -> String? {
        (reply["error"] as? [String: Any])?["code"] as? String
    }

    static func result(_ reply: [String: Any]) -> [String: Any]? { reply["result"] as? [String: Any] }

    static func resultArray(_ reply: [String: Any]) -> [[String: Any]]? { reply["result"] as? [[String: Any]] }
}

/// Pacing between attempts to reach another process that is not listening yet (the daemon
/// starting, the simulator's own real-time control socket): there is no event to wait on.
func pace(milliseconds: Int32) {
    var pfd = pollfd(fd: -1, events: 0, revents: 0)
    _ = poll(&pfd, 0, milliseconds)
}

extension RFGenDProcessTests {
    /// Asks `method` until `accept` holds of the reply or 10 s pass, on one connection subscribed
    /// to telemetry: between attempts it waits for the daemon's next control ticks, not for a
    /// wall-clock interval. It reconnects (paced) only while the daemon is not reachable.
    static func call(
        _ socket: String,
        _ method: String,
        _ params: [String: Any]? = nil,
        until accept: ([String: Any]) -> Bool = { _ in true }
    ) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(10)
        var last: [String: Any]?
        while Date() < deadline {
            guard let client = try? APITestClient(socket),
                (try? client.call("subscribe", ["streams": ["telemetry"]]))?["ok"] as? Bool == true
            else {
                pace(milliseconds: 50)
                continue
            }
            while Date() < deadline {
                guard let reply = try? client.call(method, params) else { break }
                last = reply
                if accept(reply) { return reply }
                // Five ticks between attempts keep well under the API's rate limit.
                guard client.awaitTicks(5) else { break }
            }
        }
        return last
    }

    /// `status` until `accept` holds of its result.
    static func status(_ socket: String, until accept: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        call(socket, "status") { reply in APITestClient.result(reply).map(accept) ?? false }
            .flatMap(APITestClient.result)
    }

    /// Whether the status comes to satisfy `accept` within the wait, for a wait a test relies on:
    /// `status` returns the last answer either way, and a discarded one lets a test go on when
    /// what it waited for never happened.
    static func reaches(_ socket: String, _ accept: ([String: Any]) -> Bool) -> Bool {
        status(socket, until: accept).map(accept) ?? false
    }

    /// The same for the simulator's control channel (`ask`).
    static func askReaches(_ socket: String, _ line: String, _ accept: (String) -> Bool) -> Bool {
        ask(socket, line, until: accept).map(accept) ?? false
    }

    /// Idle, link up, RF off, fresh readings and no generator fault: ready for a start.
    static func ready(_ status: [String: Any]) -> Bool {
        status["link"] as? String == "up" && status["rf_on"] as? Bool == false
            && ((status["readings"] as? [String: Any])?["faults"] as? [Any])?.isEmpty == true
    }

    /// Takes the lease and starts, on one connection, trying again a few ticks later while refused
    /// for a reading a tick late on a loaded machine, as an operator would.
    static func start(_ socket: String, _ params: [String: Any] = ["level": "L4"]) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(10)
        var last: [String: Any]?
        while Date() < deadline {
            guard let client = try? APITestClient(socket),
                (try? client.call("subscribe", ["streams": ["telemetry"]]))?["ok"] as? Bool == true,
                (try? client.call("lease.acquire"))?["ok"] as? Bool == true
            else {
                pace(milliseconds: 50)
                continue
            }
            while Date() < deadline {
                guard let reply = try? client.call("start", params) else { break }
                last = reply
                if reply["ok"] as? Bool == true { return reply }
                guard client.awaitTicks(5) else { break }
            }
        }
        return last
    }

    static func ok(_ reply: [String: Any]?) -> Bool { reply?["ok"] as? Bool == true }
}

/// A finished process's exit status, standard output and standard error.
struct ProcessResult {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs a program to its end and collects what it printed. Standard error is read on another
/// thread, so that neither pipe can fill and stall the program.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    in directory: URL? = nil,
    environment extra: [String: String] = [:]
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    if !extra.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let errors = Mutex(Data())
    let done = DispatchSemaphore(value: 0)
    Thread {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        errors.withLock { $0 = data }
        done.signal()
    }.start()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        output: String(decoding: output, as: UTF8.self),
        errors: String(decoding: errors.withLock { $0 }, as: UTF8.self)
    )
}

/// A program this package builds, by name.
func builtProgram(_ name: String) -> String {
    URL(fileURLWithPath: RFGenDProcessTests.rfctlPath).deletingLastPathComponent().appendingPathComponent(name).path
}
