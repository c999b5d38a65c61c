import RFGenCore
import RFGenSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The treatment state table is the docs' table: this test writes docs/STATES.md from it.
struct StateTableTests {
    static let path = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/docs/STATES.md"

    @Test("docs/STATES.md is the state table and its diagram, as the code has them (rewritten when not)")
    func docsMatchTheTable() {
        let wanted = TreatmentStateTable.markdown
        let present = readFile(Self.path).map { String(decoding: $0, as: UTF8.self) }
        if present != wanted { Self.write(Self.path, wanted) }
        #expect(present == wanted, "docs/STATES.md was out of date and has been rewritten: commit it")
    }

    @Test(
        "Each (phase, trigger) leads to one phase; every phase is reachable from idle, and faulted only leads to idle"
    )
    func tableIsWellFormed() {
        var seen: Set<String> = []
        for t in TreatmentStateTable.transitions {
            #expect(seen.insert("\(t.from.rawValue) \(t.trigger.rawValue)").inserted, "\(t) is in the table twice")
        }
        var reached: Set<TreatmentPhase> = [.idle]
        var grew = true
        while grew {
            let before = reached.count
            for t in TreatmentStateTable.transitions where reached.contains(t.from) { reached.insert(t.to) }
            grew = reached.count > before
        }
        #expect(reached == Set(TreatmentPhase.allCases))
        // RF goes on only through a start: no trigger but start leaves the inactive phases for an
        // active one.
        for t in TreatmentStateTable.transitions where !t.from.isActive && t.to.isActive {
            #expect(t.trigger == .start, "\(t)")
        }
        #expect(
            TreatmentStateTable.transitions.filter { $0.from == .faulted && $0.to != .faulted }.map(\.to) == [.idle]
        )
    }

    static func write(_ path: String, _ text: String) {
        guard let file = fopen(path, "w") else { return }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    }
}
