import RFGenAPI
import Synchronization

/// Hands events from the threads that make them (control, main) to the API's event loop, which
/// encodes each once and keeps them for replay. The sequence number is assigned here, so the
/// numbering is the record's: an event lost in a full queue leaves a hole the API reports as a
/// gap, never a renumbering.
final class EventBus: Sendable {
    private struct State {
        var lastSeq: UInt64
        var pending: [Event] = []
        /// Events numbered but not queued because the API had not drained the queue.
        var dropped: UInt64 = 0
        /// Signal `wake` at the next event queued: armed by the API's event loop while a
        /// subscriber waits, so that an event is sent as it is made and the loop wakes only when
        /// there is one (issue 19: each wake-up costs more CPU than the work it does).
        var armed = false
    }

    private let state: Mutex<State>
    /// Readable when an armed event has come; the API's event loop watches a copy. An eventfd
    /// rather than `EventLoop.execute`: the control thread publishes at real-time priority, and
    /// NIO's task queue is behind a lock without priority inheritance that the event loop, at
    /// normal priority, holds; a busy machine could preempt it there and stall the tick. The
    /// bus's own lock is a `Mutex`, which inherits priority.
    let wake = Wakeup(for: "event loop")

    /// - Parameter lastSeq: the last number issued before this daemon (0, or from the state directory).
    init(lastSeq: UInt64) {
        state = Mutex(State(lastSeq: lastSeq))
    }

    /// Numbers and queues an event; never blocks beyond the lock, never grows past the limit.
    @discardableResult
    func publish(_ body: EventBody, wallUs: Int64) -> UInt64 {
        let (seq, signal) = state.withLock { state in
            state.lastSeq += 1
            if state.pending.count < DaemonLimits.eventHandoff {
                state.pending.append(Event(seq: state.lastSeq, wallUs: wallUs, body: body))
            } else {
                state.dropped += 1
            }
            defer { state.armed = false }
            return (state.lastSeq, state.armed)
        }
        if signal { wake.signal() }
        return seq
    }

    /// Makes `wake` readable at the next event published, or at once if one is already waiting.
    func armWake() {
        let now = state.withLock { state in
            state.armed = state.pending.isEmpty
            return !state.armed
        }
        if now { wake.signal() }
    }

    /// The API's side: everything queued since the last drain, oldest first.
    func drain(into events: inout [Event]) -> UInt64 {
        state.withLock { state in
            events.append(contentsOf: state.pending)
            state.pending.removeAll(keepingCapacity: true)
            defer { state.dropped = 0 }
            return state.dropped
        }
    }

    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }
}
