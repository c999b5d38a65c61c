import RFGenProtocol
import Testing

struct CRC16Tests {
    @Test("CRC-16/CCITT-FALSE gives the catalogue check value 0x29B1 for \"123456789\"")
    func checkValue() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x29B1)
    }

    @Test("The table equals the polynomial's bit-by-bit definition for every byte")
    func bitwiseDefinition() {
        // The definition, one bit at a time (Williams' model, poly 0x1021, no reflection).
        func bitwise(_ byte: UInt8, _ register: UInt16) -> UInt16 {
            var crc = register ^ UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1 }
            return crc
        }
        for register in stride(from: 0, through: 0xFFFF, by: 97).map(UInt16.init) + [0xFFFF] {
            for byte in UInt8.min...UInt8.max {
                #expect(CRC16.update([byte], crc: register) == bitwise(byte, register))
            }
        }
    }

    @Test("Eight and four bytes a step equal the bitwise definition at every length and in pieces of every size")
    func slicedEqualsBitwise() {
        func bitwise(_ bytes: some Sequence<UInt8>, _ register: UInt16 = 0xFFFF) -> UInt16 {
            var crc = register
            for byte in bytes {
                crc ^= UInt16(byte) << 8
                for _ in 0..<8 { crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1 }
            }
            return crc
        }
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ $0 >> 3) }
        for length in 0...bytes.count {
            #expect(CRC16.checksum(bytes[..<length]) == bitwise(bytes[..<length]), "length \(length)")
        }
        for split in 0...17 {
            #expect(CRC16.update(bytes[split...], crc: CRC16.update(bytes[..<split])) == bitwise(bytes))
        }
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
