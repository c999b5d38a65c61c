import RFGenProtocol
import Testing

struct CRC16Tests {
    @Test("CRC-16/CCITT-FALSE gives the catalogue check value 0x29B1 for \"123456789\"")
    func checkValue() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x29B1)
    }

    @Test("The CRC of nothing is the initial value, and feeding in pieces equals feeding at once")
    func incremental() {
        #expect(CRC16.checksum([UInt8]()) == 0xFFFF)
        let bytes = Array("basivertebral nerve".utf8)
        let split = CRC16.update(bytes[7...], crc: CRC16.update(bytes[..<7]))
        #expect(split == CRC16.checksum(bytes))
    }

    @Test("Every single-bit error in a maximal frame changes the CRC")
    func detectsSingleBitErrors() {
        let bytes = (0..<ProtocolLimits.maxFrameBytes - 2).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let good = CRC16.checksum(bytes)
        for index in bytes.indices {
            for bit in 0..<8 {
                var bad = bytes
                bad[index] ^= 1 << bit
                #expect(CRC16.checksum(bad) != good)
            }
        }
    }
}
