// rfgen-dst: runs the deterministic simulation for any number of seeds and reports seeds per
// second; with --seed, one seed's script and outcome.
//   rfgen-dst [--seeds N] [--from S]      e.g. rfgen-dst --seeds 100000
//   rfgen-dst --seed S

import Dispatch
import RFGenSystem
import RFGenTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
func value(_ name: String, in arguments: [String]) -> UInt64? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    guard let number = UInt64(arguments[index + 1]) else {
        writeStandardError("rfgen-dst: \(name) needs a whole number")
        exit(64)
    }
    return number
}
let known: Set<String> = ["--seeds", "--from", "--seed"]
for (index, word) in arguments.enumerated() where index % 2 == 0 && !known.contains(word) {
    writeStandardError("rfgen-dst: unknown argument \(word); usage: rfgen-dst [--seeds N] [--from S] | --seed S")
    exit(64)
}

if let seed = value("--seed", in: arguments) {
    let report = Simulation.run(seed: seed)
    print(
        "seed \(seed)\(report.unprotected ? " (generator without self-protection)" : ""): "
            + "\(report.violation ?? "all invariants held") after \(report.ticks) ticks"
            + (report.faultFree ? (report.completed ? "; fault-free, lesion completed" : "; fault-free") : "")
    )
    for line in report.script { print("  \(line)") }
    exit(report.violation == nil ? 0 : 1)
}

let count = Int(value("--seeds", in: arguments) ?? 1000)
let first = value("--from", in: arguments) ?? 0
let failures = Mutex<[SimulationReport]>([])
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
DispatchQueue.concurrentPerform(iterations: count) { index in
    let report = Simulation.run(seed: first + UInt64(index))
    if report.violation != nil { failures.withLock { $0.append(report) } }
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
let failed = failures.withLock { $0.sorted { $0.seed < $1.seed } }
print(
    "\(count) seeds from \(first) in \((seconds * 10).rounded() / 10) s: \(Int(Double(count) / seconds)) seeds/s, \(failed.count) failed"
)
for report in failed.prefix(10) { print("  seed \(report.seed): \(report.violation ?? "")") }
exit(failed.isEmpty ? 0 : 1)
