/// What a frame that did not decode was wrong with. The decoder drops such a frame, counts it and
/// carries on with the next delimiter: it never stops and never traps.
public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not valid COBS, or too short to hold a header and a CRC.
    case framing(encodedBytes: Int)
    /// The CRC over header and payload does not match the frame's last two bytes.
    case crc(computed: UInt16, received: UInt16)
    /// More than `ProtocolLimits.maxEncodedBytes` arrived without a delimiter; the rest up to the
    /// next delimiter was skipped.
    case oversize
    /// The frame is intact but its major version differs from ours. Carries the sender's version
    /// so that the host can name both versions in its error.
    case unsupportedVersion(ProtocolVersion, type: UInt8, sequence: UInt16)
    /// The frame is intact but its type is not one we accept from that direction.
    case unknownType(UInt8, sequence: UInt16)
    /// The frame is intact but its payload does not decode as its type.
    case badField(MessageType, sequence: UInt16, FieldError)

    /// The counter kind, for statistics.
    public var kind: DecodeErrorKind {
        switch self {
        case .framing: .framing
        case .crc: .crc
        case .oversize: .oversize
        case .unsupportedVersion: .unsupportedVersion
        case .unknownType: .unknownType
        case .badField: .badField
        }
    }

    /// The canonical text used by the test vectors.
    public var description: String {
        switch self {
        case .framing(let n): "framing_error encoded_bytes=\(n)"
        case .crc(let computed, let received):
            "crc_error computed=\(hex16(computed)) received=\(hex16(received))"
        case .oversize: "oversize"
        case .unsupportedVersion(let version, let type, let sequence):
            "unsupported_version version=\(version) type=\(hex8(type)) seq=\(sequence)"
        case .unknownType(let type, let sequence): "unknown_type type=\(hex8(type)) seq=\(sequence)"
        case .badField(let type, let sequence, let reason): "bad_field type=\(type) seq=\(sequence) (\(reason))"
        }
    }
}

/// The kinds of decode error, each with its own counter.
public enum DecodeErrorKind: CaseIterable, Hashable, Sendable {
    case framing, crc, oversize, unsupportedVersion, unknownType, badField
}

/// Running totals of what a decoder has seen. They only grow (wrapping past UInt64 is not a concern
/// at serial speeds); take differences for rates.
public struct DecoderCounters: Hashable, Sendable {
    /// Bytes fed in.
    public var bytes: UInt64 = 0
    /// Frames decoded and delivered.
    public var frames: UInt64 = 0
    public var framingErrors: UInt64 = 0
    public var crcErrors: UInt64 = 0
    public var oversizeErrors: UInt64 = 0
    public var versionErrors: UInt64 = 0
    public var unknownTypeErrors: UInt64 = 0
    public var badFieldErrors: UInt64 = 0

    public init() {}

    /// All errors together: each one is a resynchronisation on the next delimiter.
    public var errors: UInt64 {
        framingErrors + crcErrors + oversizeErrors + versionErrors + unknownTypeErrors + badFieldErrors
    }

    /// The count for one kind of error.
    public subscript(kind: DecodeErrorKind) -> UInt64 {
        switch kind {
        case .framing: framingErrors
        case .crc: crcErrors
        case .oversize: oversizeErrors
        case .unsupportedVersion: versionErrors
        case .unknownType: unknownTypeErrors
        case .badField: badFieldErrors
        }
    }

    mutating func count(_ kind: DecodeErrorKind) {
        switch kind {
        case .framing: framingErrors += 1
        case .crc: crcErrors += 1
        case .oversize: oversizeErrors += 1
        case .unsupportedVersion: versionErrors += 1
        case .unknownType: unknownTypeErrors += 1
        case .badField: badFieldErrors += 1
        }
    }
}

/// A sans-I/O decoder for one direction of the link: feed it byte chunks of any size, in any
/// split, and it reports each frame or error as soon as the frame's closing delimiter arrives.
///
/// Memory is bounded whatever it is fed: it holds at most `ProtocolLimits.maxEncodedBytes` bytes of
/// an unfinished frame and one frame's worth of scratch space, allocated once.
public struct FrameDecoder: Sendable {
    /// What `feed` reports.
    public enum Output: Hashable, Sendable {
        case frame(Frame)
        case error(DecodeError)
    }

    /// Which direction's messages this decoder accepts; the other direction's types are
    /// `unknownType` errors.
    public let accepting: Direction
    /// Totals since creation.
    public private(set) var counters = DecoderCounters()

    private var pending: [UInt8]
    private var scratch: [UInt8]
    /// True after an oversize error, until the next delimiter: the bytes in between belong to the
    /// broken frame and are dropped without further errors.
    private var skipping = false

    /// - Parameter accepting: `.generatorToHost` in a host, `.hostToGenerator` in a generator.
    public init(accepting: Direction) {
        self.accepting = accepting
        pending = []
        pending.reserveCapacity(ProtocolLimits.maxEncodedBytes)
        scratch = []
        scratch.reserveCapacity(ProtocolLimits.maxFrameBytes)
    }

    /// The number of bytes of an unfinished frame held; never more than `maxEncodedBytes`.
    public var bufferedBytes: Int { pending.count }

    /// Drops any unfinished frame, as after reopening the port.
    public mutating func reset() {
        pending.removeAll(keepingCapacity: true)
        skipping = false
    }

    /// Feeds bytes from the line.
    /// - Parameters:
    ///   - bytes: the next bytes received, any number.
    ///   - handler: called once per frame or error, in order, before `feed` returns.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes, _ handler: (Output) -> Void)
    where Bytes.Element == UInt8 {
        // The byte loop runs on a contiguous buffer in non-generic code, so that a caller in
        // another module does not run it through unspecialised generic witnesses.
        let done: Void? = bytes.withContiguousStorageIfAvailable { feedBuffer($0, handler) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { feedBuffer($0, handler) }
        }
    }

    private mutating func feedBuffer(_ bytes: UnsafeBufferPointer<UInt8>, _ handler: (Output) -> Void) {
        for byte in bytes {
            counters.bytes += 1
            if byte == 0 {
                if skipping {
                    skipping = false
                } else if !pending.isEmpty {
                    handler(finishFrame())
                }
                pending.removeAll(keepingCapacity: true)
            } else if !skipping {
                if pending.count == ProtocolLimits.maxEncodedBytes {
                    pending.removeAll(keepingCapacity: true)
                    skipping = true
                    counters.count(.oversize)
                    handler(.error(.oversize))
                } else {
                    pending.append(byte)
                }
            }
        }
    }

    /// Feeds bytes and collects the results: convenient for tests and tools, allocates an array.
    /// - Parameter bytes: the next bytes received.
    /// - Returns: the frames and errors they completed, in order.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Output] where Bytes.Element == UInt8 {
        var outputs: [Output] = []
        feed(bytes) { outputs.append($0) }
        return outputs
    }

    private mutating func finishFrame() -> Output {
        let result = decodeFrame()
        switch result {
        case .frame: counters.frames += 1
        case .error(let error): counters.count(error.kind)
        }
        return result
    }

    private mutating func decodeFrame() -> Output {
        scratch.removeAll(keepingCapacity: true)
        guard COBS.decode(pending, into: &scratch), scratch.count >= ProtocolLimits.minFrameBytes else {
            return .error(.framing(encodedBytes: pending.count))
        }
        let body = scratch.count - ProtocolLimits.crcBytes
        let received = UInt16(scratch[body]) | UInt16(scratch[body + 1]) << 8
        let computed = CRC16.checksum(scratch[0..<body])
        guard computed == received else { return .error(.crc(computed: computed, received: received)) }

        let version = ProtocolVersion(byte: scratch[0])
        let typeByte = scratch[1]
        let sequence = UInt16(scratch[2]) | UInt16(scratch[3]) << 8
        guard version.major == ProtocolVersion.current.major else {
            return .error(.unsupportedVersion(version, type: typeByte, sequence: sequence))
        }
        guard let type = MessageType(rawValue: typeByte), type.direction == accepting else {
            return .error(.unknownType(typeByte, sequence: sequence))
        }
        do {
            let message = try Message.decodePayload(
                type: type,
                payload: scratch[ProtocolLimits.headerBytes..<body],
                senderVersion: version
            )
            return .frame(Frame(version: version, sequence: sequence, message: message))
        } catch {
            return .error(.badField(type, sequence: sequence, error))
        }
    }
}

func hex8(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + (digits.count < 2 ? "0" : "") + digits
}

func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
}
