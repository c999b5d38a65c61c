import ArgumentParser
import Foundation
import RFGenAPI

#if canImport(Glibc)
import Glibc
#endif

/// `rfctl capture`: unattended log capture. Writes every event and gap marker, as the daemon sent
/// it, to rotating files; reconnects by itself; resumes from the last sequence number on disk.
struct Capture: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "Unattended capture: every telemetry frame and event to rotating files, resuming after restarts.",
        discussion: """
            Files are DIR/capture-<UTC time>-<first seq>.ndjson, one JSON object a line: the daemon's \
            event and gap lines as sent, and capture's own lines ({"type":"capture",…}: connected, \
            disconnected, gap_detected). On start it reads the last sequence number from the newest \
            file and asks the daemon for everything after it, so a restart of either loses nothing \
            the daemon's replay buffer still holds; anything it could not get is written as a gap \
            and reported on standard error (with --json, as JSON lines on standard output).
            """
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Option(help: "Directory for the capture files (created if missing).") var dir: String
    @Option(help: "Start a new file after this many bytes.") var rotateBytes: Int = 64 * 1024 * 1024
    @Option(help: "Keep at most this many files; the oldest are deleted.") var keep: Int = 100
    @Option(help: "Streams to capture: telemetry, events, alarms (comma-separated).")
    var streams: String = "telemetry,events,alarms"

    func validate() throws {
        guard rotateBytes >= 4096 else { throw ValidationError("--rotate-bytes must be at least 4096") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        for name in streams.split(separator: ",") where RFGenAPI.Stream(rawValue: String(name)) == nil {
            throw ValidationError("unknown stream \(name); streams: telemetry, events, alarms")
        }
    }

    func run() throws {
        var files = try CaptureFiles(directory: dir, rotateBytes: rotateBytes, keep: keep)
        var lastSeq = files.lastSeq
        let wanted = streams.split(separator: ",").compactMap { RFGenAPI.Stream(rawValue: String($0)) }
        report("capture to \(dir)" + (lastSeq.map { ", resuming after seq \($0)" } ?? ""), kind: "started")
        var outage: String?
        while true {
            do {
                let api = try APIConnection(path: socket)
                let subscription = try api.call(
                    "subscribe",
                    SubscribeParams(streams: wanted, fromSeq: lastSeq.map { $0 + 1 }),
                    as: SubscribeResult.self
                )
                outage = nil
                try files.write(
                    Self.note("connected", ["instance": api.banner.instance, "next_seq": subscription.nextSeq]),
                    nameSeq: subscription.nextSeq
                )
                report(
                    "connected to instance \(api.banner.instance), next seq \(subscription.nextSeq)",
                    kind: "connected"
                )
                while true {
                    guard let line = try api.nextLine(timeoutMilliseconds: 1000) else { continue }
                    guard let head = try? api.decoder.decode(LineHead.self, from: Data(line)) else { continue }
                    switch head.type {
                    case "event":
                        guard let seq = head.seq else { continue }
                        if let last = lastSeq, seq > last + 1 {
                            // Not announced by the daemon: should not happen; recorded all the same.
                            try files.write(
                                Self.note("gap_detected", ["from_seq": last + 1, "to_seq": seq - 1])
                            )
                            report("gap: events \(last + 1)-\(seq - 1) never arrived", kind: "gap")
                        }
                        if let last = lastSeq, seq <= last { continue }
                        try files.write(line, seq: seq)
                        lastSeq = seq
                    case "gap":
                        try files.write(line)
                        if let gap = try? api.decoder.decode(Gap.self, from: Data(line)) {
                            report("gap: events \(gap.fromSeq)-\(gap.toSeq) lost (\(gap.reason))", kind: "gap")
                            lastSeq = max(lastSeq ?? 0, gap.toSeq)
                        }
                    default:
                        break
                    }
                }
            } catch let failure as APIConnection.Failure {
                if outage == nil {
                    outage = "\(failure)"
                    try? files.write(Self.note("disconnected", ["reason": "\(failure)"]))
                    report("daemon unreachable (\(failure)); retrying every 0.5 s", kind: "disconnected")
                }
                Thread.sleep(forTimeInterval: 0.5)
            } catch {
                report("writing the capture failed: \(error)", kind: "error")
                throw ExitCode(1)
            }
        }
    }

    func run(on api: APIConnection) throws(APIConnection.Failure) {}

    static func note(_ kind: String, _ fields: [String: Any]) -> [UInt8] {
        var object = fields
        object["type"] = "capture"
        object["kind"] = kind
        object["wall_us"] = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data)
    }

    private func report(_ text: String, kind: String) {
        if common.json {
            let data =
                (try? JSONSerialization.data(withJSONObject: ["kind": kind, "message": text], options: [.sortedKeys]))
                ?? Data()
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardError.write(Data("rfctl capture: \(text)\n".utf8))
        }
    }
}

/// The capture directory: the current file, rotation, and what the newest file says was captured last.
struct CaptureFiles {
    let directory: URL
    let rotateBytes: Int
    let keep: Int
    private var handle: FileHandle?
    private var size = 0
    /// The last event's number on disk when opened.
    private(set) var lastSeq: UInt64?

    init(directory path: String, rotateBytes: Int, keep: Int) throws {
        directory = URL(fileURLWithPath: path)
        self.rotateBytes = rotateBytes
        self.keep = keep
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files().reversed() {
            if let seq = Self.lastSeq(in: file) {
                lastSeq = seq
                break
            }
        }
    }

    /// Capture files, oldest first (their names sort by time).
    func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("capture-") && $0.hasSuffix(".ndjson") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// The last complete event line's `seq`. A line cut short by a crash is dropped from the file.
    static func lastSeq(in file: URL) -> UInt64? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        var end = data.count
        if let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")), lastNewline + 1 < data.count {
            // An incomplete last line: cut it off so that appending starts on a line of its own.
            if let handle = try? FileHandle(forWritingTo: file) {
                try? handle.truncate(atOffset: UInt64(lastNewline + 1))
                try? handle.close()
            }
            end = lastNewline + 1
        }
        let decoder = APIJSON.decoder()
        for line in data[..<end].split(separator: UInt8(ascii: "\n")).reversed() {
            if let head = try? decoder.decode(LineHead.self, from: Data(line)), let seq = head.seq {
                return seq
            }
            if let gap = try? decoder.decode(Gap.self, from: Data(line)) { return gap.toSeq }
        }
        return nil
    }

    /// Appends one line; `seq` names the file when it is the first of a new one.
    mutating func write(_ line: [UInt8], seq: UInt64? = nil, nameSeq: UInt64? = nil) throws {
        if handle == nil || size >= rotateBytes {
            try rotate(firstSeq: seq ?? nameSeq ?? lastSeq.map { $0 + 1 } ?? 0)
        }
        // One write call a line, so that a crash leaves whole lines and at most one cut-off one.
        try handle?.write(contentsOf: Data(line + [UInt8(ascii: "\n")]))
        size += line.count + 1
        if let seq { lastSeq = seq }
    }

    private mutating func rotate(firstSeq: UInt64) throws {
        try handle?.close()
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let url = directory.appendingPathComponent("capture-\(stamp)-\(String(format: "%012llu", firstSeq)).ndjson")
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        let opened = try FileHandle(forWritingTo: url)
        size = Int(try opened.seekToEnd())
        handle = opened
        let all = files()
        for old in all.prefix(max(0, all.count - keep)) { try? FileManager.default.removeItem(at: old) }
    }
}
