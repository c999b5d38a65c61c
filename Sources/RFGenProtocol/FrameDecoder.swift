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
/// Memory is bounded whatever it is fed, and fixed: it decodes COBS as bytes arrive into one
/// frame's worth of inline storage, so that decoding a frame touches no heap (issue 19: at 100
/// frames a second for hours, on the link thread). An unfinished frame is at most
/// `ProtocolLimits.maxEncodedBytes` encoded bytes; beyond that it is an oversize error.
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

    /// The decoded bytes of the frame being read. A literal size, as a generic value argument must
    /// be; `init` checks it against `ProtocolLimits.maxEncodedBytes` (every encoded byte after
    /// the first yields at most one decoded byte, so the decoded frame always fits).
    private var frame = InlineArray<247, UInt8>(repeating: 0)
    private var decodedBytes = 0
    /// Encoded bytes of the unfinished frame: the oversize limit counts these.
    private var encodedBytes = 0
    private var cobs = COBS.Decoding()
    /// True after an oversize error, until the next delimiter: the bytes in between belong to the
    /// broken frame and are dropped without further errors.
    private var skipping = false

    /// - Parameter accepting: `.generatorToHost` in a host, `.hostToGenerator` in a generator.
    public init(accepting: Direction) {
        self.accepting = accepting
        precondition(frame.count == ProtocolLimits.maxEncodedBytes, "the frame buffer is sized by the protocol's limit")
    }

    /// The number of encoded bytes of an unfinished frame held; never more than `maxEncodedBytes`.
    public var bufferedBytes: Int { encodedBytes }

    /// Drops any unfinished frame, as after reopening the port.
    public mutating func reset() {
        startFrame()
        skipping = false
    }

    private mutating func startFrame() {
        decodedBytes = 0
        encodedBytes = 0
        cobs = COBS.Decoding()
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
        counters.bytes += UInt64(bytes.count)
        var index = 0
        while index < bytes.count {
            if !skipping {
                // Decode up to the delimiter, the end, or the frame's limit, whichever comes first.
                let room = ProtocolLimits.maxEncodedBytes - encodedBytes
                let piece = UnsafeBufferPointer(rebasing: bytes[index..<min(bytes.count, index + room)])
                var output = frame.mutableSpan
                let consumed = output.withUnsafeMutableBufferPointer {
                    cobs.decode(piece, into: $0, count: &decodedBytes)
                }
                encodedBytes += consumed
                index += consumed
                guard index < bytes.count else { return }
                if bytes[index] != 0 {
                    // One byte past the limit: the frame is oversize. Said once; the rest of it,
                    // up to its delimiter, is dropped unread.
                    startFrame()
                    skipping = true
                    counters.count(.oversize)
                    handler(.error(.oversize))
                }
            }
            if skipping {
                guard let delimiter = bytes[index...].firstIndex(of: 0) else { return }
                index = delimiter
                skipping = false
            } else if encodedBytes > 0 {
                handler(finishFrame())
            }
            // bytes[index] is the delimiter.
            startFrame()
            index += 1
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
        let result = frame.span.withUnsafeBufferPointer {
            decodeFrame(UnsafeBufferPointer(rebasing: $0[0..<decodedBytes]))
        }
        switch result {
        case .frame: counters.frames += 1
        case .error(let error): counters.count(error.kind)
        }
        return result
    }

    /// Decodes one frame's COBS-decoded bytes.
    private func decodeFrame(_ bytes: UnsafeBufferPointer<UInt8>) -> Output {
        guard cobs.isComplete, bytes.count >= ProtocolLimits.minFrameBytes else {
            return .error(.framing(encodedBytes: encodedBytes))
        }
        let body = bytes.count - ProtocolLimits.crcBytes
        let received = UInt16(bytes[body]) | UInt16(bytes[body + 1]) << 8
        let computed = CRC16.checksum(UnsafeBufferPointer(rebasing: bytes[0..<body]))
        guard computed == received else { return .error(.crc(computed: computed, received: received)) }

        let version = ProtocolVersion(byte: bytes[0])
        let typeByte = bytes[1]
        let sequence = UInt16(bytes[2]) | UInt16(bytes[3]) << 8
        guard version.major == ProtocolVersion.current.major else {
            return .error(.unsupportedVersion(version, type: typeByte, sequence: sequence))
        }
        guard let type = MessageType(rawValue: typeByte), type.direction == accepting else {
            return .error(.unknownType(typeByte, sequence: sequence))
        }
        do {
            let message = try Message.decodePayload(
                type: type,
                payload: UnsafeRawBufferPointer(
                    UnsafeBufferPointer(rebasing: bytes[ProtocolLimits.headerBytes..<body])
                ),
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
