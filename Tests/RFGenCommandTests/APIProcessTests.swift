import Foundation
import RFGenSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The socket API end to end: real rfgend on real rfgen-sim, clients on the real Unix socket.
@Suite(.serialized)
struct APIProcessTests {
    typealias P = RFGenDProcessTests

    static let isRoot = getuid() == 0

    @Test(
        "Two starts, then two stops, pipelined in one write: each its own reply, and the record names the start carried out"
    )
    func pipelinedEqualCommands() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.status(pair.api, until: P.ready) != nil)
        let client = try APITestClient(pair.api)
        #expect(P.ok(try client.call("subscribe", ["streams": ["telemetry"]])))
        #expect(P.ok(try client.call("lease.acquire")))
        func pipeline(_ requests: [String]) throws -> [[String: Any]] {
            try client.send(raw: requests.joined(separator: "\n"))
            return try (0..<requests.count).map { try client.reply(id: 101 + $0) }
        }
        // Two starts at different levels. The first may be refused for a reading a tick late on a
        // loaded machine: try again a few ticks later, as an operator would.
        var starts: [[String: Any]] = []
        for _ in 0..<5 {
            starts = try pipeline([
                #"{"id":101,"method":"start","params":{"level":"L4","hold_s":60}}"#,
                #"{"id":102,"method":"start","params":{"level":"L5","hold_s":60}}"#,
            ])
            if P.ok(starts[0]) { break }
            #expect(client.awaitTicks(5))
        }
        #expect(P.ok(starts[0]), "the first start is carried out: \(starts)")
        #expect(APITestClient.errorCode(starts[1]) == "refused", "the second is refused: \(starts)")
        let record = P.call(pair.api, "records.show", ["id": 1]) { APITestClient.result($0) != nil }
        let summary = record.flatMap(APITestClient.result)?["record"] as? [String: Any]
        #expect(summary?["level"] as? String == "L4", "the record names the start carried out: \(record ?? [:])")
        #expect(P.status(pair.api)?["level"] as? String == "L4")

        let stops = try pipeline([#"{"id":101,"method":"stop"}"#, #"{"id":102,"method":"stop"}"#])
        #expect(P.ok(stops[0]), "the first stop is carried out: \(stops)")
        #expect(P.ok(stops[1]), "the second finds nothing running and is done too (idempotent): \(stops)")
        #expect(stops.map { $0["id"] as? Int } == [101, 102], "each its own reply: \(stops)")
        #expect(P.status(pair.api) { $0["state"] as? String == "stopped" } != nil)
    }

    @Test(
        "Roles and the control lease: one holder, start only with it, stop and estop from any operator, lost on disconnect"
    )
    func leaseAndOperators() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        let first = try APITestClient(pair.api)
        let second = try APITestClient(pair.api)
        #expect(first.banner["type"] as? String == "banner")
        #expect(first.banner["role"] as? String == "operator", "root is an operator")
        #expect(first.banner["version"] as? Int == 1)

        let noLease = try second.call("start", ["level": "L4"])
        #expect(APITestClient.errorCode(noLease) == "lease_required", "\(noLease)")
        #expect(P.ok(try first.call("lease.acquire")))
        let held = try second.call("lease.acquire")
        #expect(APITestClient.errorCode(held) == "lease_held", "\(held)")
        let message = (held["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(
            message.contains("client \(first.banner["client"] as? Int ?? -1)"),
            "the refusal names the holder: \(message)"
        )
        #expect(APITestClient.errorCode(try second.call("start", ["level": "L4"])) == "lease_held")

        var started = try first.call("start", ["level": "L4"])
        for _ in 0..<20 where !P.ok(started) { started = try first.call("start", ["level": "L4"]) }
        #expect(P.ok(started), "\(started)")
        // Stop needs no lease: any operator, at any moment.
        #expect(P.ok(try second.call("stop")))
        #expect(P.status(pair.api) { $0["state"] as? String == "stopped" } != nil)
        #expect(P.ok(try second.call("estop")))
        #expect(P.status(pair.api) { $0["state"] as? String == "faulted" } != nil)

        // The lease goes with the connection.
        let third = try APITestClient(pair.api)
        #expect(APITestClient.errorCode(try third.call("lease.acquire")) == "lease_held")
        let lease = P.status(pair.api)?["lease"] as? [String: Any]
        #expect(lease?["client"] as? Int == first.banner["client"] as? Int)
        first.connection.close()
        let freed = P.call(pair.api, "status") {
            (APITestClient.result($0)?["lease"] as? [String: Any])?["held"] as? Bool == false
        }
        #expect(freed != nil, "the lease is free once its holder disconnected")
        #expect(P.ok(try third.call("lease.acquire")))
    }

    @Test(
        "An observer (another uid) reads and subscribes but may not start, stop or take the lease",
        .enabled(if: isRoot, "needs root to run a client as another uid (setpriv)")
    )
    func observerRole() throws {
        // The socket is given to group 65534 so that the other uid may connect at all; operators
        // are group 65533.
        let pair = try P.start(daemonArguments: ["--socket-group", "65534", "--operator-group", "65533"])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        func asUser(
            _ uid: Int,
            groups: String,
            _ arguments: [String]
        ) throws -> (status: Int32, output: String, error: String) {
            let result = try runProcess(
                "/usr/bin/setpriv",
                ["--reuid=\(uid)", "--regid=65534", "--groups=\(groups)", P.rfctlPath, "--socket", pair.api] + arguments
            )
            return (result.status, result.output, result.errors)
        }
        let status = try asUser(65534, groups: "65534", ["status", "--json"])
        #expect(status.status == 0, "an observer reads: \(status.error)")
        for command in [["start", "--level", "L4"], ["stop"], ["estop"], ["ack"]] {
            let refused = try asUser(65534, groups: "65534", command)
            #expect(refused.status == 1, "\(command): \(refused.error)")
            #expect(refused.error.contains("not_permitted"), "\(command): \(refused.error)")
        }
        let watch = try asUser(65534, groups: "65534", ["watch", "--once", "--no-color"])
        #expect(watch.status == 0 && watch.output.contains("tip"), "an observer subscribes: \(watch.error)")
        // A member of the operator group is an operator without being root.
        let stop = try asUser(65533, groups: "65534,65533", ["stop"])
        #expect(
            stop.status == 0 && stop.output.contains("nothing was running"),
            "an operator by group reaches the core, where a stop with nothing running is done: \(stop.error)"
        )
    }

    /// Reads every line from many sockets at once, waiting on them with poll(2), until each
    /// client has `events` events (or 10 s pass); returns each client's event sequence numbers.
    static func collect(_ clients: [APITestClient], events: Int) -> [[Int]] {
        var seqs = Array(repeating: [Int](), count: clients.count)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && seqs.contains(where: { $0.count < events }) {
            var fds = clients.map { pollfd(fd: $0.connection.descriptor, events: Int16(POLLIN), revents: 0) }
            if !clients.contains(where: \.hasLineWaiting) { _ = poll(&fds, nfds_t(fds.count), 1000) }
            for (index, client) in clients.enumerated() where client.hasLineWaiting || fds[index].revents != 0 {
                while let line = try? client.next(timeoutMilliseconds: 0) {
                    if line["type"] as? String == "event", let seq = line["seq"] as? Int { seqs[index].append(seq) }
                }
            }
        }
        return seqs
    }

    /// The tick lateness in the next `ticks` telemetry events a subscriber sees, µs, sorted.
    static func lateness(_ client: APITestClient, ticks: Int) -> [Int] {
        var late: [Int] = []
        while late.count < ticks, let line = try? client.next(timeoutMilliseconds: 1000) {
            if line["kind"] as? String == "telemetry", let data = line["data"] as? [String: Any],
                let value = data["late_us"] as? Int
            {
                late.append(value)
            }
        }
        return late.sorted()
    }

    static func percentile(_ sorted: [Int], _ p: Double) -> Int {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    @Test("64 subscribers during a lesion get every event in order, and the lesion goes on")
    func sixtyFourSubscribers() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 60])))
        let probe = try APITestClient(pair.api)
        #expect(P.ok(try probe.call("subscribe", ["streams": ["telemetry"]])))
        let before = Self.lateness(probe, ticks: 300)

        var subscribers: [APITestClient] = []
        for _ in 0..<64 {
            let client = try APITestClient(pair.api)
            #expect(P.ok(try client.call("subscribe")))
            subscribers.append(client)
        }
        let during = Self.collect(subscribers + [probe], events: 300)
        let lateDuring = Self.lateness(probe, ticks: 300)
        for (index, seqs) in during.prefix(64).enumerated() {
            #expect(seqs.count >= 300, "client \(index) got \(seqs.count) events")
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "client \(index): in order, no gap")
        }
        let status = P.status(pair.api)
        #expect(status?["clients"] as? Int ?? 0 >= 65)
        #expect(
            status?["state"] as? String == "hold" || status?["state"] as? String == "ramp",
            "the lesion went on: \(status?["state"] ?? "no status"), alarms \(status?["alarms"] ?? [])"
        )
        let (p99Before, p99During) = (Self.percentile(before, 0.99), Self.percentile(lateDuring, 0.99))
        // Printed, not asserted: the tick's lateness beside subscribers is a speed figure, measured
        // by scripts/bench (the subscribers part, with cyclictest beside it in the same window).
        // Asserted here it failed one ci-local run in two: 5.3 ms p99 over 300 ticks, on a
        // 2-core VM whose bare real-time loop showed a 10-20 ms max that hour.
        print("tick lateness p99: \(p99Before) µs with 1 subscriber, \(p99During) µs with 65")
    }

    /// The times a thread of the daemon has gone to sleep (its voluntary context switches).
    static func sleeps(_ pid: Int32, thread: String) -> Int? {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for tid in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8),
                status.contains("Name:\t\(thread)")
            else { continue }
            let line = status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") }
            return line.flatMap { Int($0.split(separator: "\t").last ?? "") }
        }
        return nil
    }

    @Test(
        "During a lesion the link thread wakes for each frame from the generator, and the event loop for each event: neither on a beat or a hand-over besides"
    )
    func wakeUpsPerFrameAndEvent() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 60])))
        let client = try APITestClient(pair.api)
        #expect(P.ok(try client.call("subscribe", ["streams": ["telemetry"]])))
        #expect(Self.collect([client], events: 20)[0].count >= 20, "telemetry flows")
        let pid = pair.daemon.processIdentifier
        let loopBefore = try #require(Self.sleeps(pid, thread: "NIO-ELT"), "the event-loop thread")
        let linkBefore = try #require(Self.sleeps(pid, thread: "rfgend-link"), "the link thread")
        let events = Self.collect([client], events: 300)[0].count
        let loopWakes = try #require(Self.sleeps(pid, thread: "NIO-ELT")) - loopBefore
        let linkWakes = try #require(Self.sleeps(pid, thread: "rfgend-link")) - linkBefore
        #expect(events >= 300, "the subscriber got \(events) events")
        #expect(P.status(pair.api)?["state"] as? String == "ramp", "the lesion went on")
        // Each wake-up costs more CPU on a virtual machine than the work it does (issue 19).
        // The event loop: one an event, and one a tenth of a second for the timer that backs
        // the bus up (`apiHousekeepingMicroseconds`): 1.1 an event. A timer pushed back at each
        // pump still fired as first set (1.5 an event), and the 5 ms beat taken for a sign of
        // fast events kept the loop on it (2 an event at 100 Hz).
        #expect(loopWakes <= events * 5 / 4, "event loop: \(loopWakes) wake-ups for \(events) events")
        // The link thread: a telemetry frame and a set point's ACK a tick (one event a tick), and
        // about one more in the pty's own wake-ups (strace shows two polls and two reads a tick:
        // 2.9 sleeps a tick measured); handing each set point over to it for writing made 3.8-4.2.
        #expect(linkWakes <= events * 17 / 5, "link thread: \(linkWakes) wake-ups for \(events) ticks")
    }

    @Test("A reply never overtakes an event made before it: the status that lists an alarm comes after its event")
    func replyAfterItsEvents() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready")
        // The stop comes from another connection, as an operator's would while a console polls:
        // the reply to it would otherwise be this client's first sight of the tick.
        let stopper = try APITestClient(pair.api)
        var seen = Set<Int>()
        for cycle in 0..<20 {
            // A connection of its own each cycle, so that each starts with a full request bucket.
            let client = try APITestClient(pair.api)
            #expect(P.ok(try client.call("subscribe", ["streams": ["events", "alarms", "telemetry"]])))
            var raised = Set<Int>()
            func note(_ line: [String: Any]) {
                if line["kind"] as? String == "alarm_raised", let id = (line["data"] as? [String: Any])?["id"] as? Int {
                    raised.insert(id)
                }
            }
            try stopper.send(raw: #"{"id":1,"method":"estop"}"#)
            // Status as fast as the replies come, until it lists the alarm the tick raised. Once
            // the bucket is spent, one a tick: the daemon's telemetry paces the polls, not a sleep.
            var listed: Int?
            var limited = false
            for _ in 0..<1000 where listed == nil {
                if limited {
                    while client.hasLineWaiting, let line = try client.next(timeoutMilliseconds: 0) { note(line) }
                    if let line = try client.next(timeoutMilliseconds: 1000) { note(line) }
                }
                guard let alarms = APITestClient.result(try client.call("status"))?["alarms"] as? [[String: Any]] else {
                    limited = true
                    continue
                }
                listed = alarms.compactMap { $0["id"] as? Int }.first { !seen.contains($0) }
            }
            let id = try #require(listed, "cycle \(cycle): the status never listed the emergency stop's alarm")
            seen.insert(id)
            // `reply` holds the lines that came before the reply, in order.
            while client.hasLineWaiting, let line = try client.next(timeoutMilliseconds: 0) { note(line) }
            try #require(
                raised.contains(id),
                "cycle \(cycle): the status listed alarm \(id) before its alarm_raised event came"
            )
            #expect(P.ok(try stopper.reply(id: 1)), "the emergency stop")
            #expect(P.ok(P.call(pair.api, "ack", until: P.ok)))
        }
    }

    @Test("A client that stops reading does not hold up the others, and is disconnected")
    func stalledClient() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        let stalled = try APITestClient(pair.api)
        #expect(P.ok(try stalled.call("subscribe")))
        let stalledID = stalled.banner["client"] as? Int
        let reader = try APITestClient(pair.api)
        #expect(P.ok(try reader.call("subscribe", ["streams": ["telemetry"]])))
        // The stalled client never reads again; its socket and then the daemon's buffer fill.
        var gone = false
        let deadline = Date().addingTimeInterval(60)
        var received: [Int] = []
        while Date() < deadline && !gone {
            received += Self.collect([reader], events: 100)[0]
            let clients = APITestClient.resultArray(P.call(pair.api, "clients") ?? [:]) ?? []
            gone = !clients.contains { $0["client"] as? Int == stalledID }
        }
        #expect(gone, "the stalled client was disconnected")
        #expect(received.count > 500, "the reader kept getting telemetry: \(received.count)")
        #expect(zip(received, received.dropFirst()).allSatisfy { $1 == $0 + 1 }, "without a gap")
        #expect(P.status(pair.api)?["link"] as? String == "up")
    }

    @Test("Malformed input from one client gets error replies; the others are served as before")
    func malformedInput() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        let watcher = try APITestClient(pair.api)
        #expect(P.ok(try watcher.call("subscribe", ["streams": ["telemetry"]])))

        let bad = try APITestClient(pair.api)
        let cases: [(String, String)] = [
            ("this is not json", "parse_error"),
            ("{\"id\": 1}", "invalid_request"),
            ("{\"id\": 2, \"method\": \"format_disk\"}", "unknown_method"),
            ("{\"id\": 3, \"method\": \"start\", \"params\": {\"level\": 4}}", "invalid_params"),
            ("{\"id\": 4, \"method\": \"subscribe\", \"params\": {\"streams\": [\"nope\"]}}", "invalid_params"),
            ("{\"id\": 5, \"method\": \"records.show\", \"params\": {}}", "invalid_params"),
            ("[\"status\"]", "parse_error"),
            ("{\"id\": 6, \"method\": \"status\", \"params\": \u{1}}", "parse_error"),
        ]
        for (line, code) in cases {
            try bad.send(raw: line)
            let reply = try bad.reply(id: nil)
            #expect(APITestClient.errorCode(reply) == code, "\(line): \(reply)")
        }
        // A flood: the rate limit answers, then the daemon disconnects the flooder.
        for index in 0..<800 { try? bad.send(raw: "{\"id\": \(index + 10), \"method\": \"ping\"}") }
        var limited = 0
        var closed = false
        while let reply = try? bad.reply(id: nil, timeoutMilliseconds: 2000) {
            if APITestClient.errorCode(reply) == "rate_limited" { limited += 1 }
        }
        closed = (try? bad.call("ping", timeoutMilliseconds: 1000)) == nil
        #expect(limited > 0, "rate-limited replies")
        #expect(closed, "the flooder was disconnected")

        let long = try APITestClient(pair.api)
        try long.send(raw: "{\"id\": 1, \"method\": \"" + String(repeating: "a", count: 10_000) + "\"}")
        #expect(APITestClient.errorCode(try long.reply(id: nil)) == "line_too_long")

        // Meanwhile the watcher got every tick, and status is answered.
        let seqs = Self.collect([watcher], events: 100)[0]
        #expect(seqs.count > 50)
        let all = watcher.held.compactMap { $0["seq"] as? Int } + seqs
        #expect(zip(all, all.dropFirst()).allSatisfy { $1 == $0 + 1 }, "no gap for the well-behaved client")
        #expect(P.status(pair.api, until: P.ready) != nil)
    }

    @Test(
        "capture across a daemon restart and its own: every event kept, no gap; as every frame, or summarised and gzipped",
        arguments: [[], ["--interval", "0.1", "--compress", "gzip"]]
    )
    func captureAcrossRestart(options: [String]) throws {
        var pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        let summarised = options.contains("--interval")
        let directory = pair.directory + "/capture"
        let capture = Process()
        capture.executableURL = URL(fileURLWithPath: P.rfctlPath)
        capture.arguments =
            ["--socket", pair.api, "capture", "--dir", directory, "--rotate-bytes", summarised ? "8192" : "65536"]
            + options
        capture.standardError = FileHandle.nullDevice
        try capture.run()
        defer {
            if capture.isRunning { capture.terminate() }
            capture.waitUntilExit()
        }
        /// Every line of every file, in order; compressed ones read back by the system's gzip.
        func text() -> [String] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            var lines: [String] = []
            for name in names {
                let path = directory + "/" + name
                var content = ""
                if name.hasSuffix(".ndjson.gz") {
                    content = (try? runProcess("/bin/gzip", ["-dc", path]).output) ?? ""
                } else if name.hasSuffix(".ndjson") {
                    content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                }
                lines += content.split(separator: "\n").map(String.init)
            }
            return lines
        }
        func captured() -> [[String: Any]] { text().compactMap { try? APITestClient.object(Array($0.utf8)) } }
        /// Events and telemetry summaries: what carries event numbers.
        func numbered(_ lines: [[String: Any]]) -> [[String: Any]] {
            lines.filter { ["event", "telemetry_summary"].contains($0["type"] as? String ?? "") }
        }
        /// Frames and events the lines account for (a summary counts its frames).
        func count(_ lines: [[String: Any]]) -> Int {
            numbered(lines).reduce(0) { $0 + (($1["frames"] as? Int) ?? 1) }
        }
        func waitFor(_ what: ([[String: Any]]) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if what(captured()) { return true }
                // capture is another process writing files: there is nothing to wait on but them.
                pace(milliseconds: 100)
            }
            return false
        }
        #expect(waitFor { count($0) > 200 })
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        // Down for a moment; capture keeps trying.
        pair.daemon = try P.startDaemon(directory: pair.directory)
        #expect(
            waitFor { lines in
                let started = lines.lastIndex { $0["kind"] as? String == "daemon_started" }
                return started.map { count(Array(lines[$0...])) > 200 } ?? false
            }
        )
        capture.terminate()
        capture.waitUntilExit()
        // Capture itself restarted: it reads where it stopped from its files and asks for the rest.
        let before = count(captured())
        let again = Process()
        again.executableURL = capture.executableURL
        again.arguments = capture.arguments
        again.standardError = FileHandle.nullDevice
        try again.run()
        defer {
            if again.isRunning { again.terminate() }
            again.waitUntilExit()
        }
        #expect(waitFor { count($0) > before + 100 })
        again.terminate()
        again.waitUntilExit()
        let lines = captured()
        let entries = numbered(lines)
        // One unbroken numbering: each line starts where the one before it ended.
        let ranges = entries.compactMap { entry -> (Int, Int)? in
            guard let seq = entry["seq"] as? Int else { return nil }
            return ((entry["from_seq"] as? Int) ?? seq, seq)
        }
        #expect(ranges.count == entries.count)
        let breaks = zip(ranges, ranges.dropFirst()).filter { $1.0 != $0.1 + 1 }
        #expect(breaks.isEmpty, "one unbroken numbering across both restarts: \(breaks.prefix(5))")
        #expect(!lines.contains { $0["type"] as? String == "gap" || $0["kind"] as? String == "gap_detected" })
        #expect(entries.contains { $0["kind"] as? String == "daemon_stopping" }, "events are kept")
        let restarted = entries.last { $0["kind"] as? String == "daemon_started" }
        #expect((restarted?["data"] as? [String: Any])?["previous_shutdown"] as? String == "clean")
        // Values at the wire's resolution: no float noise (at most 3 decimals anywhere).
        let noisy = text().filter { $0.range(of: #"\.\d{4,}"#, options: .regularExpression) != nil }
        #expect(noisy.isEmpty, "digits past the resolution: \(noisy.first?.prefix(300) ?? "")")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        #expect(files.count > 1, "rotated: \(files)")
        if summarised {
            let summaries = entries.filter { $0["type"] as? String == "telemetry_summary" }
            #expect(!entries.contains { $0["kind"] as? String == "telemetry" }, "no frame written as it came")
            #expect(summaries.count > 10 && summaries.allSatisfy { ($0["frames"] as? Int ?? 0) <= 12 })
            let tip = summaries.first?["tip_temp_c"] as? [String: Double]
            #expect(tip.map { $0["min"]! <= $0["mean"]! && $0["mean"]! <= $0["max"]! } == true, "\(tip ?? [:])")
            #expect(files.contains { $0.hasSuffix(".ndjson.gz") }, "finished files compressed: \(files)")
            #expect(files.filter { $0.hasSuffix(".ndjson") }.count == 1, "only the last file is plain: \(files)")
        }
    }

    static let tmux = ["/usr/bin/tmux", "/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(
        "rfctl watch draws the live view in a real terminal (tmux)",
        .enabled(if: tmux != nil, "tmux is not installed (scripts/setup installs it)")
    )
    func watchInTmux() throws {
        let tmux = try #require(Self.tmux)
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 30])))
        let session = "rfgen-watch-\(getpid())"
        func run(_ arguments: [String]) throws -> String {
            // posix_spawn and waitpid rather than Foundation's Process: the tmux server that
            // new-session forks keeps the descriptors Process watches for the child's end, and
            // Process then waits for ever.
            let output = FileManager.default.temporaryDirectory.appendingPathComponent(
                "\(session)-\(UUID().uuidString)"
            )
            defer { try? FileManager.default.removeItem(at: output) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            let argv = ([tmux, "-L", session] + arguments).map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            // The test runner's thread blocks signals; a tmux server inheriting that mask would
            // not hear kill-server's end nor its pane's. Start it with none blocked.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, tmux, &actions, &attributes, argv, environ)
            guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        }
        _ = try run([
            "new-session", "-d", "-s", session, "-x", "100", "-y", "30", P.rfctlPath, "--socket", pair.api, "watch",
        ])
        defer { _ = try? run(["kill-server"]) }
        var screen = ""
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            screen = try run(["capture-pane", "-p", "-t", session])
            // The link's rates show once its first whole second of statistics is in.
            if screen.contains("RF ON") && screen.contains("remaining") && screen.contains("frames/s") { break }
            // tmux's screen is another process's: look again a little later.
            pace(milliseconds: 200)
        }
        print("rfctl watch in tmux:\n\(screen)")
        #expect(screen.contains("RF ON"), "\(screen)")
        #expect(screen.contains("profile bvn L4"), "\(screen)")
        #expect(screen.contains("tip ") && screen.contains("°C"), "\(screen)")
        #expect(screen.contains("%"), "the progress bar: \(screen)")
        #expect(screen.contains("link ") && screen.contains("frames/s"), "\(screen)")
        // An alarm shows in its priority's place; the view keeps running.
        #expect(P.ok(P.call(pair.api, "estop", until: P.ok)))
        let alarmDeadline = Date().addingTimeInterval(10)
        while Date() < alarmDeadline && !screen.contains("ALARM") {
            screen = try run(["capture-pane", "-p", "-t", session])
            // tmux's screen is another process's: look again a little later.
            pace(milliseconds: 200)
        }
        #expect(screen.contains("ALARM 1 HIGH emergency_stop"), "\(screen)")
        #expect(screen.contains("FAULTED"), "\(screen)")
    }
}

extension APIProcessTests {
    @Test(
        "A peer in no operator or observer group is refused at connect, with the reason",
        .enabled(if: isRoot, "needs root to run a client as another uid (setpriv)")
    )
    func noRole() throws {
        let pair = try P.start(daemonArguments: ["--socket-group", "65534", "--observer-group", "65532"])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        let result = try runProcess(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--groups=65534", P.rfctlPath, "--socket", pair.api, "status"]
        )
        let errors = result.errors
        #expect(result.status == 1, "\(errors)")
        #expect(errors.contains("no_role") && errors.contains("uid 65534"), "\(errors)")
    }

    @Test(
        "A role follows the groups the peer had when it connected, from the socket, not what /proc says later",
        .enabled(
            if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
            "needs root to run a client as another uid with CAP_SETGID (setpriv), and Debian's python3"
        )
    )
    func roleFromSocketCredentials() throws {
        let pair = try P.start(daemonArguments: ["--socket-group", "65534", "--operator-group", "65533"])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        // The daemon is held still while the client connects as a member of the operator group
        // and then leaves it: whatever the daemon reads afterwards, the connection was made by an
        // operator. Reading /proc/PID after accept also reads whatever process has the PID by then.
        let script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            os.setgroups([65534])
            print("connected", flush=True)
            sys.stdin.readline()
            s.settimeout(5)
            print(s.makefile().readline(), flush=True)
            """
        #expect(kill(pair.daemon.processIdentifier, SIGSTOP) == 0)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        client.arguments = [
            "--reuid=65534", "--regid=65534", "--groups=65534,65533", "--inh-caps=+setgid", "--ambient-caps=+setgid",
            "/usr/bin/python3", "-c", script, pair.api,
        ]
        let input = Pipe()
        let output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        try client.run()
        let connected = RFGenSimProcessTests.readLine(output.fileHandleForReading.fileDescriptor)
        #expect(kill(pair.daemon.processIdentifier, SIGCONT) == 0)
        try #require(connected == "connected", "the client never connected")
        try input.fileHandleForWriting.write(contentsOf: Data("go\n".utf8))
        let banner = RFGenSimProcessTests.readLine(output.fileHandleForReading.fileDescriptor) ?? ""
        client.waitUntilExit()
        #expect(banner.contains(#""role":"operator""#), "\(banner)")
    }

    @Test(
        "Past the client limit (--max-clients) a connection is told too_many_clients and closed; the others stay served"
    )
    func clientLimit() throws {
        let pair = try P.start(daemonArguments: ["--max-clients", "8"])
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        // These clients are root, operators: beyond --max-clients, 8 more places are theirs alone
        // (SessionLimits.operatorReserve).
        var clients: [APITestClient] = []
        for _ in 0..<(8 + 8) { clients.append(try APITestClient(pair.api)) }
        let connection = try LineConnection(path: pair.api)
        let refusal = try #require(try connection.readLine(timeoutMilliseconds: 5000))
        let reply = try APITestClient.object(refusal)
        #expect(APITestClient.errorCode(reply) == "too_many_clients", "\(reply)")
        #expect(throws: LineSocketError.self, "closed after the refusal") {
            _ = try connection.readLine(timeoutMilliseconds: 5000)
        }
        #expect(P.ok(try clients[0].call("ping")))
        clients.removeLast()
        #expect(P.call(pair.api, "ping", until: P.ok) != nil, "a place is free again")
    }
}

extension APIProcessTests {
    /// An observer's hostile connections: `closed` opened and closed at once (most while their
    /// banner is written), then `held` held open, each with a request line begun and never ended.
    /// Prints how many it holds, then sleeps `seconds`.
    static let hostile = """
        import resource, socket, sys, time
        path, closed, held, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        for _ in range(closed):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
            except OSError:
                pass
            s.close()
        kept = []
        for _ in range(held):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.send(b'{"id":1,"method":')
                kept.append(s)
            except OSError:
                s.close()
        print(len(kept), flush=True)
        time.sleep(seconds)
        """

    @Test(
        "An operator can stop a lesion while an observer holds 1,100 connections and has opened and closed 1,000",
        .enabled(if: isRoot, "needs root to run the hostile client as another uid (setpriv)")
    )
    func operatorsReserveAgainstHostileObserver() throws {
        // The most clients the daemon allows, under the soft descriptor limit most systems start
        // a shell with (1024) and a hard one it may raise that to: every admitted connection
        // takes a descriptor, and the device, the records and the operators' places need theirs.
        // At 20 Hz each set point is valid 150 ms at the generator: the hostile load on a 2-core
        // machine (2,100 connections) can delay a SET_POWER past 100 Hz's 30 ms and end the lesion
        // (setpoint_expired) before the stop this test is about.
        let pair = try P.start(
            daemonArguments: ["--socket-group", "65534", "--max-clients", "1024", "--tick-rate", "20"],
            launcher: ["/usr/bin/prlimit", "--nofile=1024:4096"]
        )
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 120])), "the lesion never started")
        #expect(P.reaches(pair.api) { ($0["state"] as? String).map(["ramp", "hold"].contains) ?? false })

        let attacker = Process()
        attacker.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        attacker.arguments = [
            "--reuid=65534", "--regid=65534", "--groups=65534", "/usr/bin/python3", "-c", Self.hostile, pair.api,
            "1000", "1100", "60",
        ]
        let out = Pipe()
        attacker.standardOutput = out
        try attacker.run()
        defer {
            kill(attacker.processIdentifier, SIGKILL)
            attacker.waitUntilExit()
        }
        // Once it says how many it holds, every place an observer may take is taken (1024).
        let said = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        #expect(Int(said.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1000, "it held \(said)")
        #expect(
            P.reaches(pair.api) { ($0["clients"] as? Int ?? 0) >= 1024 },
            "the observer's places were not all taken"
        )

        // An operator who was not connected can still connect and stop the lesion.
        let stop = try runProcess(P.rfctlPath, ["--socket", pair.api, "stop"])
        #expect(stop.status == 0, "stop: \(stop.errors)")
        #expect(stop.output.hasPrefix("stopped"), "the stop ended the lesion: \(stop.output) \(pair.diagnosis)")
        #expect(
            P.reaches(pair.api) { $0["state"] as? String == "stopped" },
            "the lesion was not stopped: \(P.status(pair.api)?["state"] ?? "no status") \(pair.diagnosis)"
        )

        // Its closed connections freed their places: once it goes, the daemon serves only us.
        // (SIGKILL: the test runner's ignored SIGTERM is inherited through exec.)
        kill(attacker.processIdentifier, SIGKILL)
        attacker.waitUntilExit()
        #expect(P.reaches(pair.api) { ($0["clients"] as? Int ?? .max) <= 2 }, "closed connections kept their places")
    }

    @Test("A second rfgend, or a probe, on the generator's line in use is kept off it: the running lesion goes on")
    func secondDaemonOnTheSameDevice() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api, ["level": "L4", "hold_s": 120])), "the lesion never started")
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == true }, "RF never came on")

        // A second rfgend on the same device (root: TIOCEXCL does not stop it), its own socket.
        let log = pair.directory + "/second.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let second = Process()
        second.executableURL = URL(fileURLWithPath: builtProgram("rfgend"))
        second.arguments = ["--device", pair.device, "--socket", pair.directory + "/second.sock"]
        second.standardError = handle
        try second.run()
        defer {
            if second.isRunning { second.terminate() }
            second.waitUntilExit()
        }
        // A probe too.
        let dump = try runProcess(
            URL(fileURLWithPath: P.rfctlPath).deletingLastPathComponent().appendingPathComponent("rfgen-sim").path,
            ["dump", pair.device, "--seconds", "1"]
        )
        #expect(dump.status != 0 && dump.errors.contains("in use"), "the probe: \(dump.status) \(dump.errors)")
        // Two seconds of the second daemon trying: the first keeps its link and its lesion.
        let client = try APITestClient(pair.api)
        #expect(P.ok(try client.call("subscribe", ["streams": ["telemetry"]])))
        #expect(client.awaitTicks(200), "the first daemon's ticks stopped")
        let status = P.status(pair.api)
        #expect(status?["link"] as? String == "up", "\(status ?? [:])")
        #expect((status?["state"] as? String).map(["ramp", "hold"].contains) == true, "\(status ?? [:])")
        #expect((status?["alarms"] as? [Any])?.isEmpty == true, "\(status ?? [:])")
        second.terminate()
        second.waitUntilExit()
        try handle.close()
        let said = try String(contentsOfFile: log, encoding: .utf8)
        #expect(said.contains("held by another process"), "the second daemon says why: \(said)")
    }

    @Test("A second daemon on the same state directory or socket refuses to start and harms nothing")
    func oneDaemonPerStateDirectory() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        func second(_ arguments: [String]) throws -> (Int32, String) {
            let result = try runProcess(builtProgram("rfgend"), ["--device", pair.directory + "/nothing"] + arguments)
            return (result.status, result.errors)
        }
        let sameDirectory = try second(["--socket", pair.directory + "/other.sock", "--state-dir", pair.directory])
        #expect(
            sameDirectory.0 != 0 && sameDirectory.1.contains("refusing to share the state directory"),
            "\(sameDirectory.1)"
        )
        let sameSocket = try second(["--socket", pair.api])
        #expect(sameSocket.0 != 0 && sameSocket.1.contains("another process is serving"), "\(sameSocket.1)")
        #expect(P.status(pair.api, until: P.ready)?["state"] as? String == "idle", "the first daemon serves on")
    }

    /// Runs a program that is expected to refuse to start: returns its exit status and standard
    /// error once it exits, or after `seconds` (then it is stopped: a daemon that did start).
    static func refusal(_ executable: String, _ arguments: [String], seconds: Int = 5) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + .seconds(seconds)) == .timedOut { process.terminate() }
        process.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, said)
    }

    @Test("A socket directory that others may write is refused; the socket gets 0660 without a chmod by path")
    func socketDirectoryChecked() throws {
        let pair = try P.start()
        defer { pair.stop() }
        // Another user could swap the socket for a symlink (a root daemon would then hand that
        // file to the socket group) or for a socket of their own that operators would talk to.
        let open = pair.directory + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        #expect(chmod(open, 0o777) == 0)
        let (status, said) = try Self.refusal(
            builtProgram("rfgend"),
            ["--device", pair.directory + "/nothing", "--socket", open + "/api.sock", "--state-dir", open]
        )
        #expect(status != 0 && said.contains("\(open) may be written by others"), "\(said)")
        #expect(!FileManager.default.fileExists(atPath: open + "/api.sock"), "nothing was bound there")
        // The daemon that runs made its socket 0660 (its umask leaves that as it is).
        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready")
        var info = stat()
        #expect(
            lstat(pair.api, &info) == 0 && info.st_mode & 0o777 == 0o660,
            "mode \(String(info.st_mode & 0o777, radix: 8))"
        )
    }

    @Test("max_clients beyond the descriptor limit is refused at start; below the hard limit the soft one is raised")
    func descriptorBudget() throws {
        let pair = try P.start()
        defer { pair.stop() }
        let daemon = ["--device", pair.directory + "/nothing", "--state-dir", pair.directory + "/other"]
        try FileManager.default.createDirectory(atPath: pair.directory + "/other", withIntermediateDirectories: false)
        let (status, said) = try Self.refusal(
            "/usr/bin/prlimit",
            ["--nofile=256:256", builtProgram("rfgend")] + daemon + [
                "--socket", pair.directory + "/b.sock", "--max-clients", "1024",
            ]
        )
        #expect(
            status == 64 && said.contains("needs 1096 descriptors") && said.contains("the limit is 256"),
            "\(status) \(said)"
        )
        // A soft limit under a higher hard one is raised: 1024 clients fit under 4096.
        let raised = Process()
        raised.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        raised.arguments =
            ["--nofile=256:4096", builtProgram("rfgend")] + daemon + [
                "--socket", pair.directory + "/c.sock", "--max-clients", "1024",
            ]
        raised.standardError = FileHandle.nullDevice
        try raised.run()
        defer {
            raised.terminate()
            raised.waitUntilExit()
        }
        #expect(P.reaches(pair.directory + "/c.sock") { $0["state"] != nil }, "the daemon did not start")
        let limits = (try? String(contentsOfFile: "/proc/\(raised.processIdentifier)/limits", encoding: .utf8)) ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "4096", "\(line)")
    }

    @Test(
        "A line too slow for the tick's traffic is refused at start, with the speed it needs: 57600 at any tick, 115200 at 1 kHz"
    )
    func slowBaudRefused() throws {
        let pair = try P.start()
        defer { pair.stop() }
        let cases: [(baud: String, tick: String, needed: String, use: String)] = [
            ("9600", "100", "82500", "115200"),
            ("57600", "100", "82500", "115200"),
            ("57600", "10", "69000", "115200"),
            ("115200", "1000", "217500", "230400"),
        ]
        for (baud, tick, needed, use) in cases {
            let (status, said) = try Self.refusal(
                builtProgram("rfgend"),
                [
                    "--device", pair.directory + "/nothing", "--socket", pair.directory + "/b.sock", "--baud", baud,
                    "--tick-rate", tick,
                ]
            )
            #expect(
                status == 64 && said.contains("too slow") && said.contains("need \(needed)")
                    && said.contains("use \(use) or faster"),
                "\(baud) baud at \(tick) Hz: \(status) \(said)"
            )
        }
    }
}
