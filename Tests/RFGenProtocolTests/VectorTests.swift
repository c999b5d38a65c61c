import RFGenProtocol
import Testing

/// One record of `protocol/vectors/*.txt`.
struct Vector: CustomTestStringConvertible, Sendable {
    var name = ""
    var direction = Direction.hostToGenerator
    var bytes: [UInt8] = []
    var means: [String] = []
    var testDescription: String { name }

    /// Reads a vector file; traps on a malformed file, which is a broken test fixture.
    static func load(_ file: String) -> [Vector] {
        let path = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/"))
        let text = readText("/" + path + "/protocol/vectors/" + file)
        var vectors: [Vector] = []
        var current: Vector?
        let lines: [Substring] = text.split(separator: "\n", omittingEmptySubsequences: false) + [""]
        for line in lines {
            if line.hasPrefix("#") { continue }
            if line.isEmpty {
                if let v = current { vectors.append(v) }
                current = nil
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { fatalError("\(file): no key in \(line)") }
            let key = line[..<colon]
            let value = String(line[line.index(after: colon)...].dropFirst())
            var v = current ?? Vector()
            switch key {
            case "name": v.name = value
            case "note": break
            case "decoder": v.direction = value == "host" ? .hostToGenerator : .generatorToHost
            case "hex": v.bytes = value.split(separator: " ").map { UInt8($0, radix: 16)! }
            case "means": v.means.append(value)
            default: fatalError("\(file): unknown key \(key)")
            }
            current = v
        }
        precondition(!vectors.isEmpty, "no vectors in \(file)")
        return vectors
    }
}

struct VectorTests {
    static let valid = Vector.load("valid.txt")
    static let malformed = Vector.load("malformed.txt")

    @Test("Every valid vector decodes to its stated meaning and re-encodes to the same bytes", arguments: valid)
    func validVector(_ vector: Vector) throws {
        var decoder = FrameDecoder(accepting: vector.direction)
        let outputs = decoder.feed(vector.bytes)
        try #require(outputs.count == 1)
        guard case .frame(let frame) = outputs[0] else {
            Issue.record("\(vector.name): \(outputs[0])")
            return
        }
        #expect(frame.description == vector.means.first)
        #expect(FrameEncoder.encode(frame) == vector.bytes)
    }

    @Test("Every malformed vector yields exactly its listed errors and frames, in order", arguments: malformed)
    func malformedVector(_ vector: Vector) {
        for chunk in [vector.bytes.count, 1] {
            var decoder = FrameDecoder(accepting: vector.direction)
            var outputs: [FrameDecoder.Output] = []
            var index = 0
            while index < vector.bytes.count {
                outputs += decoder.feed(vector.bytes[index..<min(index + chunk, vector.bytes.count)])
                index += chunk
            }
            let texts = outputs.map { output -> String in
                switch output {
                case .frame(let frame): frame.description
                case .error(let error): "error \(error)"
                }
            }
            #expect(texts.count == vector.means.count, "\(vector.name): \(texts)")
            for (text, expected) in zip(texts, vector.means) {
                #expect(text == expected || expected.contains("bad_field") && text.hasPrefix(expected + " ("))
            }
        }
    }

    @Test("The vector files cover every message type")
    func coverage() {
        var seen = Set<MessageType>()
        for vector in Self.valid {
            var decoder = FrameDecoder(accepting: vector.direction)
            for case .frame(let frame) in decoder.feed(vector.bytes) { seen.insert(frame.message.type) }
        }
        #expect(seen == Set(MessageType.allCases))
    }
}
