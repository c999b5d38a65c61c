import RFGenCore
import RFGenRecords
import RFGenSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The record thread: drains the control thread's entries (`TreatmentRecording`) once a second
/// into the `RecordStore`, in one transaction, so a daemon killed mid-lesion loses at most the last
/// second. The queue is bounded: when the disk cannot keep up, samples are dropped and counted, and
/// the tick never waits; a lesion's start, alarms and end (with its final totals) are always kept.
final class RecordWriter: @unchecked Sendable {
    // @unchecked: `store`, `router` and `ids` are touched only by the record thread after `start`.
    private let store: RecordStore
    private let queue = Mutex<(entries: [RecordEntry], dropped: UInt64)>(([], 0))
    private let shared: Shared
    private let log: @Sendable (String) -> Void
    /// Which lesion each entry belongs to (the routing the simulation checks), and each lesion's
    /// id in the store, by the router's number.
    private var router = RecordRouter()
    private var ids: [Int: Int64] = [:]
    /// The lesion under way, by its id in the store.
    private var lesion: Int64? { router.current.flatMap { ids[$0] } }
    private var flushes = 0

    init(store: RecordStore, shared: Shared, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.shared = shared
        self.log = log
    }

    /// Called by the control thread; never blocks beyond the queue's lock.
    func post(_ entries: [RecordEntry]) {
        guard !entries.isEmpty else { return }
        queue.withLock { queue in
            for entry in entries {
                if entry.droppable && queue.entries.count >= DaemonLimits.recordQueue {
                    queue.dropped += 1
                } else {
                    queue.entries.append(entry)
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
        let (entries, dropped) = queue.withLock { queue in
            defer {
                queue.entries.removeAll(keepingCapacity: true)
                queue.dropped = 0
            }
            return (queue.entries, queue.dropped)
        }
        if dropped > 0 { log("records: \(dropped) samples dropped, the disk did not keep up") }
        var samples: [LesionSample] = []
        var alarms: [LesionAlarm] = []
        var summary: LesionSummary?
        do {
            for entry in entries {
                let destination = router.route(entry)
                switch (entry, destination) {
                case (.began(let profile, let level, let uid, let wall), .newLesion(let number)):
                    try write(&samples, &alarms, &summary, to: ids[number - 1])
                    ids[number] = try store.begin(profile: profile, level: level, operatorUID: uid, at: wall)
                    // Only the last lesion can still receive entries.
                    ids = ids.filter { $0.key == number }
                case (.sample(let sample, let totals), .lesion):
                    samples.append(sample)
                    summary = totals
                case (.alarm(let alarm), .lesion):
                    alarms.append(alarm)
                case (.alarm(let alarm), .afterEnd(let number)):
                    if let id = ids[number] { try store.append(lesion: id, samples: [], alarms: [alarm], summary: nil) }
                case (.amended(let outcome, let reason), .afterEnd(let number)):
                    if let id = ids[number] { try store.amend(lesion: id, outcome: outcome, reason: reason) }
                case (.ended(let outcome, let reason, let totals, let wall), .lesion(let number)):
                    summary = totals
                    try write(&samples, &alarms, &summary, to: ids[number])
                    if let id = ids[number] { try store.finish(lesion: id, outcome: outcome, reason: reason, at: wall) }
                case (.alarm(let alarm), _):
                    log("records: alarm \(alarm.interlock) with no lesion since rfgend started; only logged")
                case (let entry, let destination):
                    log("records: \(entry) has no lesion to go to (\(destination)); only logged")
                }
            }
            try write(&samples, &alarms, &summary, to: lesion)
            // The API's numbering, so that after a crash the next daemon numbers on past it;
            // every 10 s, which `sequenceSkipAfterCrash` covers many times over even at 1 kHz,
            // rather than an fsync every second while idle.
            flushes += 1
            if flushes % 10 == 1 { try store.saveSequence(shared.bus.lastSeq, clean: false) }
        } catch {
            log("records: writing failed: \(error)")
        }
    }

    /// Writes what is pending for the lesion under way (`lesion`), and clears it.
    private func write(
        _ samples: inout [LesionSample],
        _ alarms: inout [LesionAlarm],
        _ summary: inout LesionSummary?,
        to lesion: Int64?
    ) throws {
        defer {
            samples.removeAll()
            alarms.removeAll()
            summary = nil
        }
        guard let lesion, !samples.isEmpty || !alarms.isEmpty || summary != nil else { return }
        try store.append(lesion: lesion, samples: samples, alarms: alarms, summary: summary)
    }
}

/// Wall-clock time for records, microseconds since the Unix epoch. Read by the shell, never by the core.
func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
