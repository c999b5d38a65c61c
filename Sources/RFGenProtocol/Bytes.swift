/// Writes little-endian integers, the one byte order of every payload field, into memory the
/// caller lends: a frame is built on the stack, never on the heap (issue 19).
struct ByteWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var count = 0

    /// - Parameter buffer: where the bytes go, valid for the writer's use; writing past its end is a
    ///   programmer error (every message of this version fits `ProtocolLimits.maxFrameBytes`).
    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// The bytes written.
    var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    mutating func write(_ value: UInt8) {
        precondition(count < buffer.count, "frame exceeds the protocol's maximum")
        buffer[count] = value
        count += 1
    }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        precondition(count + size <= buffer.count, "frame exceeds the protocol's maximum")
        buffer.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += size
    }

    mutating func write(contentsOf bytes: some Collection<UInt8>) {
        precondition(count + bytes.count <= buffer.count, "frame exceeds the protocol's maximum")
        for byte in bytes {
            buffer[count] = byte
            count += 1
        }
    }

    /// A UTF-8 string with a one-byte length prefix; the caller has checked the length.
    mutating func writeString(_ value: String) {
        let length = value.utf8.count
        precondition(length <= ProtocolLimits.maxIdentityStringBytes, "identity string too long to encode")
        write(UInt8(length))
        write(contentsOf: value.utf8)
    }
}

/// Why a payload could not be read: the `reason` of a `DecodeError.badField`.
public enum FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload ended before the field.
    case truncated(field: String)
    /// The payload has bytes after its last field and the sender's minor version does not allow it.
    case trailingBytes(count: Int)
    /// A field holds a value the protocol does not define.
    case invalidValue(field: String, value: Int64)
    /// A string field is not UTF-8 or is longer than allowed.
    case invalidString(field: String)

    public var description: String {
        switch self {
        case .truncated(let field): "payload ends before \(field)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the last field"
        case .invalidValue(let field, let value): "\(field) has undefined value \(value)"
        case .invalidString(let field):
            "\(field) is not UTF-8 of at most \(ProtocolLimits.maxIdentityStringBytes) bytes"
        }
    }
}

/// Reads little-endian fields from a payload, throwing `FieldError` instead of trapping. It reads
/// the decoder's own buffer in place, for the length of one `decodePayload` call.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - index }

    // Inlined: a telemetry payload is a dozen reads, and a call each was a fifth of a frame's cost.
    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(FieldError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(field: field) }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: T.self))
        index += size
        return value
    }

    @inline(__always)
    mutating func readEnum<E: RawRepresentable>(_: E.Type, _ field: String) throws(FieldError) -> E
    where E.RawValue == UInt8 {
        let raw = try read(UInt8.self, field)
        guard let value = E(rawValue: raw) else { throw .invalidValue(field: field, value: Int64(raw)) }
        return value
    }

    mutating func readString(_ field: String) throws(FieldError) -> String {
        let length = Int(try read(UInt8.self, field))
        guard length <= ProtocolLimits.maxIdentityStringBytes else { throw .invalidString(field: field) }
        guard remaining >= length else { throw .truncated(field: field) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)])
        index += length
        guard let string = String(validating: slice, as: UTF8.self) else { throw .invalidString(field: field) }
        return string
    }

    /// Ends a payload: bytes left over are an error unless the sender is a newer minor version,
    /// whose appended fields this receiver does not know and skips.
    func finish(senderVersion: ProtocolVersion) throws(FieldError) {
        if remaining > 0 && senderVersion.minor <= ProtocolVersion.current.minor {
            throw .trailingBytes(count: remaining)
        }
    }
}
