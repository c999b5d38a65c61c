import Benchmark
import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol
import RFGenSimulator
import RFGenTestSupport

/// The link thread's work between a telemetry frame's arrival and the RF_OFF it writes:
/// `DaemonMachine.telemetryArrived`, which fault-to-RF-off adds to the bare pty round trip.
func arrivalBenchmarks() {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal]
    // A lesion in its hold, as the daemon's machine has it, and the newest telemetry.
    var rig = VirtualDaemon(configuration: GeneratorConfiguration())
    _ = rig.tick([rig.request(.start(.bvn))])
    while rig.core.phase != .hold {
        rig.exchange(advancing: rig.tickMicroseconds)
        precondition(rig.core.phase.isActive, "the lesion reaches its hold")
        _ = rig.tick()
    }
    rig.exchange(advancing: rig.tickMicroseconds)
    let machine = rig.machine
    // A frame newer than the last one checked (the machine checks each frame once): the last one
    // again, 1 ms later.
    var normal = rig.engine.snapshot
    normal.telemetryReceivedAt = MonotonicInstant(microseconds: normal.telemetryReceivedAt.microseconds + 1000)
    var hot = normal
    // A reading over the 95 °C cap: the interlock trips on arrival.
    hot.telemetry?.temperatures = TemperatureReadings(
        repeatElement(TemperatureReading(centiCelsius: 9700, status: .ok), count: 2)
    )
    let now = normal.telemetryReceivedAt
    let wall = WallInstant(microsecondsSinceEpoch: now.microseconds)

    // The control thread's decision at each tick of the hold: the machine's own work, without
    // the clock, the locks and the writes around it (`MachineHost.tick`).
    Benchmark(
        "Machine tick: a tick in the hold",
        configuration: .init(metrics: metrics, timeUnits: .microseconds, maxDuration: budget(seconds: 5))
    ) { benchmark in
        let input = TickInput(
            now: MonotonicInstant(microseconds: now.microseconds + 1000),
            wall: WallInstant(microsecondsSinceEpoch: now.microseconds + 1000),
            link: normal,
            linkState: .ready
        )
        for _ in benchmark.scaledIterations {
            var copy = machine
            let out = copy.tick(input)
            precondition(copy.core.phase == .hold && out.generator.count == 1, "\(out.actions)")
            blackHole(out)
        }
    }

    for (name, link, trips) in [("a frame in the hold", normal, false), ("a frame over the cap: RF_OFF", hot, true)] {
        Benchmark(
            "Arrival check: \(name)",
            configuration: .init(metrics: metrics, timeUnits: .microseconds, maxDuration: budget(seconds: 5))
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                // A fresh copy each time: the machine of the daemon checks each frame once.
                var copy = machine
                let out = copy.telemetryArrived(now: now, wall: wall, link: link, linkState: .ready)
                precondition(out.generator.contains(.rfOff) == trips, "\(out.actions)")
                precondition(copy.core.phase == (trips ? .faulted : .hold))
                blackHole(out)
            }
        }
    }
}
