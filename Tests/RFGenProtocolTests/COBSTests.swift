import PropertyBased
import RFGenProtocol
import Testing

struct COBSTests {
    /// Examples from Cheshire and Baker's paper and the usual reference tables.
    static let knownPairs: [([UInt8], [UInt8])] = [
        ([0x00], [0x01, 0x01]),
        ([0x00, 0x00], [0x01, 0x01, 0x01]),
        ([0x11, 0x22, 0x00, 0x33], [0x03, 0x11, 0x22, 0x02, 0x33]),
        ([0x11, 0x22, 0x33, 0x44], [0x05, 0x11, 0x22, 0x33, 0x44]),
        ([0x11, 0x00, 0x00, 0x00], [0x02, 0x11, 0x01, 0x01, 0x01]),
        ([], [0x01]),
    ]

    @Test("Known examples encode and decode exactly", arguments: knownPairs.indices)
    func knownExample(index: Int) {
        let (plain, encoded) = Self.knownPairs[index]
        var out: [UInt8] = []
        COBS.encode(plain, into: &out)
        #expect(out == encoded)
        var back: [UInt8] = []
        #expect(COBS.decode(encoded, into: &back))
        #expect(back == plain)
    }

    @Test("Any bytes round-trip and the encoding holds no zero and costs one byte per 254")
    func roundTrip() async {
        await propertyCheck(input: Gen<UInt8>.value(in: 0...255).array(of: 0...600)) { bytes in
            var encoded: [UInt8] = []
            COBS.encode(bytes, into: &encoded)
            #expect(!encoded.contains(0))
            #expect(encoded.count <= bytes.count + 1 + bytes.count / 254)
            var decoded: [UInt8] = []
            #expect(COBS.decode(encoded, into: &decoded))
            #expect(decoded == bytes)
        }
    }

    @Test("A code byte that runs past the end, or a zero inside, is invalid")
    func invalid() {
        var out: [UInt8] = []
        #expect(!COBS.decode([0x05, 0x11, 0x22], into: &out))
        out = []
        #expect(!COBS.decode([0x03, 0x11, 0x00], into: &out))
    }
}
