import CLinuxShims
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Hands entries to a thread of their own that writes them, so that the threads that matter (the
/// control tick, the link, the API's event loop) never wait for a slow sink: a stalled journald,
/// a full standard-error pipe. Bounded: past `capacity` waiting entries, new ones are dropped and
/// counted, and the sink is told how many with `dropped` once it catches up.
public final class BackgroundWriter<Entry: Sendable>: Sendable {
    private struct Waiting {
        var entries: [Entry] = []
        var dropped = 0
        /// Dropped since the writer started, for the metrics.
        var droppedTotal: UInt64 = 0
        /// Taken by the thread and not yet written.
        var writing = 0
    }

    /// Shared with the writer's thread, which outlives no one: it holds this, not the writer.
    private final class Queue: Sendable {
        let waiting = Mutex(Waiting())
    }

    private let queue = Queue()
    private let wake: Int32
    private let capacity: Int

    /// - Parameters:
    ///   - name: the writer thread's name, as /proc shows it.
    ///   - capacity: entries that may wait at once.
    ///   - write: writes one entry; may block. Called on the writer's thread only.
    ///   - dropped: makes the entry that says how many were dropped.
    public init(
        name: String,
        capacity: Int,
        write: @escaping @Sendable (Entry) -> Void,
        dropped: @escaping @Sendable (Int) -> Entry
    ) throws(OSThreadError) {
        precondition(capacity > 0, "a writer needs room for one entry")
        self.capacity = capacity
        wake = rfgen_eventfd()
        guard wake >= 0 else { throw OSThreadError(code: errno) }
        // The thread lives as long as the process and holds only the queue and the descriptor.
        let (queue, wake) = (self.queue, self.wake)
        _ = try OSThread(name: name) {
            // A thread started before the process blocks SIGTERM for its signal descriptor (the
            // log starts first) would otherwise be the one the kernel kills the process through.
            rfgen_block_all_signals()
            var count: UInt64 = 0
            while true {
                var pfd = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, -1)
                _ = read(wake, &count, 8)
                while true {
                    let (entries, lost) = queue.waiting.withLock { state in
                        defer {
                            state.writing = state.entries.count + (state.dropped > 0 ? 1 : 0)
                            state.entries.removeAll(keepingCapacity: true)
                            state.dropped = 0
                        }
                        return (state.entries, state.dropped)
                    }
                    if entries.isEmpty && lost == 0 { break }
                    for entry in entries { write(entry) }
                    if lost > 0 { write(dropped(lost)) }
                    queue.waiting.withLock { $0.writing = 0 }
                }
            }
        }
    }

    /// Queues an entry; never blocks beyond a short lock. False when it was dropped.
    @discardableResult
    public func submit(_ entry: Entry) -> Bool {
        let accepted = queue.waiting.withLock { state in
            guard state.entries.count < capacity else {
                state.dropped += 1
                state.droppedTotal += 1
                return false
            }
            state.entries.append(entry)
            return true
        }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        return accepted
    }

    /// Entries dropped since the writer started.
    public var droppedTotal: UInt64 { queue.waiting.withLock { $0.droppedTotal } }

    /// Waits until every queued entry is written, or the time runs out (a stalled sink): for the
    /// last lines before the process exits. True when all were written.
    @discardableResult
    public func flush(timeoutMicroseconds: Int64) -> Bool {
        let deadline = MonotonicClock.microseconds() + timeoutMicroseconds
        while MonotonicClock.microseconds() < deadline {
            let idle = queue.waiting.withLock { $0.entries.isEmpty && $0.dropped == 0 && $0.writing == 0 }
            if idle { return true }
            MonotonicClock.sleep(untilMicroseconds: MonotonicClock.microseconds() + 1000)
        }
        return false
    }
}
