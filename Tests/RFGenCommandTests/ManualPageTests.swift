import Foundation
import Testing

/// The manual pages in docs/man (scripts/manpages) against the programs they describe: every
/// option each program's --help lists is in its page and the page lists no other; the synopsis
/// names a subcommand only where there are some; and the sections a reader looks for (EXIT STATUS
/// with the program's own codes, ENVIRONMENT, FILES, SEE ALSO) are there. A page left behind by a
/// changed command fails here: run scripts/manpages.
struct ManualPageTests {
    static let pages = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/man")

    /// The long options a --help lists, and the subcommands it names.
    static func help(_ program: String, _ path: [String]) throws -> (options: Set<String>, subcommands: [String]) {
        let text = try runProcess(builtProgram(program), path + ["--help"]).output
        var options = Set<String>()
        var subcommands: [String] = []
        var section = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first.isUppercase, line.hasSuffix(":") { section = String(line) }
            if section == "OPTIONS:" || section.hasSuffix("OPTIONS:") {
                // An option's own line starts two spaces in (its description's continuation further).
                guard line.hasPrefix("  "), line.dropFirst(2).first == "-" else { continue }
                // The option's column ends where its description begins, after two spaces.
                let head = line.dropFirst(2).components(separatedBy: "  ").first ?? ""
                for match in head.matches(of: /--([a-z][a-z0-9-]*)/) { options.insert(String(match.1)) }
            } else if section == "SUBCOMMANDS:", line.hasPrefix("  "), !line.hasPrefix("  See "),
                line.dropFirst(2).first?.isLetter == true
            {
                subcommands.append(String(line.dropFirst(2).prefix { $0 != " " }))
            }
        }
        return (options, subcommands)
    }

    /// Every option of a program and of all its subcommands, and whether it has subcommands.
    static func allOptions(_ program: String) throws -> (options: Set<String>, hasSubcommands: Bool) {
        var options = Set<String>()
        var queue: [[String]] = [[]]
        var hasSubcommands = false
        while let path = queue.popLast() {
            // Commands nest two deep at most (rfctl session open); deeper is a misread help.
            try #require(path.count <= 2, "\(program) \(path)")
            let found = try help(program, path)
            options.formUnion(found.options)
            for command in found.subcommands where command != "help" {
                hasSubcommands = true
                queue.append(path + [command])
            }
        }
        return (options, hasSubcommands)
    }

    @Test(
        "Each manual page lists exactly its program's options, its real synopsis, and EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO",
        arguments: ["rfgend", "rfctl", "rfgen-sim", "rfgen-replay"]
    )
    func matchesHelp(program: String) throws {
        let page = try String(contentsOf: Self.pages.appendingPathComponent(program + ".1"), encoding: .utf8)
        let (options, hasSubcommands) = try Self.allOptions(program)
        #expect(!options.isEmpty, "\(program) --help lists options")
        let entries = page.split(separator: "\n").filter { $0.hasPrefix(".It Fl") || $0.hasPrefix(".Op Fl") }
        let documented = Set(entries.flatMap { $0.matches(of: /(?:Fl |, )-([a-z][a-z0-9-]*)/).map { String($0.1) } })
        #expect(
            options.subtracting(documented).isEmpty,
            "\(program): not in its page: \(options.subtracting(documented))"
        )
        #expect(
            documented.subtracting(options).isEmpty,
            "\(program): in its page only: \(documented.subtracting(options))"
        )
        #expect(page.contains(".Ar subcommand") == hasSubcommands, "\(program): the synopsis's subcommand")
        for section in ["ENVIRONMENT", "FILES", "\"EXIT STATUS\"", "\"SEE ALSO\""] {
            #expect(page.contains(".Sh \(section)\n"), "\(program): no \(section)")
        }
        #expect(!page.contains(".Ex -std"), "\(program): the generic exit status is replaced by its own")
        // The exit codes the program's help gives are the page's.
        let text = try runProcess(builtProgram(program), ["--help"]).output.replacingOccurrences(of: "\n", with: " ")
        if let said = text.range(of: "Exit status:") {
            let codes = text[said.upperBound...].prefix { $0 != "." }.matches(of: #/(\d+) /#).map { String($0.1) }
            for code in codes { #expect(page.contains(".It \(code)\n"), "\(program): exit \(code) not in its page") }
        }
    }
}
