import ArgumentParser
import CompressNIO
import Foundation
import NIOCore
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
    @Option(
        help: "Streams to capture: telemetry, events, alarms (comma-separated).",
        completion: .list(["telemetry,events,alarms", "telemetry", "events", "alarms", "events,alarms"])
    )
    var streams: String = "telemetry,events,alarms"
    @Option(
        help: """
            Write telemetry as one summary line per this many seconds (mean, min and max of each \
            reading; 0.01-3600) instead of every frame; 0 writes every frame. Events are always kept.
            """
    )
    var interval: Double = 0
    @Option(help: "Compress each finished file: none or gzip (the file being written stays plain).")
    var compress: CaptureCompression = .none

    func validate() throws {
        guard rotateBytes >= 4096 else { throw ValidationError("--rotate-bytes must be at least 4096") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        guard interval == 0 || (0.01...3600).contains(interval) else {
            throw ValidationError("--interval must be 0 (every frame) or 0.01-3600 seconds, got \(interval)")
        }
        for name in streams.split(separator: ",") where RFGenAPI.Stream(rawValue: String(name)) == nil {
            throw ValidationError("unknown stream \(name); streams: telemetry, events, alarms")
        }
    }

    func run() throws {
        var files = try CaptureFiles(directory: dir, rotateBytes: rotateBytes, keep: keep, compression: compress)
        var lastSeq = files.lastSeq
        var downsampler = interval > 0 ? TelemetryDownsampler(intervalMicroseconds: Int64(interval * 1_000_000)) : nil
        let encoder = APIJSON.encoder()
        /// Writes the open window's summary, if there is one: before any other line, so the file
        /// keeps the stream's order.
        func flushSummary() throws {
            guard let summary = downsampler?.flush() else { return }
            try files.write(Array(try APIJSON.encode(summary, encoder: encoder)), seq: summary.seq)
        }
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
                        lastSeq = seq
                        if downsampler != nil, head.kind == "telemetry",
                            let event = try? api.decoder.decode(Event.self, from: Data(line)),
                            case .telemetry(let frame) = event.body
                        {
                            if let summary = downsampler?.add(seq: seq, wallUs: event.wallUs, frame) {
                                try files.write(Array(try APIJSON.encode(summary, encoder: encoder)), seq: summary.seq)
                            }
                            continue
                        }
                        try flushSummary()
                        try files.write(line, seq: seq)
                    case "gap":
                        try flushSummary()
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
                    try? flushSummary()
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

/// How finished capture files are kept.
enum CaptureCompression: String, ExpressibleByArgument, CaseIterable {
    case none
    /// gzip (RFC 1952, by zlib through compress-nio): `zcat` and every log tool read it.
    case gzip
}

/// The capture directory: the current file, rotation, compression of finished files, and what the
/// newest file says was captured last.
///
/// The file being written is always plain NDJSON, appended a whole line at a time, so that a crash
/// leaves whole lines. A finished file (rotated, or left by an earlier run) is compressed to
/// `NAME.ndjson.gz` through a temporary file renamed into place, and only then is the plain one
/// removed: a crash at any point leaves either the plain file or a whole compressed one (both,
/// when it fell between the rename and the removal; the next start removes the plain one).
struct CaptureFiles {
    let directory: URL
    let rotateBytes: Int
    let keep: Int
    let compression: CaptureCompression
    private var handle: FileHandle?
    private var current: URL?
    private var size = 0
    /// The last event's number on disk when opened.
    private(set) var lastSeq: UInt64?

    static let plain = ".ndjson"
    static let compressed = ".ndjson.gz"

    init(directory path: String, rotateBytes: Int, keep: Int, compression: CaptureCompression = .none) throws {
        directory = URL(fileURLWithPath: path)
        self.rotateBytes = rotateBytes
        self.keep = keep
        self.compression = compression
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files().reversed() {
            if let seq = Self.lastSeq(in: file) {
                lastSeq = seq
                break
            }
        }
        // Every file there is finished: this run writes a new one.
        try compressFinished()
    }

    /// Capture files, oldest first (their names sort by time); a file's plain and compressed
    /// forms both, the compressed one last.
    func files() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("capture-") && ($0.hasSuffix(Self.plain) || $0.hasSuffix(Self.compressed)) }
            .sorted().map { directory.appendingPathComponent($0) }
    }

    /// The last complete event line's `seq` (a summary's is its last frame's). A line cut short
    /// by a crash is dropped from a plain file.
    static func lastSeq(in file: URL) -> UInt64? {
        let data: Data
        if file.path.hasSuffix(compressed) {
            // Only the tail matters: decompressed a window at a time, keeping the last 64 KiB.
            guard let tail = try? CaptureCompressor.tail(of: file, bytes: 64 * 1024) else { return nil }
            data = tail
        } else {
            guard let read = try? Data(contentsOf: file) else { return nil }
            data = read
        }
        var end = data.count
        if let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")), lastNewline + 1 < data.count {
            // An incomplete last line: cut it off so that appending starts on a line of its own.
            if !file.path.hasSuffix(compressed), let handle = try? FileHandle(forWritingTo: file) {
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
        handle = nil
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let url = directory.appendingPathComponent(
            "capture-\(stamp)-\(String(format: "%012llu", firstSeq))" + Self.plain
        )
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        let opened = try FileHandle(forWritingTo: url)
        size = Int(try opened.seekToEnd())
        handle = opened
        current = url
        try compressFinished()
        // Keep at most `keep` captures, counting a file's two forms (mid-compression) as one.
        let all = files()
        let names = all.map { $0.lastPathComponent.replacingOccurrences(of: ".gz", with: "") }
        let distinct = Array(Set(names)).sorted()
        for old in distinct.prefix(max(0, distinct.count - keep)) {
            for file in all where file.lastPathComponent.replacingOccurrences(of: ".gz", with: "") == old {
                try? FileManager.default.removeItem(at: file)
            }
        }
    }

    /// Compresses every plain file but the one being written; removes a plain file whose
    /// compressed form is already whole.
    private func compressFinished() throws {
        guard compression == .gzip else { return }
        let all = Set(files().map(\.lastPathComponent))
        for name in all.sorted() where name.hasSuffix(Self.plain) {
            let file = directory.appendingPathComponent(name)
            guard file != current else { continue }
            if !all.contains(name + ".gz") {
                try CaptureCompressor.gzip(file, to: directory.appendingPathComponent(name + ".gz"))
            }
            try FileManager.default.removeItem(at: file)
        }
    }
}

/// gzip through compress-nio (zlib): files streamed through a 64 KiB window, never whole in memory.
enum CaptureCompressor {
    static let chunk = 1 << 20

    /// Writes `file` compressed to `target`, through `target.partial` renamed into place once whole
    /// and on disk.
    static func gzip(_ file: URL, to target: URL) throws {
        let partial = URL(fileURLWithPath: target.path + ".partial")
        _ = FileManager.default.createFile(atPath: partial.path, contents: nil)
        let output = try FileHandle(forWritingTo: partial)
        let input = try FileHandle(forReadingFrom: file)
        defer { try? input.close() }
        let compressor = CompressionAlgorithm.gzip().compressor
        compressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        try compressor.startStream()
        while true {
            let data = try input.read(upToCount: chunk) ?? Data()
            var buffer = ByteBuffer(bytes: data)
            let last = data.count < chunk
            try buffer.compressStream(with: compressor, flush: last ? .finish : .no) { out in
                try output.write(contentsOf: Data(out.readableBytesView))
            }
            if last { break }
        }
        try compressor.finishStream()
        try output.synchronize()
        try output.close()
        try FileManager.default.moveItem(at: partial, to: target)
    }

    /// The last `bytes` of a gzip file's content.
    static func tail(of file: URL, bytes: Int) throws -> Data {
        let input = try FileHandle(forReadingFrom: file)
        defer { try? input.close() }
        let decompressor = CompressionAlgorithm.gzip().decompressor
        decompressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        try decompressor.startStream()
        var tail = Data()
        while let data = try input.read(upToCount: chunk), !data.isEmpty {
            var buffer = ByteBuffer(bytes: data)
            try buffer.decompressStream(with: decompressor) { out in
                tail.append(contentsOf: out.readableBytesView)
                if tail.count > 2 * bytes { tail = tail.suffix(bytes) }
            }
        }
        try decompressor.finishStream()
        return tail.suffix(bytes)
    }
}
