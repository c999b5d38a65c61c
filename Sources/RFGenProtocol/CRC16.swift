/// CRC-16/CCITT-FALSE, the frame check of the wire protocol.
///
/// Parameters (Williams model): width 16, poly 0x1021, init 0xFFFF, refin false, refout false,
/// xorout 0x0000; check value 0x29B1 for the ASCII bytes "123456789".
///
/// Eight bytes a step ("slicing by 8"), then four, then one at a time. One table lookup a byte,
/// byte at a time, makes each byte wait for the lookup of the byte before it, and on the decoder's
/// hot path that chain of loads was 44 % of a telemetry frame's decode time (issue 19,
/// Benchmarks/README.md). The register is 16 bits, so after eight bytes the first two have passed
/// through it seven and six more times and the last six have met only zeros: the new register is
/// the exclusive-or of eight independent lookups, one table for each byte's distance from the end.
/// Eight a step rather than four took a telemetry frame's decode from 0.180 to 0.163 µs at the
/// benchmark's fastest (2026-12-02). Tables are read through a pointer, without bounds checks:
/// every index is a byte, inside its 256 entries.
public enum CRC16 {
    /// The initial register value.
    public static let initial: UInt16 = 0xFFFF

    /// Eight tables of 256, one after the other: table k holds the register that byte i leaves,
    /// followed by k zero bytes, from a zero register. Table 0 is the usual bytewise table.
    private static let tables: [UInt16] = {
        var tables = [UInt16](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt16(byte) << 8
            for _ in 0..<8 { crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
            tables[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                // One more zero byte through the register.
                let previous = tables[(k - 1) * 256 + byte]
                tables[k * 256 + byte] = (previous << 8) ^ tables[Int(previous >> 8)]
            }
        }
        return tables
    }()

    /// Feeds bytes into a running CRC.
    /// - Parameters:
    ///   - bytes: the bytes to add.
    ///   - crc: the running value; start from `initial`.
    /// - Returns: the updated CRC.
    public static func update<Bytes: Sequence>(_ bytes: Bytes, crc: UInt16 = initial) -> UInt16
    where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ update(buffer: $0, crc: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBufferPointer { update(buffer: $0, crc: crc) }
    }

    /// The CRC of a whole byte sequence.
    /// - Parameter bytes: the bytes.
    /// - Returns: their CRC-16/CCITT-FALSE.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        update(bytes)
    }

    private static func update(buffer: UnsafeBufferPointer<UInt8>, crc: UInt16) -> UInt16 {
        tables.withUnsafeBufferPointer { tables in
            guard let t = tables.baseAddress, let input = buffer.baseAddress else { return crc }
            var crc = crc
            var index = 0
            let count = buffer.count
            while count - index >= 8 {
                let high = Int(UInt8(truncatingIfNeeded: crc >> 8) ^ input[index])
                let low = Int(UInt8(truncatingIfNeeded: crc) ^ input[index + 1])
                crc =
                    t[7 * 256 + high] ^ t[6 * 256 + low] ^ t[5 * 256 + Int(input[index + 2])]
                    ^ t[4 * 256 + Int(input[index + 3])] ^ t[3 * 256 + Int(input[index + 4])]
                    ^ t[2 * 256 + Int(input[index + 5])] ^ t[256 + Int(input[index + 6])] ^ t[Int(input[index + 7])]
                index += 8
            }
            if count - index >= 4 {
                let high = Int(UInt8(truncatingIfNeeded: crc >> 8) ^ input[index])
                let low = Int(UInt8(truncatingIfNeeded: crc) ^ input[index + 1])
                crc =
                    t[3 * 256 + high] ^ t[2 * 256 + low] ^ t[256 + Int(input[index + 2])] ^ t[Int(input[index + 3])]
                index += 4
            }
            while index < count {
                crc = (crc << 8) ^ t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ input[index])]
                index += 1
            }
            return crc
        }
    }
}
