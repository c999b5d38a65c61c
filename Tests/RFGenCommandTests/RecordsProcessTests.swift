import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The treatment records on a real disk: a full one, a deleted database.
@Suite(.serialized)
struct RecordsProcessTests {
    typealias P = RFGenDProcessTests

    /// Whether this machine lets the tests mount a small tmpfs (root, and mounting allowed).
    static let canMount: Bool = {
        let point = FileManager.default.temporaryDirectory.appendingPathComponent("rfgen-mount-\(getpid())").path
        guard (try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)) != nil
        else { return false }
        defer { rmdir(point) }
        guard mount("tmpfs", point, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(point)
        return true
    }()

    static func records(_ socket: String) -> [[String: Any]] {
        P.call(socket, "records.list") { APITestClient.resultArray($0) != nil }.flatMap(APITestClient.resultArray)
            ?? []
    }

    static func records(_ status: [String: Any]) -> [String: Any] { status["records"] as? [String: Any] ?? [:] }

    @Test(
        "A disk full for seconds loses no lesion's start, alarms or end, and misfiles nothing; the operator is told",
        .enabled(if: canMount, "needs to mount a small tmpfs (root)")
    )
    func fullDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rfgen-full-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        #expect(mount("tmpfs", directory, "tmpfs", 0, "size=8m,mode=0700") == 0)
        defer {
            umount(directory)
            rmdir(directory)
        }
        let pair = try P.start(daemonArguments: ["--state-dir", directory])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(Self.records(P.status(pair.api) ?? [:])["kept"] as? Bool == true)

        // The disk fills up; then a lesion starts and runs for a few seconds.
        let filler = directory + "/filler"
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=" + filler, "bs=64k"])
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 60])), "the lesion never started")
        #expect(
            P.reaches(pair.api) { Self.records($0)["writing"] as? Bool == false },
            "the operator is not told that nothing is written"
        )
        let told = Self.records(P.status(pair.api) ?? [:])
        #expect((told["problem"] as? String)?.contains("failed") == true, "\(told)")
        pace(milliseconds: 2000)

        // Space again: what waited is written, in order, and the lesion goes on being recorded.
        try FileManager.default.removeItem(atPath: filler)
        #expect(P.reaches(pair.api) { Self.records($0)["writing"] as? Bool == true }, "writing never resumed")
        #expect(P.ok(P.call(pair.api, "stop")), "stop")
        #expect(P.reaches(pair.api) { $0["state"] as? String == "stopped" })
        // A second lesion gets its own record.
        #expect(P.ok(P.start(pair.api, ["level": "L5", "hold_s": 60])), "the second lesion never started")
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == true }, "RF never came on")
        pace(milliseconds: 2000)
        #expect(P.ok(P.call(pair.api, "stop")), "stop")
        #expect(P.reaches(pair.api) { $0["state"] as? String == "stopped" })
        // Written within a second or two of the end.
        var list: [[String: Any]] = []
        for _ in 0..<50 {
            list = Self.records(pair.api)
            if list.count == 2 && list.allSatisfy({ $0["outcome"] as? String != "running" }) { break }
            pace(milliseconds: 100)
        }
        #expect(list.count == 2, "\(list)")
        for (record, level) in zip(list.reversed(), ["L4", "L5"]) {
            #expect(record["level"] as? String == level, "\(record)")
            #expect(record["outcome"] as? String == "stopped", "\(record)")
            let id = record["id"] as? Int ?? 0
            let shown = P.call(pair.api, "records.show", ["id": id]) { APITestClient.result($0) != nil }
            let samples = shown.flatMap(APITestClient.result)?["samples"] as? Int ?? 0
            // L4 ran about 4 s, L5 over 1.5 s, at 100 samples a second; none lost (the backlog holds 200 s).
            #expect(samples >= (level == "L4" ? 300 : 100), "\(level): \(samples) samples")
        }
        #expect(Self.records(P.status(pair.api) ?? [:])["samples_lost"] as? Int == 0)
    }

    @Test("A records database deleted while the daemon runs is noticed and told, not written into silently")
    func deletedDatabase() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.reaches(pair.api) { Self.records($0)["writing"] as? Bool == true })
        try FileManager.default.removeItem(atPath: pair.directory + "/records.sqlite")
        #expect(
            P.reaches(pair.api) { Self.records($0)["writing"] as? Bool == false },
            "the deletion went unnoticed"
        )
        let told = Self.records(P.status(pair.api) ?? [:])
        #expect((told["problem"] as? String)?.contains("was deleted") == true, "\(told)")
    }
}
