#if canImport(Glibc)
import Glibc
#endif

/// A whole file's bytes, or nil (the fuzz targets' replay tools read their inputs with it).
public func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// The replay tool of a fuzz target built without the fuzzer: runs each file named on the command
/// line through `check`, which traps on a violated property as it does under libFuzzer.
public func replayInputs(tool: String, _ check: ([UInt8]) -> Void) {
    for path in CommandLine.arguments.dropFirst() {
        guard let bytes = readFile(path) else {
            print("\(tool): cannot read \(path)")
            continue
        }
        check(bytes)
        print("\(path): ok")
    }
}
