import Foundation
import RFGenSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The metrics as Prometheus sees them (issue 18): rfgend on rfgen-sim, `rfctl metrics --listen`
/// as a real exporter, scraped over HTTP and parsed by the Prometheus project's own Python parser.
@Suite(.serialized)
struct MetricsProcessTests {
    typealias P = RFGenDProcessTests

    /// A running exporter and the URL it printed.
    struct Exporter {
        let process: Process
        let url: String

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    static func exporter(socket: String) throws -> Exporter {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: P.rfctlPath)
        process.arguments = ["metrics", "--socket", socket, "--listen", "127.0.0.1:0"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = RFGenSimProcessTests.readLine(out.fileHandleForReading.fileDescriptor) ?? ""
        return Exporter(process: process, url: line.replacingOccurrences(of: "listening on ", with: ""))
    }

    /// One scrape, parsed by prometheus-client: the helper's JSON, or nil with the reason recorded.
    static func scrape(_ url: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any]? {
        let run = try runProcess("/usr/bin/env", ["python3", SessionProcessTests.helper("prometheus_scrape.py"), url])
        #expect(run.status == 0, "the exposition did not parse: \(run.errors)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
    }

    /// The value of a family's sample (by its sample name and labels), from a parsed scrape.
    static func value(
        _ scrape: [String: Any]?,
        _ family: String,
        sample: String? = nil,
        labels: [String: String] = [:]
    ) -> Double? {
        let families = scrape?["families"] as? [String: Any]
        let samples = (families?[family] as? [String: Any])?["samples"] as? [[Any]] ?? []
        return samples.first { entry in
            entry.count == 3 && entry[0] as? String == (sample ?? family)
                && (entry[1] as? [String: String] ?? [:]) == labels
        }.flatMap { $0[2] as? Double }
    }

    static func type(_ scrape: [String: Any]?, _ family: String) -> String? {
        ((scrape?["families"] as? [String: Any])?[family] as? [String: Any])?["type"] as? String
    }

    @Test(
        "Prometheus scrapes the exporter during a lesion: the loop's lateness histogram and status's percentiles, RF on, the phase; then RF off",
        P.needsSimulator("nothing beyond a generator that holds a lesion")
    )
    func scrapedDuringALesion() throws {
        let pair = try P.start()
        defer { pair.stop() }
        let exporter = try Self.exporter(socket: pair.api)
        defer { exporter.stop() }
        #expect(exporter.url.hasPrefix("http://127.0.0.1:") && exporter.url.hasSuffix("/metrics"), "\(exporter.url)")

        #expect(P.reaches(pair.api, P.ready), "the daemon never became ready for a start")
        #expect(P.ok(P.start(pair.api)), "the lesion did not start")
        #expect(
            P.reaches(pair.api) { $0["rf_on"] as? Bool == true },
            "RF never came on: \(pair.diagnosis)"
        )

        let during = try Self.scrape(exporter.url)
        #expect(during?["status"] as? Int == 200)
        #expect((during?["content_type"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(Self.type(during, "rfgen_control_loop_lateness_seconds") == "histogram")
        let ticks = Self.value(
            during,
            "rfgen_control_loop_lateness_seconds",
            sample: "rfgen_control_loop_lateness_seconds_count"
        )
        #expect((ticks ?? 0) > 0, "the lateness histogram has counted no tick")
        #expect(
            Self.value(
                during,
                "rfgen_control_loop_lateness_seconds",
                sample: "rfgen_control_loop_lateness_seconds_bucket",
                labels: ["le": "+Inf"]
            ) == ticks,
            "the +Inf bucket holds every tick"
        )
        // The status' lateness percentiles are kept from the same events, on the event loop
        // (not on the control thread): filled, in order, and none past the worst tick.
        func loop(_ status: [String: Any]) -> [String: Int] {
            (status["loop"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        }
        let timing = P.status(pair.api) { loop($0)["late_p99_us", default: 0] > 0 }.map(loop) ?? [:]
        let (p50, p99, p999, worst) = (
            timing["late_p50_us", default: -1], timing["late_p99_us", default: 0],
            timing["late_p999_us", default: -1], timing["late_max_us", default: -1]
        )
        #expect(p99 > 0, "no lateness percentiles in the status: \(timing)")
        #expect(0 <= p50 && p50 <= p99 && p99 <= p999 && p999 <= worst, "\(timing)")
        #expect(Self.value(during, "rfgen_rf_on") == 1, "RF on during the lesion")
        #expect(Self.value(during, "rfgen_link_up") == 1)
        let phases = ["impedance_check", "ramp", "hold"].compactMap {
            Self.value(during, "rfgen_phase", labels: ["phase": $0])
        }
        #expect(phases.reduce(0, +) == 1, "one active phase is current: \(phases)")
        #expect(Self.type(during, "rfgen_link_frames") == "counter")
        #expect((Self.value(during, "rfgen_link_frames", sample: "rfgen_link_frames_total") ?? 0) > 0)
        #expect((Self.value(during, "rfgen_records_written", sample: "rfgen_records_written_total") ?? 0) > 0)
        #expect(Self.value(during, "rfgen_build_info", labels: ["version": RFGenVersion.current]) == 1)

        // The operator stops: RF off in the next scrape, and the counters only went up.
        let stop = try runProcess(P.rfctlPath, ["--socket", pair.api, "stop"])
        #expect(stop.status == 0, "\(stop.errors)")
        #expect(P.reaches(pair.api) { $0["rf_on"] as? Bool == false }, "RF did not go off")
        let after = try Self.scrape(exporter.url)
        #expect(Self.value(after, "rfgen_rf_on") == 0, "RF off after the stop")
        #expect(Self.value(after, "rfgen_phase", labels: ["phase": "stopped"]) == 1)
        let later = Self.value(
            after,
            "rfgen_control_loop_lateness_seconds",
            sample: "rfgen_control_loop_lateness_seconds_count"
        )
        #expect((later ?? 0) > (ticks ?? .infinity), "the histogram keeps counting")
        // An alarm is counted by its cause (from its event, on the API's event loop: the
        // real-time threads take no lock of the metrics library).
        let emergency = ["cause": "emergency_stop"]
        #expect(Self.value(after, "rfgen_alarms", sample: "rfgen_alarms_total", labels: emergency) == nil)
        #expect(P.ok(P.call(pair.api, "estop", until: P.ok)))
        let stopped = try Self.scrape(exporter.url)
        #expect(
            Self.value(stopped, "rfgen_alarms", sample: "rfgen_alarms_total", labels: emergency) == 1,
            "the emergency stop's alarm counted"
        )

        // What is not a scrape, and a daemon that is gone.
        let missing = try Self.scrape(exporter.url.replacingOccurrences(of: "/metrics", with: "/other"))
        #expect(missing?["status"] as? Int == 404)
        pair.daemon.terminate()
        pair.daemon.waitUntilExit()
        let gone = try Self.scrape(exporter.url)
        #expect(gone?["status"] as? Int == 503, "a daemon that cannot be reached is 503")
        #expect((gone?["body"] as? String)?.contains(pair.api) == true, "the 503 names the socket: \(gone ?? [:])")
        #expect(exporter.process.isRunning, "the exporter outlives the daemon")
    }

    @Test("rfctl metrics prints the exposition once; --listen refuses an address it cannot use")
    func commandLine() throws {
        let pair = try P.start()
        defer { pair.stop() }
        #expect(P.reaches(pair.api) { $0["link"] as? String == "up" }, "the link never came up")
        let once = try runProcess(P.rfctlPath, ["metrics", "--socket", pair.api])
        #expect(once.status == 0, "\(once.errors)")
        #expect(once.output.contains("# TYPE rfgen_control_loop_lateness_seconds histogram"))
        let json = try runProcess(P.rfctlPath, ["metrics", "--socket", pair.api, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["text"] as? String)?.contains("rfgen_rf_on") == true, "\(json.output)")
        #expect((object?["content_type"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
        let bad = try runProcess(P.rfctlPath, ["metrics", "--socket", pair.api, "--listen", "nowhere"])
        #expect(bad.status == 64, "bad usage is 64: \(bad.errors)")
        #expect(bad.errors.contains("ADDRESS:PORT"))
    }
}
