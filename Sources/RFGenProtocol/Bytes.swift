/// Appends little-endian integers to a byte array: the one byte order of every payload field.
struct ByteWriter {
    var bytes: [UInt8]

    init(reservingCapacity capacity: Int = ProtocolLimits.maxFrameBytes) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: UInt8) { bytes.append(value) }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    /// A UTF-8 string with a one-byte length prefix; the caller has checked the length.
    mutating func writeString(_ value: String) {
        let utf8 = Array(value.utf8)
        precondition(utf8.count <= ProtocolLimits.maxIdentityStringBytes, "identity string too long to encode")
        write(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
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

/// Reads little-endian fields from a payload, throwing `FieldError` instead of trapping.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(FieldError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(field: field) }
        var value: T = 0
        for offset in 0..<size {
            value |= T(truncatingIfNeeded: bytes[index + offset]) << (8 * offset)
        }
        index += size
        return value
    }

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
        let slice = bytes[index..<(index + length)]
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
