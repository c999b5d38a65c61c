// libFuzzer target for the socket API's request parser (scripts/fuzz). Built with -DFUZZING and
// --sanitize=fuzzer, libFuzzer calls `LLVMFuzzerTestOneInput`; built normally, this is a replay
// tool: `fuzz-api-request FILE…` runs each file through the same checks.

import RFGenAPI
import RFGenSystem

let decoder = APIJSON.decoder()

/// Any bytes as one request line: reading its head and every method's parameters never traps, and
/// whatever is refused is refused with one of the API's error codes and a message.
func check(_ bytes: [UInt8]) {
    let head: RequestHead
    do {
        head = try APIJSON.head(bytes, decoder: decoder)
    } catch {
        precondition(!error.message.isEmpty, "an error without a message")
        return
    }
    _ = RFGenAPI.Method(rawValue: head.method)
    func parse<Params: Decodable>(_ type: Params.Type) {
        do {
            _ = try APIJSON.params(type, bytes, decoder: decoder)
        } catch {
            precondition(error.code == .invalidParams && !error.message.isEmpty)
        }
    }
    parse(StartParams.self)
    parse(AckParams.self)
    parse(SubscribeParams.self)
    parse(RecordsListParams.self)
    parse(RecordParams.self)
    if let start = try? APIJSON.params(StartParams.self, bytes, decoder: decoder) {
        _ = StartParams.levelProblem(start.level)
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
    static func main() { replayInputs(tool: "fuzz-api-request", check) }
}
#endif
