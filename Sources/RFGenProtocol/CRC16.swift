/// CRC-16/CCITT-FALSE, the frame check of the wire protocol.
///
/// Parameters (Williams model): width 16, poly 0x1021, init 0xFFFF, refin false, refout false,
/// xorout 0x0000; check value 0x29B1 for the ASCII bytes "123456789". A table makes it one lookup a
/// byte, read through a pointer so that the loop has no bounds checks to pay (an index is a byte,
/// always inside the 256 entries): the decoder's 5 M frames a second depend on it (issue 19).
public enum CRC16 {
    /// The initial register value.
    public static let initial: UInt16 = 0xFFFF

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    /// Feeds bytes into a running CRC.
    /// - Parameters:
    ///   - bytes: the bytes to add.
    ///   - crc: the running value; start from `initial`.
    /// - Returns: the updated CRC.
    public static func update<Bytes: Sequence>(_ bytes: Bytes, crc: UInt16 = initial) -> UInt16
    where Bytes.Element == UInt8 {
        table.withUnsafeBufferPointer { table in
            var crc = crc
            for byte in bytes {
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    /// The CRC of a whole byte sequence.
    /// - Parameter bytes: the bytes.
    /// - Returns: their CRC-16/CCITT-FALSE.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        update(bytes)
    }
}
