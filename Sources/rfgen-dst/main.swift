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
let failures = Mutex<[SimulationReport]>([])
let reports = Mutex<[SimulationReport]>([])
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
DispatchQueue.concurrentPerform(iterations: count) { index in
    let report = simulate(first + UInt64(index))
    if report.violation != nil { failures.withLock { $0.append(report) } }
    reports.withLock { $0.append(report) }
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
let failed = failures.withLock { $0.sorted { $0.seed < $1.seed } }
print(
    "\(count) seeds from \(first) in \((seconds * 10).rounded() / 10) s: \(Int(Double(count) / seconds)) seeds/s, \(failed.count) failed"
)
for report in failed.prefix(10) { print("  seed \(report.seed): \(report.violation ?? "")") }
let all = reports.withLock { $0 }
if sensor {
    // Per kind of fault (numbers left out), where the truth went and how fast RF went off.
    var kinds: [String: [SimulationReport]] = [:]
    for report in all {
        var name = report.sensorFault ?? "?"
        if let open = name.firstIndex(of: "("), let close = name.firstIndex(of: ")") {
            name.removeSubrange(open...close)
        }
        kinds[name, default: []].append(report)
    }
    print("| sensor fault | seeds | true tip peak with RF on, worst | fault to RF off, p50 / max | first alarms |")
    print("|---|---|---|---|---|")
    for (name, group) in kinds.sorted(by: { $0.key < $1.key }) {
        let peak = group.map(\.peakWhileRFOn).max() ?? 0
        let offs = group.compactMap(\.faultToRFOffMicroseconds).sorted()
        let median = offs.isEmpty ? "-" : "\(offs[offs.count / 2] / 1000) ms"
        let worst = offs.last.map { "\($0 / 1000) ms" } ?? "-"
        var causes: [String: Int] = [:]
        for report in group { causes[report.alarms.first ?? "none", default: 0] += 1 }
        let named = causes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("| \(name) | \(group.count) | \((peak * 10).rounded() / 10) °C | \(median) / \(worst) | \(named) |")
    }
} else {
    let faultFree = all.filter(\.faultFree)
    let falseTrips = faultFree.reduce(0) { $0 + $1.alarms.filter { $0 == "temperature_implausible" }.count }
    print("fault-free seeds: \(faultFree.count), temperature_implausible trips in them: \(falseTrips)")
}
exit(failed.isEmpty ? 0 : 1)
