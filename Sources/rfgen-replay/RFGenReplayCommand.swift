// rfgen-replay: recorded lesions through this build's daemon machine, in virtual time; says where
// its decisions (phase changes, power commands, alarms, RF off) differ from the recorded ones.

import ArgumentParser
import Foundation
import RFGenAPI
import RFGenRecords
import RFGenReplay
import RFGenSystem

@main
struct RFGenReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfgen-replay",
        abstract: "Replay recorded lesions through this build and report where its decisions differ.",
        discussion: """
            Each lesion comes from a JSON export (rfctl records export --format json, or the API's \
            records.export) or from a records database (--db, read only: a running daemon's is safe). \
            The recorded telemetry is fed to this build's daemon machine tick by tick in virtual time; \
            its phase changes, power commands, alarms and RF off are compared with the recorded ones, \
            and the first difference is explained with what the machine saw.

            Exit status: 0 every decision as recorded; 1 a difference in some lesion; 65 a record \
            that cannot be replayed (unreadable, or made before records kept phases and profiles); \
            64 a usage error.
            """,
        version: RFGenVersion.current
    )

    @Option(name: .long, help: "A records database (STATE_DIR/records.sqlite), opened read only.")
    var db: String?

    @Option(name: .long, help: "A lesion of --db to replay; repeat for more. Without it, every lesion.")
    var id: [Int64] = []

    @Flag(name: .long, help: "One JSON object a lesion: {lesion, decisions, identical, differences}.")
    var json = false

    @Flag(name: .long, help: "Print only lesions that differ or cannot be replayed.")
    var quiet = false

    @Argument(help: "JSON exports of lesions.")
    var files: [String] = []

    mutating func validate() throws {
        if db == nil && files.isEmpty { throw ValidationError("name a --db or at least one exported lesion") }
        if db == nil && !id.isEmpty { throw ValidationError("--id selects lesions of a --db") }
    }

    func run() throws {
        var documents: [(String, () throws -> RecordDocument)] = []
        for file in files {
            documents.append(
                (
                    file,
                    {
                        let data = try Data(contentsOf: URL(fileURLWithPath: file))
                        return try APIJSON.decoder().decode(RecordDocument.self, from: data)
                    }
                )
            )
        }
        if let db {
            let store: RecordStore
            do {
                store = try RecordStore(readingOnly: db)
            } catch {
                FileHandle.standardError.write(Data("rfgen-replay: \(db): \(error)\n".utf8))
                throw ExitCode(65)
            }
            let ids = try id.isEmpty ? store.lesions().map(\.id).reversed() : id
            for lesion in ids { documents.append(("\(db) lesion \(lesion)", { try store.document(lesion: lesion) })) }
        }
        var differed = false
        var unreadable = false
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for (source, load) in documents {
            let report: ReplayReport
            do {
                report = try Replay.run(try load())
            } catch {
                unreadable = true
                FileHandle.standardError.write(Data("rfgen-replay: \(source): \(error)\n".utf8))
                continue
            }
            differed = differed || !report.identical
            if quiet && report.identical { continue }
            if json {
                let line = ReplayLine(
                    source: source,
                    lesion: report.lesion,
                    decisions: report.decisions,
                    identical: report.identical,
                    differences: report.differences.map(\.description)
                )
                print(String(decoding: try encoder.encode(line), as: UTF8.self))
            } else {
                print("\(source): \(report.text)")
            }
        }
        if unreadable { throw ExitCode(65) }
        if differed { throw ExitCode(1) }
    }
}

/// One lesion's verdict for --json.
struct ReplayLine: Encodable {
    var source: String
    var lesion: String
    var decisions: Int
    var identical: Bool
    var differences: [String]
}
