import Foundation
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

    static let modelPath =
        "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/docs/states.pml"

    @Test("spin checks the table exhaustively: RF, alarms, acknowledgement, and a way back to idle from every phase")
    func modelChecked() throws {
        let wanted = TreatmentStateTable.promela()
        let present = readFile(Self.modelPath).map { String(decoding: $0, as: UTF8.self) }
        if present != wanted { Self.write(Self.modelPath, wanted) }
        #expect(present == wanted, "docs/states.pml was out of date and has been rewritten: commit it")
        #expect(try ModelChecker.problems(wanted) == [])
    }

    @Test(
        "The model check fails on an illegal transition: RF without a start, an acknowledgement mid-lesion, an alarm unlatched",
        arguments: [
            // RF without a start: the impedance check's acceptance straight from idle.
            (
                TreatmentStateTable.Transition(from: .idle, trigger: .impedanceAccepted, to: .ramp, note: "illegal"),
                "!(rf)||(started&&checked)"
            ),
            // An acknowledgement that leaves a lesion running.
            (
                TreatmentStateTable.Transition(from: .ramp, trigger: .acknowledge, to: .idle, note: "illegal"),
                "(from==6)&&cleared"
            ),
            // An alarm that does not latch.
            (
                TreatmentStateTable.Transition(from: .hold, trigger: .alarm, to: .stopped, note: "illegal"),
                "((phase==6)&&!(rf))&&latched"
            ),
        ]
    )
    func modelCheckBites(extra: TreatmentStateTable.Transition, violated: String) throws {
        // The illegal transition replaces any with the same phase and trigger: one move each.
        let table =
            TreatmentStateTable.transitions.filter { !($0.from == extra.from && $0.trigger == extra.trigger) }
            + [extra]
        let problems = try ModelChecker.problems(TreatmentStateTable.promela(table), homes: false)
        #expect(problems.contains { $0.contains("assertionviolated") && $0.contains(violated) }, "\(problems)")
    }

    @Test("The model check fails when the acknowledgement's guard is dropped, an alarm is not taken, or idle is lost")
    func modelCheckBitesOnStructure() throws {
        var unguarded = TreatmentStateTable.transitions
        for i in unguarded.indices where unguarded[i].trigger == .acknowledge { unguarded[i].requires = nil }
        let unguardedProblems = try ModelChecker.problems(TreatmentStateTable.promela(unguarded), homes: false)
        #expect(unguardedProblems.contains { $0.contains("(from==6)&&cleared") }, "\(unguardedProblems)")
        let noAlarmInDone = TreatmentStateTable.transitions.filter { !($0.from == .done && $0.trigger == .alarm) }
        let noAlarmProblems = try ModelChecker.problems(TreatmentStateTable.promela(noAlarmInDone), homes: false)
        #expect(
            noAlarmProblems.contains { $0.contains("assertionviolated") && $0.hasSuffix("→ done") },
            "\(noAlarmProblems)"
        )
        // Faulted without its acknowledgement: a trap with no way back to idle.
        let trap = TreatmentStateTable.transitions.filter { $0.trigger != .acknowledge }
        #expect(
            try ModelChecker.problems(TreatmentStateTable.promela(trap)).contains(
                "no way back to idle from faulted"
            )
        )
    }

    static func write(_ path: String, _ text: String) {
        guard let file = fopen(path, "w") else { return }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    }
}

/// Runs the spin model checker (Debian's `spin`, with the C compiler for its verifier) on a model
/// from `TreatmentStateTable.promela`.
enum ModelChecker {
    /// What the model fails, in words: each assertion violated on some path (with spin's trail),
    /// and each phase from which no path leads back to idle. Empty when the model holds.
    /// - Parameter homes: also search a way back to idle from every phase (seven more runs).
    static func problems(_ model: String, homes: Bool = true) throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try model.write(to: directory.appendingPathComponent("states.pml"), atomically: true, encoding: .utf8)
        var problems: [String] = []
        // Every assertion on every path from idle.
        let safety = try verify(in: directory, defines: [])
        if safety.errors != 0 {
            // The path to the violation, from spin's trail: the phases the model went through.
            let trail = try run("spin", ["-t", "-p", "-g", "states.pml"], in: directory)
            let phases = trail.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "[phase = ") else { return nil }
                let number = line[range.upperBound...].prefix { $0.isNumber }
                return Int(number).map { TreatmentPhase.allCases[$0].rawValue }
            }
            // Spin writes the assertion without spaces between operands; so do the tests that read it.
            let violation = (safety.violation ?? "an error").replacingOccurrences(of: " ", with: "")
            problems.append("\(violation) on the path " + (["idle"] + phases).joined(separator: " → "))
        }
        guard homes else { return problems }
        // A way back: from each phase, spin must refute "idle is never reached".
        for (index, phase) in TreatmentPhase.allCases.enumerated() where phase != .idle {
            let home = try verify(in: directory, defines: ["-DHOME_FROM=\(index)"])
            if home.errors == 0 { problems.append("no way back to idle from \(phase.rawValue)") }
        }
        return problems
    }

    /// Generates, compiles and runs the verifier: its error count and the first assertion violated.
    static func verify(in directory: URL, defines: [String]) throws -> (errors: Int, violation: String?) {
        _ = try run("spin", defines + ["-a", "states.pml"], in: directory)
        _ = try run("cc", ["-O0", "-DSAFETY", "-o", "pan", "pan.c"], in: directory)
        let output = try run("./pan", ["-m100000"], in: directory)
        let errors = output.split(separator: "\n").first { $0.contains("errors: ") }
            .flatMap { Int($0.split(separator: "errors: ").last?.trimmingCharacters(in: .whitespaces) ?? "") }
        let violation = output.split(separator: "\n").first { $0.contains("assertion violated") }.map(String.init)
        guard let errors else { throw CheckerError(output: output) }
        return (errors, violation)
    }

    struct CheckerError: Error, CustomStringConvertible {
        var output: String
        var description: String { "the verifier said no error count:\n" + output }
    }

    static func run(_ program: String, _ arguments: [String], in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: program.hasPrefix("./") ? directory.path + "/" + program.dropFirst(2) : "/usr/bin/env"
        )
        process.arguments = program.hasPrefix("./") ? arguments : [program] + arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
