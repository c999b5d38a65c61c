import RFGenCore
import RFGenRecords
import RFGenSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the control thread hands the record thread. Small values, no I/O on the tick.
enum RecordEvent: Sendable {
    case began(profile: String, level: String, operatorUID: UInt32, wallMicroseconds: Int64)
    case sample(LesionSample)
    case alarm(LesionAlarm)
    case summary(holdSeconds: Double, energyJoules: Double, peakCelsius: Double)
    case ended(outcome: String, reason: String, wallMicroseconds: Int64)
}

/// The record thread: drains the control thread's events once a second into the `RecordStore`,
/// in one transaction, so a daemon killed mid-lesion loses at most the last second. The queue is
/// bounded: when the disk cannot keep up, samples are dropped and counted, and the tick never waits.
final class RecordWriter: @unchecked Sendable {
    // @unchecked: `store` and `lesion` are touched only by the record thread after `start`.
    private let store: RecordStore
    private let queue = Mutex<(events: [RecordEvent], dropped: UInt64)>(([], 0))
    private let shared: Shared
    private let log: @Sendable (String) -> Void
    private var lesion: Int64?
    private var flushes = 0

    init(store: RecordStore, shared: Shared, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.shared = shared
        self.log = log
    }

    /// Called by the control thread; never blocks beyond the queue's lock.
    func post(_ events: [RecordEvent]) {
        guard !events.isEmpty else { return }
        queue.withLock { queue in
            for event in events {
                switch event {
                case .sample, .summary:
                    // Only the per-tick events can be lost; a lesion's start, end and alarms are kept.
                    if queue.events.count >= DaemonLimits.recordQueue {
                        queue.dropped += 1
                    } else {
                        queue.events.append(event)
                    }
                case .began, .alarm, .ended:
                    queue.events.append(event)
                }
            }
        }
    }

    func run() {
        var next = MonotonicClock.microseconds() + 1_000_000
        while true {
            let stopping = shared.stopping.load(ordering: .acquiring)
            if !stopping {
                // Sleep in short steps so that a stop is noticed within 50 ms.
                MonotonicClock.sleep(untilMicroseconds: min(next, MonotonicClock.microseconds() + 50_000))
                if MonotonicClock.microseconds() < next && !shared.stopping.load(ordering: .acquiring) { continue }
                next += 1_000_000
            }
            flush()
            if stopping { return }
        }
    }

    private func flush() {
        let (events, dropped) = queue.withLock { queue in
            defer {
                queue.events.removeAll(keepingCapacity: true)
                queue.dropped = 0
            }
            return (queue.events, queue.dropped)
        }
        if dropped > 0 { log("records: \(dropped) samples dropped, the disk did not keep up") }
        var samples: [LesionSample] = []
        var alarms: [LesionAlarm] = []
        var summary = (hold: 0.0, energy: 0.0, peak: 0.0)
        do {
            for event in events {
                switch event {
                case .began(let profile, let level, let uid, let wall):
                    try write(&samples, &alarms, summary)
                    lesion = try store.begin(profile: profile, level: level, operatorUID: uid, at: wall)
                case .sample(let s): samples.append(s)
                case .alarm(let a): alarms.append(a)
                case .summary(let hold, let energy, let peak): summary = (hold, energy, peak)
                case .ended(let outcome, let reason, let wall):
                    try write(&samples, &alarms, summary)
                    if let lesion { try store.finish(lesion: lesion, outcome: outcome, reason: reason, at: wall) }
                    lesion = nil
                }
            }
            try write(&samples, &alarms, summary)
            // The API's numbering, so that after a crash the next daemon numbers on past it;
            // every 10 s, which `sequenceSkipAfterCrash` covers many times over even at 1 kHz,
            // rather than an fsync every second while idle.
            flushes += 1
            if flushes % 10 == 1 { try store.saveSequence(shared.bus.lastSeq, clean: false) }
        } catch {
            log("records: writing failed: \(error)")
        }
    }

    private func write(
        _ samples: inout [LesionSample],
        _ alarms: inout [LesionAlarm],
        _ summary: (hold: Double, energy: Double, peak: Double)
    ) throws {
        defer {
            samples.removeAll()
            alarms.removeAll()
        }
        guard let lesion, !samples.isEmpty || !alarms.isEmpty else { return }
        try store.append(
            lesion: lesion,
            samples: samples,
            alarms: alarms,
            holdSeconds: summary.hold,
            energyJoules: summary.energy,
            peakCelsius: summary.peak
        )
    }
}

/// Wall-clock time for records, microseconds since the Unix epoch. Read by the shell, never by the core.
func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
