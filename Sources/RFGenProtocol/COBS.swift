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
            // than once a byte, on the decoder's hot path.
            guard let input = encoded.baseAddress, let base = output.baseAddress else { return 0 }
            let end = encoded.count
            let room = output.count
            var index = 0
            var written = count
            var run = self.run
            var zeroPending = self.zeroPending
            // Eight bytes at a time where both sides have eight to spare, byte by byte near the
            // ends (issue 19). Byte by byte alone, a telemetry frame was some twenty trips round
            // this loop, each a branch on code or data that the frame's layout takes one way or
            // the other: most of its decode time. A word's store may run past what the step
            // decodes, into room the next bytes overwrite or `count` leaves out, never past
            // `output`; its load never reads past `encoded`.
            while index < end {
                let wide = end - index >= 8 && room - written >= 8
                if run == 0 {
                    if wide {
                        // A run of 0x01 codes, each an empty block: a run of zeros in the data, as
                        // telemetry's small integers make. Each one closes the block before it
                        // with a zero, except a first that opens the frame.
                        let word = UInt64(littleEndian: UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self))
                        let codes = (word ^ 0x0101_0101_0101_0101).trailingZeroBitCount / 8
                        if codes > 0 {
                            UnsafeMutableRawPointer(base + written).storeBytes(of: 0, as: UInt64.self)
                            written += zeroPending ? codes : codes - 1
                            index += codes
                            zeroPending = true
                            continue
                        }
                    }
                    let code = input[index]
                    if code == 0 { break }
                    index += 1
                    if zeroPending {
                        base[written] = 0
                        written += 1
                    }
                    run = Int(code) - 1
                    zeroPending = code < 0xFF
                } else if wide {
                    // Up to eight of the block's data bytes, stopping at a delimiter among them.
                    let word = UInt64(littleEndian: UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self))
                    let take = min(run, 8)
                    // The high bit of each zero byte, exact up to the first zero (a borrow only
                    // marks bytes above it), so the lowest mark within the block is its first.
                    let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
                    let delimiter = zeros & (take == 8 ? ~0 : (1 << UInt64(8 * take)) - 1)
                    let copied = delimiter == 0 ? take : delimiter.trailingZeroBitCount / 8
                    UnsafeMutableRawPointer(base + written).storeBytes(of: word.littleEndian, as: UInt64.self)
                    index += copied
                    written += copied
                    run -= copied
                    if delimiter != 0 { break }
                } else {
                    let byte = input[index]
                    if byte == 0 { break }
                    base[written] = byte
                    index += 1
                    written += 1
                    run -= 1
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
