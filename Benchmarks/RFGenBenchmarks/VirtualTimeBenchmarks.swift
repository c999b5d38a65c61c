import Benchmark
import RFGenTestSupport

/// Seeds per sample of the deterministic-simulation benchmark; seeds per second is this divided by
/// the p50 time. The seeds are the suite's first ones, so one in 50 is a fault-free lesion.
let seedsPerIteration: UInt64 = 100

func virtualTimeBenchmarks() {
    // The daemon's whole core (TreatmentCore, LinkEngine, the real codec) against the simulated
    // generator, a 15-minute bvn hold after the ramp, with every invariant checked each tick.
    Benchmark(
        "Virtual time: 15-minute bvn lesion (core, link, codec, simulator, invariants)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
            timeUnits: .milliseconds,
            maxDuration: budget(seconds: 10),
            maxIterations: iterations(10)
        )
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let report = Simulation.lesion(seed: 1, holdSeconds: 900)
            precondition(report.violation == nil && report.completed, "\(report)")
            blackHole(report.ticks)
        }
    }

    // One core; rfgen-dst runs seeds on every core.
    Benchmark(
        "DST: 100 seeds on one core",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal],
            timeUnits: .milliseconds,
            maxDuration: budget(seconds: 10),
            maxIterations: iterations(10)
        )
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            for seed in 0..<seedsPerIteration {
                let report = Simulation.run(seed: seed)
                precondition(report.violation == nil, "\(report)")
            }
        }
    }
}
