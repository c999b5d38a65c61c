import Benchmark

// The in-process benchmarks, in the order of issue 6's list. The process-level ones (tick
// lateness beside cyclictest, subscribers, fault-to-RF-off, the daemon's CPU and memory) need the
// real daemon and simulator and run from scripts/bench, which also writes the results table.
let benchmarks: @Sendable () -> Void = {
    ptyBenchmarks()
    codecBenchmarks()
    apiBenchmarks()
    virtualTimeBenchmarks()
    controlQualityBenchmarks()
}
