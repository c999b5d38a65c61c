import Benchmark
import RFGenAPI

/// Lines per iteration of the API benchmark; per-line figures are the p50 divided by this.
let linesPerIteration = 100

/// What the daemon's event loop does for each telemetry event a subscriber is sent: one JSON line,
/// encoded once and shared by every subscriber. At 100 Hz this is most of what the event loop does
/// while a console watches a lesion (issue 19, item 1).
func apiBenchmarks() {
    Benchmark(
        "API: 100 telemetry event lines through JSONEncoder",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: budget(seconds: 5))
    ) { benchmark in
        let encoder = APIJSON.encoder()
        let data = telemetrySample()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for seq in 0..<UInt64(linesPerIteration) {
                let event = Event(seq: seq, wallUs: 1_764_633_600_000_000, body: .telemetry(data))
                blackHole(try APIJSON.line("event", event, encoder: encoder))
            }
        }
    }

    // What the daemon does: the same bytes (TelemetryLineTests), written directly.
    Benchmark(
        "API: 100 telemetry event lines written directly",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: budget(seconds: 5))
    ) { benchmark in
        let data = telemetrySample()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for seq in 0..<UInt64(linesPerIteration) {
                let event = Event(seq: seq, wallUs: 1_764_633_600_000_000, body: .telemetry(data))
                blackHole(APIJSON.telemetryLine(event))
            }
        }
    }
}

/// A telemetry sample mid-hold.
func telemetrySample() -> TelemetryData {
    var data = TelemetryData(
        state: "hold",
        rfOn: true,
        link: "up",
        tipTempC: 85.01,
        temperaturesC: [85.01, 61.2],
        powerW: 3.291,
        setpointW: 3.3,
        impedanceOhm: 190.4,
        ageMs: 2.13,
        setpointC: 85,
        elapsedS: 312.48,
        holdS: 201.3,
        remainingS: 698.7,
        energyJ: 1022.113,
        alarms: [],
        lateUs: 14
    )
    data.doseCem43Min = 1.652e13
    data.diameterMm = 11.4
    return data
}
