/// Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): removes every 0x00 from a frame so
/// that 0x00 can delimit frames on the byte stream, at a cost of one byte per started 254 bytes.
public enum COBS {
    /// Encodes bytes so that the result holds no 0x00.
    /// - Parameters:
    ///   - bytes: the bytes to encode.
    ///   - output: where the encoded bytes are appended.
    public static func encode(_ bytes: some Collection<UInt8>, into output: inout [UInt8]) {
        var codeIndex = output.count
        output.append(0)  // placeholder for the first code byte
        var code: UInt8 = 1
        for byte in bytes {
            if byte == 0 {
                output[codeIndex] = code
                codeIndex = output.count
                output.append(0)
                code = 1
            } else {
                output.append(byte)
                code += 1
                if code == 0xFF {
                    output[codeIndex] = code
                    codeIndex = output.count
                    output.append(0)
                    code = 1
                }
            }
        }
        output[codeIndex] = code
    }

    /// Decodes COBS bytes (without delimiter).
    /// - Parameters:
    ///   - encoded: the encoded bytes; none may be 0x00.
    ///   - output: where the decoded bytes are appended.
    /// - Returns: `false` if the bytes are not valid COBS (a zero, or a code that runs past the end);
    ///   `output` then holds a partial result that the caller must discard.
    public static func decode(_ encoded: some Collection<UInt8>, into output: inout [UInt8]) -> Bool {
        let encoded = Array(encoded)
        var decoding = Decoding()
        var consumed = 0
        let decoded = [UInt8](unsafeUninitializedCapacity: encoded.count) { buffer, count in
            consumed = encoded.withUnsafeBufferPointer { decoding.decode($0, into: buffer, count: &count) }
        }
        output += decoded
        return consumed == encoded.count && decoding.isComplete
    }

    /// COBS decoding as bytes arrive, in pieces of any size: the frame decoder decodes while it
    /// reads and holds no encoded copy of a frame. `decode(_:into:)` is this, over a whole buffer.
    public struct Decoding: Hashable, Sendable {
        /// Data bytes left in the current block; 0 when the next byte is a code byte.
        private var run = 0
        /// The current block's code was below 0xFF, so a zero follows its data if another block
        /// comes; at the very end it is the zero COBS appends implicitly and is not data.
        private var zeroPending = false

        public init() {}

        /// Decodes the next piece of a frame's encoded bytes, up to the delimiter that ends it.
        /// - Parameters:
        ///   - encoded: the next bytes; decoding stops before the first 0x00, the delimiter.
        ///   - output: where decoded bytes go, from `count` on; it must have room for
        ///     `encoded.count` more (each encoded byte yields at most one decoded byte).
        ///   - count: decoded bytes in `output`; advanced past those this piece yields.
        /// - Returns: the bytes consumed: all of them, or those before the delimiter.
        public mutating func decode(
            _ encoded: UnsafeBufferPointer<UInt8>,
            into output: UnsafeMutableBufferPointer<UInt8>,
            count: inout Int
        ) -> Int {
            precondition(count >= 0 && output.count - count >= encoded.count, "no room for the decoded bytes")
            // Through base pointers: the precondition is the bounds check, once a piece rather
            // than once a byte, on the decoder's hot path. Byte by byte, since a telemetry frame's
            // blocks are two or three bytes long (its small integers are full of zeros), too
            // short for a block copy to pay.
            guard let input = encoded.baseAddress, let base = output.baseAddress else { return 0 }
            let end = encoded.count
            var index = 0
            var written = count
            var run = self.run
            var zeroPending = self.zeroPending
            while index < end {
                let byte = input[index]
                if byte == 0 { break }
                index += 1
                if run > 0 {
                    base[written] = byte
                    written += 1
                    run -= 1
                } else {
                    if zeroPending {
                        base[written] = 0
                        written += 1
                    }
                    run = Int(byte) - 1
                    zeroPending = byte < 0xFF
                }
            }
            self.run = run
            self.zeroPending = zeroPending
            count = written
            return index
        }

        /// Whether the bytes so far end on a block boundary: they are valid COBS if they end here.
        public var isComplete: Bool { run == 0 }
    }
}
