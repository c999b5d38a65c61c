import Foundation
import RFGenCore
import Testing

/// docs/SAFETY.md's hazard table, read back against the code: every place it names must exist,
/// every test it names must be a test, and every interlock must answer some hazard. A safety case
/// that names a renamed function or a deleted test is a safety case nobody checked.
struct SafetyCaseTests {
    static let root = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")

    /// One row of the hazard table.
    struct Row {
        var id: String
        var hazard: String
        var control: String
        /// `path:symbol` for each place the control is implemented.
        var implementedIn: [String]
        /// `Suite.function` for each test that proves it.
        var tests: [String]
    }

    /// The code spans of a Markdown table cell: `a`, `b` → ["a", "b"].
    static func spans(_ cell: Substring) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .compactMap { $0.offset % 2 == 1 ? String($0.element) : nil }
    }

    /// The rows of the table whose header begins `| id | hazard |`.
    static func rows(_ markdown: String) -> [Row] {
        var rows: [Row] = []
        var inTable = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("| id | hazard |") {
                inTable = true
                continue
            }
            guard inTable else { continue }
            guard line.hasPrefix("|") else {
                inTable = false
                continue
            }
            if line.hasPrefix("|---") { continue }
            // Cells: id, hazard, cause, effect, control, implemented in, tests.
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces)[...] }
            guard cells.count == 7 else {
                rows.append(Row(id: "malformed: \(line)", hazard: "", control: "", implementedIn: [], tests: []))
                continue
            }
            rows.append(
                Row(
                    id: String(cells[0]),
                    hazard: String(cells[1]),
                    control: String(cells[4]),
                    implementedIn: spans(cells[5]),
                    tests: spans(cells[6])
                )
            )
        }
        return rows
    }

    /// The Swift files under a directory of the repository, by path from the root.
    static func swiftFiles(under directory: String) -> [String: String] {
        let base = root + "/" + directory
        var files: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: base)
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(".swift"), !relative.contains(".build/") else { continue }
            files[directory + "/" + relative] = try? String(contentsOfFile: base + "/" + relative, encoding: .utf8)
        }
        return files
    }

    /// Whether `text` declares `name` (a function, type, property or case).
    static func declares(_ text: String, _ name: String) -> Bool {
        let pattern =
            #"(func|var|let|case|struct|enum|class|actor|protocol|typealias|extension)\s+"#
            + NSRegularExpression.escapedPattern(for: name) + #"\b"#
        return text.range(of: pattern, options: .regularExpression) != nil
    }

    /// Whether a test file holds `Suite.function` as a test: a top-level type `Suite` (or an
    /// extension of it) holding `func function(` under a `@Test` attribute.
    static func hasTest(_ files: [String: String], suite: String, function: String) -> Bool {
        for text in files.values {
            let kinds: Set<Substring> = ["struct", "class", "extension", "enum"]
            let modifiers: Set<Substring> = ["final", "private", "fileprivate", "public", "internal"]
            var inSuite = false
            // A `@Test` attribute seen since the last function: the next function is a test.
            var underTest = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if let first = line.first, !first.isWhitespace, first != "}", first != "@", first != "/" {
                    let words = line.split(separator: " ")
                    let name = words.first { !kinds.contains($0) && !modifiers.contains($0) }
                    inSuite =
                        words.contains { kinds.contains($0) }
                        && name.map { $0.split(separator: ":")[0] == suite } == true
                }
                if line.contains("@Test") { underTest = true }
                // `func name(`, after any attributes and modifiers on the same line.
                if let found = line.range(of: "func ") {
                    if inSuite, underTest, line[found.upperBound...].hasPrefix("\(function)(") { return true }
                    underTest = false
                }
            }
        }
        return false
    }

    /// Everything wrong with the safety case, in words; empty when it holds.
    static func problems(_ markdown: String) -> [String] {
        let rows = rows(markdown)
        var problems: [String] = []
        if rows.isEmpty { problems.append("no hazard table (a header `| id | hazard | ...`)") }
        let tests = swiftFiles(under: "Tests")
        var ids = Set<String>()
        for row in rows {
            if row.id.hasPrefix("malformed") {
                problems.append("\(row.id): a row needs 7 cells")
                continue
            }
            if !ids.insert(row.id).inserted { problems.append("\(row.id): the id is used twice") }
            if row.implementedIn.isEmpty { problems.append("\(row.id): names no place the control is implemented") }
            if row.tests.isEmpty { problems.append("\(row.id): names no test") }
            for place in row.implementedIn {
                let parts = place.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2,
                    let text = try? String(contentsOfFile: root + "/" + parts[0], encoding: .utf8)
                else {
                    problems.append("\(row.id): `\(place)` is not a file of the repository and a symbol in it")
                    continue
                }
                let found =
                    parts[0].hasSuffix(".swift")
                    ? parts[1].split(separator: ".").allSatisfy { declares(text, String($0)) }
                    : text.contains(parts[1])
                if !found { problems.append("\(row.id): `\(parts[1])` is not in \(parts[0])") }
            }
            for test in row.tests {
                let parts = test.split(separator: ".").map(String.init)
                guard parts.count == 2, hasTest(tests, suite: parts[0], function: parts[1]) else {
                    problems.append("\(row.id): no test `\(test)` under Tests/")
                    continue
                }
            }
        }
        let controls = Set(rows.flatMap { spans($0.control[...]) })
        for interlock in Interlock.allCases where !controls.contains(interlock.rawValue) {
            problems.append("the interlock `\(interlock.rawValue)` answers no hazard: it has no row")
        }
        return problems
    }

    static var document: String {
        (try? String(contentsOfFile: root + "/docs/SAFETY.md", encoding: .utf8)) ?? ""
    }

    @Test("docs/SAFETY.md holds: every place and test it names exists, and every interlock has a row")
    func safetyCaseHolds() {
        let rows = Self.rows(Self.document)
        #expect(rows.count >= 15, "the issue's hazards, one row each")
        #expect(Self.problems(Self.document) == [])
    }

    @Test("The check fails on a row naming a test that does not exist, a missing symbol, or an interlock left out")
    func safetyCaseCheckBites() throws {
        let document = Self.document
        let row = try #require(Self.rows(document).first { $0.tests.contains("InterlockTests.stuckOutput") })
        // A row naming a test that does not exist.
        let missingTest = document.replacingOccurrences(
            of: "`InterlockTests.stuckOutput`",
            with: "`InterlockTests.stuckOutputRemoved`"
        )
        #expect(
            Self.problems(missingTest).contains("\(row.id): no test `InterlockTests.stuckOutputRemoved` under Tests/")
        )
        // A function that is not a test (no @Test) does not count as one.
        let notATest = document.replacingOccurrences(
            of: "`InterlockTests.stuckOutput`",
            with: "`InterlockTests.expectTrip`"
        )
        #expect(Self.problems(notATest).contains("\(row.id): no test `InterlockTests.expectTrip` under Tests/"))
        // A place whose symbol is gone.
        let missingSymbol = document.replacingOccurrences(
            of: "`Sources/RFGenCore/TreatmentCore.swift:TreatmentCore.checkStuckOutput`",
            with: "`Sources/RFGenCore/TreatmentCore.swift:TreatmentCore.checkStuckOutputGone`"
        )
        #expect(Self.problems(missingSymbol).contains { $0.contains("`TreatmentCore.checkStuckOutputGone` is not in") })
        // An interlock whose only mention is removed.
        let withoutEstop = document.replacingOccurrences(of: "`emergency_stop`", with: "the emergency stop")
        #expect(
            Self.problems(withoutEstop).contains("the interlock `emergency_stop` answers no hazard: it has no row")
        )
    }
}
