import RFGenAPI
import RFGenCore
import RFGenRecords
import RFGenSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The record thread: drains the control thread's entries (`TreatmentRecording`) once a second
/// into the `RecordStore`, so a daemon killed mid-lesion loses at most the last second. The queue
/// is bounded: when the disk cannot keep up, samples are dropped and counted, and the tick never
/// waits; a lesion's start, alarms and end (with its final totals) are always kept.
///
/// Each entry is routed once, as it is taken from the queue, to the lesion it belongs to by
/// number (`RecordRouter`), and waits in `backlog` until it is written. A write that fails (a full
/// disk) leaves it and everything after it waiting, in order, to be tried again a second later:
/// nothing is written out of order, and an entry never goes to another lesion's record.
final class RecordWriter: @unchecked Sendable {
    // @unchecked: `store`, `router`, `ids`, `backlog` and `health` are touched only by the record
    // thread after `start`.
    private let store: RecordStore
    private let queue = Mutex<(entries: [RecordEntry], dropped: UInt64)>(([], 0))
    private let shared: Shared
    private let log: @Sendable (String) -> Void
    private var router = RecordRouter()
    /// Each lesion's id in the store, by the router's number, once its start is written.
    private var ids: [Int: Int64] = [:]
    /// Routed entries not yet written, oldest first.
    private var backlog: [(entry: RecordEntry, destination: RecordRouter.Destination)] = []
    private var health = RecordHealth(kept: true)
    private var flushes = 0

    /// Set when a lesion's start is posted: it is written within one of the thread's 50 ms
    /// steps, not at the next whole second, since that lesion's RF_ON waits for it.
    private let startWaiting = Atomic<Bool>(false)

    init(store: RecordStore, shared: Shared, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.shared = shared
        self.log = log
        shared.records.withLock { $0 = health }
        shared.recordedStarts.store(0, ordering: .releasing)
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
        if entries.contains(where: { if case .began = $0 { true } else { false } }) {
            startWaiting.store(true, ordering: .releasing)
        }
    }

    func run() {
        var next = MonotonicClock.microseconds() + 1_000_000
        while true {
            let stopping = shared.stopping.load(ordering: .acquiring)
            if !stopping {
                // Sleep in short steps so that a stop is noticed within 50 ms.
                MonotonicClock.sleep(untilMicroseconds: min(next, MonotonicClock.microseconds() + 50_000))
                let urgent = startWaiting.exchange(false, ordering: .acquiringAndReleasing)
                if !urgent && MonotonicClock.microseconds() < next && !shared.stopping.load(ordering: .acquiring) {
                    continue
                }
                if !urgent { next += 1_000_000 }
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
        var lost = dropped
        for entry in entries {
            let destination = router.route(entry)
            if case .nowhere = destination {
                log("records: \(entry) has no lesion to go to; only logged")
                continue
            }
            // Waiting entries are bounded like the queue; only samples are ever let go.
            if entry.droppable && backlog.count >= DaemonLimits.recordQueue {
                lost += 1
                continue
            }
            backlog.append((entry, destination))
        }
        if lost > 0 { log("records: \(lost) samples lost, the disk did not keep up") }
        health.samplesLost += lost

        var problem: String?
        do {
            try writeBacklog()
            // The API's numbering, so that after a crash the next daemon numbers on past it;
            // every 10 s, which `sequenceSkipAfterCrash` covers many times over even at 1 kHz,
            // rather than an fsync every second while idle.
            flushes += 1
            if flushes % 10 == 1 { try store.saveSequence(shared.bus.lastSeq, clean: false) }
        } catch {
            problem = "writing \(store.path) failed: \(error)"
        }
        // Written, but into a file that is no longer in the directory: as good as lost.
        problem = problem ?? store.fileProblem()
        report(problem: problem)
    }

    /// Writes the backlog in order, as far as it can: consecutive samples and alarms of one lesion
    /// in one transaction. Whatever is not written stays, from the first failure on.
    private func writeBacklog() throws {
        var written = 0
        defer {
            backlog.removeFirst(written)
            shared.recordsWritten.add(UInt64(written), ordering: .relaxed)
        }
        while written < backlog.count {
            let (entry, destination) = backlog[written]
            switch (entry, destination) {
            case (.began(let start), .newLesion(let number)):
                ids[number] = try store.begin(start, daemonVersion: RFGenVersion.current)
                // Entries of earlier lesions are all written (they came first): only this one's id is needed.
                ids = ids.filter { $0.key == number }
                written += 1
                // Committed (synchronous FULL): this lesion may now have RF, unless the file it went
                // into is no longer the database's (deleted or replaced): then it is not durable,
                // and the lesion ends in record_unavailable before RF.
                if store.fileProblem() == nil { shared.recordedStarts.store(number + 1, ordering: .releasing) }
            case (.sample, .lesion(let number)), (.alarm, .lesion(let number)):
                var samples: [LesionSample] = []
                var alarms: [LesionAlarm] = []
                var summary: LesionSummary?
                var end = written
                while end < backlog.count, case .lesion(number) = backlog[end].destination {
                    if case .sample(let sample, let totals) = backlog[end].entry {
                        samples.append(sample)
                        summary = totals
                    } else if case .alarm(let alarm) = backlog[end].entry {
                        alarms.append(alarm)
                    } else {
                        break
                    }
                    end += 1
                }
                try store.append(lesion: try id(number), samples: samples, alarms: alarms, summary: summary)
                written = end
            case (.ended(let end), .lesion(let number)):
                try store.finish(lesion: try id(number), end)
                written += 1
            case (.alarm(let alarm), .afterEnd(let number)):
                try store.append(lesion: try id(number), samples: [], alarms: [alarm], summary: nil)
                written += 1
            case (.amended(let outcome, let reason), .afterEnd(let number)):
                try store.amend(lesion: try id(number), outcome: outcome, reason: reason)
                written += 1
            case (let entry, let destination):
                // The router gives no other pairs; an entry that got one is logged, not misfiled.
                assertionFailure("records: \(entry) routed to \(destination)")
                log("records: \(entry) routed to \(destination); only logged")
                written += 1
            }
        }
    }

    private func id(_ number: Int) throws -> Int64 {
        // A lesion's start comes before its other entries and is written first: its id is known.
        guard let id = ids[number] else { throw RecordError("lesion \(number) has no record id") }
        return id
    }

    /// Tells the API and the log when writing stops or starts again (once per change of cause).
    private func report(problem: String?) {
        var next = health
        next.writing = problem == nil
        next.problem = problem
        next.pending = backlog.count
        let changed = next.writing != health.writing || next.problem != health.problem
        health = next
        shared.records.withLock { $0 = next }
        if changed { _ = shared.bus.publish(.records(next), wallUs: wallClockMicroseconds()) }
    }
}

/// Wall-clock time for records, microseconds since the Unix epoch. Read by the shell, never by the core.
func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
