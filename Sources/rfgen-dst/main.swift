// rfgen-dst: runs the deterministic simulation for any number of seeds and reports seeds per
// second; with --seed, one seed's script and outcome. With --sensor, the sensor seeds
// (`Simulation.sensorRun`: one thermocouple fault in a lesion), and per fault kind the true tip's
// peak while RF was on and the time from the fault to RF off.
//   rfgen-dst [--sensor] [--seeds N] [--from S]      e.g. rfgen-dst --seeds 100000
//   rfgen-dst [--sensor] --seed S

import Dispatch
import RFGenSystem
import RFGenTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
let sensor = arguments.contains("--sensor")
arguments.removeAll { $0 == "--sensor" }
let simulate: @Sendable (UInt64) -> SimulationReport = sensor ? Simulation.sensorRun : Simulation.run
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
    let report = simulate(seed)
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
/// What the summary needs of each seed, kept as the seeds finish rather than every report
/// (a report holds its seed's whole script: a million of them took gigabytes).
struct Tally {
    var failures: [SimulationReport] = []
    var faultFree = 0
    var falseTrips = 0
    /// Per kind of sensor fault (numbers left out): seeds, the true tip's worst peak with RF on,
    /// each fault-to-RF-off, and the first alarms.
    var kinds: [String: (seeds: Int, peak: Double, offs: [Int64], causes: [String: Int])] = [:]

    mutating func add(_ report: SimulationReport) {
        if report.violation != nil { failures.append(report) }
        if report.faultFree {
            faultFree += 1
            falseTrips += report.alarms.filter { $0 == "temperature_implausible" }.count
        }
        guard sensor else { return }
        var name = report.sensorFault ?? "?"
        if let open = name.firstIndex(of: "("), let close = name.firstIndex(of: ")") {
            name.removeSubrange(open...close)
        }
        var kind = kinds[name] ?? (0, 0, [], [:])
        kind.seeds += 1
        kind.peak = max(kind.peak, report.peakWhileRFOn)
        if let off = report.faultToRFOffMicroseconds { kind.offs.append(off) }
        kind.causes[report.alarms.first ?? "none", default: 0] += 1
        kinds[name] = kind
    }
}

let tally = Mutex(Tally())
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
DispatchQueue.concurrentPerform(iterations: count) { index in
    let report = simulate(first + UInt64(index))
    tally.withLock { $0.add(report) }
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
let total = tally.withLock { $0 }
let failed = total.failures.sorted { $0.seed < $1.seed }
print(
    "\(count) seeds from \(first) in \((seconds * 10).rounded() / 10) s: \(Int(Double(count) / seconds)) seeds/s, \(failed.count) failed"
)
for report in failed.prefix(10) { print("  seed \(report.seed): \(report.violation ?? "")") }
if sensor {
    // Per kind of fault, where the truth went and how fast RF went off.
    print("| sensor fault | seeds | true tip peak with RF on, worst | fault to RF off, p50 / max | first alarms |")
    print("|---|---|---|---|---|")
    for (name, kind) in total.kinds.sorted(by: { $0.key < $1.key }) {
        let offs = kind.offs.sorted()
        let median = offs.isEmpty ? "-" : "\(offs[offs.count / 2] / 1000) ms"
        let worst = offs.last.map { "\($0 / 1000) ms" } ?? "-"
        let named = kind.causes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("| \(name) | \(kind.seeds) | \((kind.peak * 10).rounded() / 10) °C | \(median) / \(worst) | \(named) |")
    }
} else {
    print("fault-free seeds: \(total.faultFree), temperature_implausible trips in them: \(total.falseTrips)")
}
exit(failed.isEmpty ? 0 : 1)
