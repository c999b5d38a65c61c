import Dispatch
import RFGenTestSupport
import Synchronization
import Testing

/// Deterministic simulation: seeds of faults, operator actions and line noise, every safety
/// invariant checked after every tick. A failure names its seed; `swift run rfgen-dst --seed N`
/// replays it with its script.
struct SimulationTests {
    /// Mixed seeds in the debug build of `swift test`, where a seed costs many times what it does
    /// in release: `scripts/dst --seeds 20000` runs these among its own (from seed 0) in a release
    /// build (`rfgen-dst`), and this keeps `swift test` alone a quick and whole check.
    static let seedCount = 100

    @Test(
        "100 seeds: RF off within a tick of every interlock, never on without a start or with stale readings, the tip under its cap, fault-free lesions complete"
    )
    func mixedSeeds() {
        let failures = Mutex<[SimulationReport]>([])
        let completed = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: Self.seedCount) { index in
            let report = Simulation.run(seed: UInt64(index))
            if report.violation != nil { failures.withLock { $0.append(report) } }
            if report.completed { completed.add(1, ordering: .relaxed) }
        }
        let failed = failures.withLock { $0.sorted { $0.seed < $1.seed } }
        #expect(failed.isEmpty, "\(failed.count) seeds failed; first: \(failed.first.map { "\($0)" } ?? "")")
        #expect(completed.load(ordering: .relaxed) == Self.seedCount / 50, "every fault-free seed completed its lesion")
    }

    @Test(
        "Sensor seeds: a thermocouple short, stick, open, step or drift on one or both channels at any moment of a lesion; the true tip stays below 95 °C while RF is on"
    )
    func sensorSeeds() {
        let count = SimulationTests.sensorSeedCount
        let failures = Mutex<[SimulationReport]>([])
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let report = Simulation.sensorRun(seed: UInt64(index))
            if report.violation != nil { failures.withLock { $0.append(report) } }
        }
        let failed = failures.withLock { $0.sorted { $0.seed < $1.seed } }
        #expect(failed.isEmpty, "\(failed.count) seeds failed; first: \(failed.first.map { "\($0)" } ?? "")")
    }

    /// In the debug build of `swift test`; the release `rfgen-dst --sensor --seeds N` runs them (from
    /// seed 0), where a seed costs a hundredth as much.
    static let sensorSeedCount = 25

    @Test("A whole 15-minute lesion completes under every invariant, its energy matching the generator's account")
    func fifteenMinuteLesion() {
        let report = Simulation.lesion(seed: 2, holdSeconds: 900)
        #expect(report.violation == nil, "\(report)")
        #expect(report.completed)
        #expect(report.ticks > 90_000, "the hold alone is 90,000 ticks")
    }

    @Test(
        "Seeds the million-seed campaign found: a loop stall during a telemetry stall on a generator without its own protection; RF off at the loop's first tick after it",
        arguments: [39615, 53567, 91801, 93449] as [UInt64]
    )
    func campaignSeeds(seed: UInt64) {
        let report = Simulation.run(seed: seed)
        #expect(report.violation == nil, "\(report)")
    }

    @Test(
        "A seed the million-seed campaign found: a cable pulled during the impedance check and plugged back; the check ends at the reconnect",
        arguments: [757054] as [UInt64]
    )
    func campaignReconnectSeeds(seed: UInt64) {
        let report = Simulation.run(seed: seed)
        #expect(report.violation == nil, "\(report)")
    }

    @Test("A seed replays exactly: the same script, ticks and outcome")
    func deterministic() {
        for seed: UInt64 in [7, 50, 123] {
            let first = Simulation.run(seed: seed)
            let second = Simulation.run(seed: seed)
            #expect(first.description == second.description)
        }
    }
}
