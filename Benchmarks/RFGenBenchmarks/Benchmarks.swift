import Benchmark

#if canImport(Glibc)
import Glibc
#endif

/// `scripts/bench --quick` sets RFGEN_BENCH_QUICK: every benchmark runs a fraction of a second, for
/// a quick look (the figures are rougher; the results file says it was a quick run).
let quickRun = getenv("RFGEN_BENCH_QUICK") != nil

/// A benchmark's time budget: `seconds`, or a quarter of a second in a quick run.
func budget(seconds: Int) -> Duration { quickRun ? .milliseconds(250) : .seconds(seconds) }

/// A benchmark's iteration cap: `count`, or at most `quick` in a quick run.
func iterations(_ count: Int, quick: Int = 3) -> Int { quickRun ? min(count, quick) : count }

// The in-process benchmarks, in the order of issue 6's list. The process-level ones (tick
// lateness beside cyclictest, subscribers, fault-to-RF-off, the daemon's CPU and memory) need the
// real daemon and simulator and run from scripts/bench, which also writes the results table.
let benchmarks: @Sendable () -> Void = {
    ptyBenchmarks()
    codecBenchmarks()
    arrivalBenchmarks()
    apiBenchmarks()
    virtualTimeBenchmarks()
    controlQualityBenchmarks()
}
