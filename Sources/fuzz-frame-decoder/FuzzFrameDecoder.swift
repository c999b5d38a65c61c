// libFuzzer target for the generator link's frame decoder (scripts/fuzz). Built with
// -DFUZZING and --sanitize=fuzzer, libFuzzer calls `LLVMFuzzerTestOneInput`; built normally, this
// is a replay tool: `fuzz-frame-decoder FILE…` runs each file through the same checks.

import RFGenProtocol
import RFGenSystem

/// Any bytes, to a decoder of each direction, whole and split in two at a point the input picks:
/// the decoder never traps, splitting never changes what it yields, and every frame it yields
/// re-encodes to bytes that decode to the same frame.
func check(_ bytes: [UInt8]) {
    for direction in [Direction.generatorToHost, .hostToGenerator] {
        var whole = FrameDecoder(accepting: direction)
        let outputs = whole.feed(bytes)
        var split = FrameDecoder(accepting: direction)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let parts = split.feed(bytes[..<cut]) + split.feed(bytes[cut...])
        precondition(parts == outputs, "splitting the input at \(cut) changed the decoder's output")
        for case .frame(let frame) in outputs {
            var encoded: [UInt8] = []
            FrameEncoder.encode(frame, into: &encoded)
            var again = FrameDecoder(accepting: direction)
            let back = again.feed(encoded)
            precondition(back == [.frame(frame)], "a decoded frame did not survive re-encoding: \(frame)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    check(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if !FUZZING
@main
enum Replay {
    static func main() { replayInputs(tool: "fuzz-frame-decoder", check) }
}
#endif
