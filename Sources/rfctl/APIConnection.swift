import Foundation
import RFGenAPI
import RFGenSystem

/// rfctl's side of the socket API: the banner, requests with ids, and the lines in between.
final class APIConnection {
    enum Failure: Error, CustomStringConvertible {
        /// The daemon could not be reached or went away: exit 3.
        case unreachable(String)
        /// The daemon answered with an error: exit 1.
        case refused(APIError)

        var description: String {
            switch self {
            case .unreachable(let text): text
            case .refused(let error): "\(error.message) (\(error.code.rawValue))"
            }
        }
    }

    let banner: Banner
    private let connection: LineConnection
    private var nextID: Int64 = 1
    private let encoder = APIJSON.encoder()
    let decoder = APIJSON.decoder()
    /// Event and gap lines that arrived while waiting for a reply, in order.
    private(set) var held: [[UInt8]] = []

    /// Connects and reads the banner (or the refusal sent in its place).
    init(path: String, timeoutMilliseconds: Int32 = 5000) throws(Failure) {
        do {
            connection = try LineConnection(path: path)
        } catch {
            throw .unreachable("\(error)")
        }
        let first: [UInt8]?
        do {
            first = try connection.readLine(timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .unreachable("\(error)")
        }
        guard let first else { throw .unreachable("no banner from \(path) in time") }
        if let head = try? decoder.decode(ReplyHead.self, from: Data(first)), head.type == "reply",
            let error = head.error
        {
            throw .refused(error)
        }
        do {
            banner = try decoder.decode(Banner.self, from: Data(first))
        } catch {
            throw .unreachable(
                "\(path) is not an rfgend API socket: \(String(decoding: first.prefix(120), as: UTF8.self))"
            )
        }
    }

    private struct Request<Params: Encodable>: Encodable {
        var id: Int64
        var method: String
        var params: Params?
    }

    /// Sends a request and waits for its reply; events meanwhile are held for `nextLine`.
    func call<Result: Decodable, Params: Encodable>(
        _ method: String,
        _ params: Params?,
        as: Result.Type,
        timeoutMilliseconds: Int32 = 10_000
    ) throws(Failure) -> Result {
        let id = nextID
        nextID += 1
        let line: Data
        do {
            line = try encoder.encode(Request(id: id, method: method, params: params))
        } catch {
            throw .unreachable("cannot encode the request: \(error)")
        }
        do {
            try connection.send(String(decoding: line, as: UTF8.self))
        } catch {
            throw .unreachable("\(error)")
        }
        while true {
            let reply: [UInt8]
            do {
                guard let next = try connection.readLine(timeoutMilliseconds: timeoutMilliseconds) else {
                    throw Failure.unreachable("no reply to \(method) in time")
                }
                reply = next
            } catch let failure as Failure {
                throw failure
            } catch {
                throw .unreachable("\(error)")
            }
            guard let head = try? decoder.decode(ReplyHead.self, from: Data(reply)) else {
                throw .unreachable(
                    "unreadable line from the daemon: \(String(decoding: reply.prefix(120), as: UTF8.self))"
                )
            }
            guard head.type == "reply" else {
                held.append(reply)
                continue
            }
            guard head.id == .number(id) || head.id == nil else { continue }
            if let error = head.error { throw .refused(error) }
            do {
                return try decoder.decode(ReplyResult<Result>.self, from: Data(reply)).result
            } catch {
                throw .unreachable("unexpected reply to \(method): \(error)")
            }
        }
    }

    func call<Result: Decodable>(_ method: String, as type: Result.Type) throws(Failure) -> Result {
        try call(method, Empty?.none, as: type)
    }

    /// The next line: held ones first; nil when none arrived in time.
    func nextLine(timeoutMilliseconds: Int32) throws(Failure) -> [UInt8]? {
        if !held.isEmpty { return held.removeFirst() }
        do {
            return try connection.readLine(timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .unreachable("\(error)")
        }
    }
}

/// The `type` and `seq` of a line, which is all capture needs to read of it.
struct LineHead: Decodable {
    var type: String
    var seq: UInt64?
    var kind: String?
}
