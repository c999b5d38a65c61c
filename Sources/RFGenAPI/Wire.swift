#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The socket API's envelope: newline-delimited JSON, one object per line (protocol/API.md).
/// Every line the daemon writes has a `type`: `banner`, `reply`, `event` or `gap`.
public enum APIVersion {
    /// Bumped when a client written for the previous version could misread a reply.
    public static let current = 1
}

/// A request's id, echoed in its reply: a number or a string, as the client chose.
public enum RequestID: Hashable, Sendable, Codable, CustomStringConvertible {
    case number(Int64)
    /// Any other JSON number (fractional, or beyond 64 bits), echoed as a double.
    case fraction(Double)
    case text(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else if let number = try? container.decode(Double.self) {
            self = .fraction(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .fraction(let number): try container.encode(number)
        case .text(let text): try container.encode(text)
        }
    }

    public var description: String {
        switch self {
        case .number(let number): "\(number)"
        case .fraction(let number): "\(number)"
        case .text(let text): "\"\(text)\""
        }
    }
}

/// The stable error codes. A client decides on the code; the message is for people.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    /// The line is not a JSON object.
    case parseError = "parse_error"
    /// A JSON object without a string `method`, or with an `id` that is neither number nor string.
    case invalidRequest = "invalid_request"
    case unknownMethod = "unknown_method"
    /// `params` missing a field, of the wrong type, or out of range.
    case invalidParams = "invalid_params"
    /// The client's role may not do this (observers only read and subscribe).
    case notPermitted = "not_permitted"
    /// Start needs the control lease: `lease.acquire` first.
    case leaseRequired = "lease_required"
    /// Another client holds the control lease.
    case leaseHeld = "lease_held"
    /// The control core refused the command; the message says why.
    case refused
    /// Too many operator commands waiting for the next tick.
    case busy
    /// The control loop did not take the command in time.
    case timeout
    /// The daemon keeps no records (started without --state-dir).
    case noRecords = "no_records"
    case notFound = "not_found"
    /// A line longer than `APILimits.requestLineBytes`; the daemon closes the connection after it.
    case lineTooLong = "line_too_long"
    /// More requests than `APILimits.requestsPerSecond`.
    case rateLimited = "rate_limited"
    /// `APILimits.clients` are connected; sent in place of a banner, then the connection is closed.
    case tooManyClients = "too_many_clients"
    /// The peer's user and groups map to no role.
    case noRole = "no_role"
    case shuttingDown = "shutting_down"
    case `internal`
}

public struct APIError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// What a request line looks like before its method's parameters are read.
public struct RequestHead: Decodable, Sendable {
    public var id: RequestID?
    public var method: String
}

/// Reads a request's `params` as the method's own type; a missing `params` is `{}`.
struct RequestParams<Params: Decodable>: Decodable {
    var params: Params?
}

/// The first line on every connection.
public struct Banner: Codable, Hashable, Sendable {
    public var api: String
    public var version: Int
    public var daemon: String
    /// Changes on every daemon start; with `seq` it tells a client whether numbering went on.
    public var instance: String
    public var role: Role
    public var client: UInt64
    public var uid: UInt32
    public var pid: Int32
    /// The newest sequence number issued so far.
    public var seq: UInt64
    public var limits: Limits

    public struct Limits: Codable, Hashable, Sendable {
        public var requestLineBytes: Int
        public var requestsPerSecond: Int
        public var replayEvents: Int

        public init(requestLineBytes: Int, requestsPerSecond: Int, replayEvents: Int) {
            self.requestLineBytes = requestLineBytes
            self.requestsPerSecond = requestsPerSecond
            self.replayEvents = replayEvents
        }
    }

    public init(
        api: String = "rfgend",
        version: Int = APIVersion.current,
        daemon: String,
        instance: String,
        role: Role,
        client: UInt64,
        uid: UInt32,
        pid: Int32,
        seq: UInt64,
        limits: Limits
    ) {
        self.api = api
        self.version = version
        self.daemon = daemon
        self.instance = instance
        self.role = role
        self.client = client
        self.uid = uid
        self.pid = pid
        self.seq = seq
        self.limits = limits
    }
}

/// JSON in and out, with the API's conventions: snake_case keys, keys sorted so that lines diff.
public enum APIJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// A value as the API writes it (absent optionals as `null`), for a client that prints what
    /// it was sent (`rfctl --json`).
    public static func encode<Value: Encodable>(_ value: Value, encoder: JSONEncoder) throws -> Data {
        try encoder.encode(NullEncoding(value: value))
    }

    /// One line of output (no newline) for a `type`d message.
    public static func line<Body: Encodable>(_ type: String, _ body: Body, encoder: JSONEncoder) throws -> [UInt8] {
        try Array(encoder.encode(Typed(type: type, body: body)))
    }

    /// Reads a request's head: the method and the id.
    public static func head(_ line: [UInt8], decoder: JSONDecoder) throws(APIError) -> RequestHead {
        let data = Data(line)
        do {
            _ = try decoder.decode(AnyObject_.self, from: data)
        } catch {
            throw APIError(.parseError, "not a JSON object: \(short(error))")
        }
        do {
            return try decoder.decode(RequestHead.self, from: data)
        } catch {
            throw APIError(
                .invalidRequest,
                "a request is {\"id\": number or string, \"method\": string, \"params\": {…}}: \(short(error))"
            )
        }
    }

    /// A request's `id` where one can be read, whatever else is wrong with the request (a rate
    /// limited one, one without a method): its error reply then carries it. Nil when the line
    /// is not an object or its `id` is neither a number nor a string.
    public static func readableID(_ line: [UInt8], decoder: JSONDecoder) -> RequestID? {
        struct IDOnly: Decodable { var id: RequestID? }
        return (try? decoder.decode(IDOnly.self, from: Data(line)))?.id
    }

    /// Reads a request's `params` as `Params`.
    public static func params<Params: Decodable>(
        _ type: Params.Type,
        _ line: [UInt8],
        decoder: JSONDecoder
    ) throws(APIError) -> Params? {
        do {
            return try decoder.decode(RequestParams<Params>.self, from: Data(line)).params
        } catch {
            throw APIError(.invalidParams, short(error))
        }
    }

    /// A decoding error in one line: which key and what was wrong, not Swift's dump.
    static func short(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        // Keys as the client wrote them (snake_case), never the Swift property's name.
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? snake($0.stringValue) }
            return keys.isEmpty ? "" : " at \(keys.joined(separator: "."))"
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is String.Type: "a string"
            case is Bool.Type: "true or false"
            case is Double.Type, is Float.Type: "a number"
            case is Int.Type, is Int64.Type, is UInt64.Type, is UInt32.Type, is Int32.Type, is UInt16.Type:
                "an integer"
            case is [Any].Type: "an array"
            default: "an object"
            }
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \"\(snake(key.stringValue))\"\(path(context))"
        case .typeMismatch(let type, let context): return "expected \(kind(type))\(path(context))"
        case .valueNotFound(let type, let context): return "expected \(kind(type))\(path(context)), got null"
        case .dataCorrupted(let context):
            // Swift says "The given data was not valid JSON." for a number out of the type's range too.
            return context.codingPath.isEmpty
                ? "not valid JSON" : "a value out of range or of the wrong kind\(path(context))"
        @unknown default: return "\(error)"
        }
    }

    private static func snake(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    private struct Typed<Body: Encodable>: Encodable {
        var type: String
        var body: Body

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: TypeKey.self)
            try container.encode(type, forKey: .type)
            // Absent optionals as null, at every depth (NullEncoding).
            try body.encode(to: NullingEncoder(base: encoder))
        }
    }

    private enum TypeKey: String, CodingKey { case type }

    /// Any JSON object: decoding it checks that a line is one, whatever its keys.
    private struct AnyObject_: Decodable {
        init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: AnyKey.self)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
