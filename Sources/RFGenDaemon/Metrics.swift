import CoreMetrics
import Histogram
import Prometheus
import RFGenAPI
import RFGenCore
import RFGenSystem
import Synchronization

/// The daemon's metrics, in Prometheus' text exposition (format 0.0.4), served by the API's
/// `metrics` method; `rfctl metrics --listen` carries them to Prometheus over HTTP, since the
/// daemon itself has no network (`PrivateNetwork=yes`).
///
/// Two kinds of value. What happens on the control thread is recorded as it happens: the ticks
/// and the overruns (atomic counters, on the control thread), the tick's lateness (a histogram,
/// which a total cannot give) and the alarms by cause (both from the machine's events, on the
/// API's event loop, since they take the library's locks). Everything else the daemon
/// already counts for `status` (the link's totals, the records, the clients): those are read from
/// the same `StatusResult` that `status` answers with at each scrape, so that the two can never
/// disagree, and the counters are advanced by what the totals grew since the last scrape.
///
/// Every family is made here, once, with its help text: swift-prometheus stops the process on one
/// name registered twice with different help, so no other place may make one. The registry also
/// backs swift-metrics (`MetricsSystem.bootstrap` in rfgend), so that a library's own metrics would
/// appear in the same exposition.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Lateness of each control tick's wake-up. Buckets from 50 µs (a quiet real-time tick) to 1 s
    /// (a stalled loop): the overrun interlock's range and the scheduling noise below it.
    let lateness: DurationHistogram
    let ticks: Prometheus.Counter
    let overruns: Prometheus.Counter
    /// The same lateness for `status`'s percentiles (50, 99, 99.9), recorded with it from the
    /// events. It was kept on the control thread, whose percentiles once a second walked the
    /// histogram's counts: with a tail of milliseconds three walks took 0.17-0.63 ms (measured
    /// warm, 2026-12-02), on the real-time thread, in a 1 ms tick, when the machine was already
    /// late (issue 19). Two significant digits (1 %, exact below 256 µs) are plenty for a status
    /// line and make the walk a sixth as long; up to 10 s, far past the overrun interlock.
    private let latenessPercentiles = Mutex(
        Histogram<UInt64>(highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: .two)
    )

    /// The totals a scrape last saw, per counter: counters only go up, by what a total grew.
    private let seen = Mutex<[String: UInt64]>([:])

    public init() {
        lateness = registry.makeDurationHistogram(
            descriptor: Self.named(
                "rfgen_control_loop_lateness_seconds",
                "How late each control tick woke after its deadline."
            ),
            buckets: [
                .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
                .milliseconds(100), .seconds(1),
            ]
        )
        ticks = registry.makeCounter(descriptor: Self.named("rfgen_control_loop_ticks_total", "Control ticks run."))
        overruns = registry.makeCounter(
            descriptor: Self.named(
                "rfgen_control_loop_overruns_total",
                "Control ticks that woke more than a whole tick late."
            )
        )
        registry.makeGauge(
            descriptor: Self.named("rfgen_build_info", "The daemon's version, as a label; the value is 1."),
            labels: [("version", RFGenVersion.current)]
        ).set(to: 1)
    }

    /// One control tick (the control thread), and whether it overran: counters, which are atomic.
    /// The real-time threads take none of swift-prometheus's locks (NIOLock, without priority
    /// inheritance), which the event loop, at normal priority, also takes at a scrape: a holder
    /// preempted there would hold up the tick. What needs a lock is recorded from the events, on
    /// the event loop (`eventTaken`).
    func tick(overran: Bool) {
        ticks.increment()
        if overran { overruns.increment() }
    }

    /// An event the API's event loop has taken: a tick's telemetry gives its lateness (each tick
    /// makes one; an event lost in a full hand-off is missing here too, and counted there), an
    /// alarm is counted by cause.
    func eventTaken(_ body: EventBody) {
        switch body {
        case .telemetry(let telemetry):
            let late = max(0, Int64(telemetry.lateUs))
            lateness.record(.microseconds(late))
            _ = latenessPercentiles.withLock { $0.record(UInt64(late)) }
        case .alarmRaised(let alarm): alarmRaised(cause: alarm.cause)
        default: break
        }
    }

    /// The control tick's lateness at the 50th, 99th and 99.9th percentiles, microseconds, over
    /// every tick whose telemetry the event loop has taken (0 before the first).
    func latenessMicroseconds() -> (p50: Int64, p99: Int64, p999: Int64) {
        latenessPercentiles.withLock { histogram in
            (
                Int64(histogram.valueAtPercentile(50)), Int64(histogram.valueAtPercentile(99)),
                Int64(histogram.valueAtPercentile(99.9))
            )
        }
    }

    /// An alarm was raised (the machine's event): counted by cause.
    private func alarmRaised(cause: String) {
        registry.makeCounter(
            descriptor: Self.named("rfgen_alarms_total", "Alarms raised, by cause."),
            labels: [("cause", cause)]
        ).increment()
    }

    /// A request refused for the client's rate (the API's event loop).
    func rateLimited() {
        registry.makeCounter(
            descriptor: Self.named(
                "rfgen_api_rate_limited_total",
                "API requests refused because their client sent too many."
            )
        ).increment()
    }

    /// The exposition: the values `status` reports, brought up to date, then every family.
    /// - Parameters:
    ///   - logDropped: log messages dropped since the daemon started (its log did not keep up).
    ///   - recordsWritten: record entries (samples, starts, alarms, ends) written since start.
    public func exposition(status: StatusResult, logDropped: UInt64, recordsWritten: UInt64) -> String {
        gauge("rfgen_rf_on", "1 while fresh telemetry reports RF on, else 0.", status.rfOn ? 1 : 0)
        gauge(
            "rfgen_link_up",
            "1 while the generator link is through its handshake, else 0.",
            status.link == "up" ? 1 : 0
        )
        for phase in TreatmentPhase.allCases {
            registry.makeGauge(
                descriptor: Self.named("rfgen_phase", "The treatment phase: 1 for the current one, 0 for the others."),
                labels: [("phase", phase.rawValue)]
            ).set(to: phase.rawValue == status.state ? 1 : 0)
        }
        gauge("rfgen_alarms_latched", "Alarms latched and not yet acknowledged.", Double(status.alarms.count))
        gauge("rfgen_tip_temperature_celsius", "The tip's temperature, from fresh telemetry.", status.tipTempC)
        gauge("rfgen_power_watts", "RF power delivered, from fresh telemetry.", status.powerW)
        gauge("rfgen_impedance_ohms", "Load impedance, from fresh telemetry.", status.impedanceOhm)
        gauge("rfgen_telemetry_age_seconds", "Age of the newest telemetry.", status.telemetryAgeMs.map { $0 / 1000 })
        gauge(
            "rfgen_control_loop_lateness_worst_seconds",
            "The latest a control tick has woken since the daemon started.",
            Double(status.loop.lateMaxUs) / 1_000_000
        )

        let link = status.linkStats
        count("rfgen_link_bytes_total", "Bytes received from the generator.", link.bytes)
        count("rfgen_link_frames_total", "Frames received from the generator.", link.frames)
        count("rfgen_link_decode_errors_total", "Received frames that could not be decoded.", link.decodeErrors)
        count("rfgen_link_crc_errors_total", "Received frames with a bad CRC.", link.crcErrors)
        count("rfgen_link_telemetry_received_total", "Telemetry frames received.", link.telemetryReceived)
        count("rfgen_link_telemetry_lost_total", "Telemetry frames missing from the sequence.", link.telemetryLost)
        count("rfgen_link_commands_sent_total", "Commands sent to the generator.", link.commandsSent)
        count("rfgen_link_retries_total", "Commands sent again for want of a reply.", link.retries)
        count("rfgen_link_commands_failed_total", "Commands never answered after every retry.", link.commandsFailed)
        count(
            "rfgen_link_commands_dropped_total",
            "Commands not sent (link not ready, too many in flight).",
            link.commandsDropped
        )
        gauge("rfgen_link_round_trip_mean_seconds", "Mean command round trip.", Double(link.rttMeanUs) / 1_000_000)
        gauge("rfgen_link_round_trip_max_seconds", "Slowest command round trip.", Double(link.rttMaxUs) / 1_000_000)

        gauge("rfgen_api_clients", "Clients connected to the API.", Double(status.clients))
        gauge("rfgen_records_kept", "1 when the daemon keeps treatment records, else 0.", status.records.kept ? 1 : 0)
        gauge(
            "rfgen_records_writing",
            "0 while writing the records fails (what waits is kept and retried).",
            status.records.writing ? 1 : 0
        )
        gauge("rfgen_records_pending", "Record entries waiting to be written.", Double(status.records.pending))
        count("rfgen_records_written_total", "Record entries written.", recordsWritten)
        count(
            "rfgen_records_samples_lost_total",
            "Samples that could not be written in time (a lesion's start, alarms and end never are).",
            status.records.samplesLost
        )
        count("rfgen_log_messages_dropped_total", "Log messages dropped because the log did not keep up.", logDropped)
        return registry.emitToString()
    }

    private func gauge(_ name: String, _ help: String, _ value: Double?) {
        // No reading: NaN, which Prometheus understands as "no value" for a gauge.
        registry.makeGauge(descriptor: Self.named(name, help)).set(to: value ?? .nan)
    }

    private func count(_ name: String, _ help: String, _ total: UInt64) {
        let grown = seen.withLock { seen in
            defer { seen[name] = max(seen[name] ?? 0, total) }
            return total - min(total, seen[name] ?? 0)
        }
        // Made before anything is counted, so that the family is there at zero from the first scrape.
        let counter = registry.makeCounter(descriptor: Self.named(name, help))
        if grown > 0 { counter.increment(by: Int64(clamping: grown)) }
    }
}

extension DaemonMetrics {
    /// A family's whole name, given as one piece: the names are written out where they are made.
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// swift-metrics' handlers for the daemon's registry: a library that reports through swift-metrics
/// lands in the same exposition.
public func metricsFactory(_ metrics: DaemonMetrics) -> any CoreMetrics.MetricsFactory {
    PrometheusMetricsFactory(registry: metrics.registry)
}
