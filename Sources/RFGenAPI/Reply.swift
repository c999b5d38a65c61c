/// A reply: `{"type":"reply","id":…,"ok":true,"result":…}` or
/// `{"type":"reply","id":…,"ok":false,"error":{"code":…,"message":…}}`. The id is null when the
/// request's own could not be read.
public struct Reply<Result: Encodable & Sendable>: Encodable, Sendable {
    public var id: RequestID?
    public var outcome: Swift.Result<Result, APIError>

    public init(id: RequestID?, _ outcome: Swift.Result<Result, APIError>) {
        self.id = id
        self.outcome = outcome
    }

    enum Keys: String, CodingKey { case id, ok, result, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        switch outcome {
        case .success(let result):
            try container.encode(true, forKey: .ok)
            try container.encode(result, forKey: .result)
        case .failure(let error):
            try container.encode(false, forKey: .ok)
            try container.encode(error, forKey: .error)
        }
    }
}

/// A reply as a client reads it, its result left for the caller to decode as the method's type.
public struct ReplyHead: Decodable, Sendable {
    public var type: String
    public var id: RequestID?
    public var ok: Bool?
    public var error: APIError?
}

/// Reads the `result` of a reply line as `Result`.
public struct ReplyResult<Result: Decodable>: Decodable {
    public var result: Result
}

/// An empty result, `{}`.
public struct Empty: Codable, Hashable, Sendable {
    public init() {}
}
