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

    /// Bytes mostly from those the decoder treats apart (0x00 ends a frame, 0x01 is a zero in the
    /// data, 0xFF a block with no zero after it) and runs of them, as telemetry's small integers
    /// make: uniform bytes would almost never hold a run of zeros.
    static func awkward(_ choices: [Int]) -> [UInt8] {
        choices.map { choice in
            switch choice % 8 {
            case 0, 1: 0x00
            case 2, 3: 0x01
            case 4: 0xFF
            case 5: 0x02
            default: UInt8(truncatingIfNeeded: choice / 8)
            }
        }
    }

    /// Decodes `encoded` with `COBS.Decoding` in pieces of `size` up to the first delimiter, as
    /// the frame decoder does: what it wrote, how many bytes it consumed, and whether it ended on
    /// a block boundary.
    static func decode(
        _ encoded: [UInt8],
        inPiecesOf size: Int
    ) -> (output: [UInt8], consumed: Int, complete: Bool) {
        var decoding = COBS.Decoding()
        var output = [UInt8](repeating: 0xAA, count: encoded.count)
        var count = 0
        var index = 0
        output.withUnsafeMutableBufferPointer { output in
            encoded.withUnsafeBufferPointer { input in
                while index < input.count {
                    let piece = UnsafeBufferPointer(rebasing: input[index..<min(input.count, index + size)])
                    let consumed = decoding.decode(piece, into: output, count: &count)
                    index += consumed
                    if consumed < piece.count { break }
                }
            }
        }
        return (Array(output[..<count]), index, decoding.isComplete)
    }

    @Test("Bytes full of zeros round-trip: runs of zeros and long blocks, whole and in pieces")
    func zeroRunsRoundTrip() async {
        await propertyCheck(input: Gen<Int>.value(in: 0...2047).array(of: 0...600), Gen<Int>.value(in: 1...40)) {
            choices,
            piece in
            let bytes = Self.awkward(choices)
            var encoded: [UInt8] = []
            COBS.encode(bytes, into: &encoded)
            var decoded: [UInt8] = []
            #expect(COBS.decode(encoded, into: &decoded))
            #expect(decoded == bytes)

            let pieces = Self.decode(encoded, inPiecesOf: piece)
            #expect(pieces.consumed == encoded.count)
            #expect(pieces.complete)
            #expect(pieces.output == bytes)
        }
    }

    @Test("Any bytes decode alike whole, in pieces and byte by byte: the same output, stop and state")
    func piecesEqualWhole() async {
        await propertyCheck(input: Gen<Int>.value(in: 0...2047).array(of: 0...300), Gen<Int>.value(in: 1...40)) {
            choices,
            piece in
            let encoded = Self.awkward(choices)
            let whole = Self.decode(encoded, inPiecesOf: max(1, encoded.count))
            #expect(Self.decode(encoded, inPiecesOf: 1) == whole)
            #expect(Self.decode(encoded, inPiecesOf: piece) == whole)
            // It stops at the first delimiter, and every byte before it is consumed.
            #expect(whole.consumed == (encoded.firstIndex(of: 0) ?? encoded.count))
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
