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
        /// Run once, at the next event queued: the API's event loop, armed while a subscriber
        /// waits, so that an event is sent as it is made and the loop wakes only when there is
        /// one (issue 19: each wake-up costs more CPU than the work it does).
        var wake: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>

    /// - Parameter lastSeq: the last number issued before this daemon (0, or from the state directory).
    init(lastSeq: UInt64) {
        state = Mutex(State(lastSeq: lastSeq))
    }

    /// Numbers and queues an event; never blocks beyond the lock (and, once a drain, the armed
    /// wake's hand-off to the event loop), never grows past the limit.
    @discardableResult
    func publish(_ body: EventBody, wallUs: Int64) -> UInt64 {
        state.withLock { state in
            state.lastSeq += 1
            if state.pending.count < DaemonLimits.eventHandoff {
                state.pending.append(Event(seq: state.lastSeq, wallUs: wallUs, body: body))
            } else {
                state.dropped += 1
            }
            // Under the lock, so that once `disarm` has returned no wake runs: the event loop
            // may be gone after it.
            if let wake = state.wake {
                state.wake = nil
                wake()
            }
            return state.lastSeq
        }
    }

    /// Runs `wake` once, at the next event published (at once if one is already waiting).
    /// Replaces a wake armed before.
    func wakeOnNextPublish(_ wake: @escaping @Sendable () -> Void) {
        let now: (@Sendable () -> Void)? = state.withLock { state in
            guard state.pending.isEmpty else { return wake }
            state.wake = wake
            return nil
        }
        now?()
    }

    /// No wake runs after this returns.
    func disarm() {
        state.withLock { $0.wake = nil }
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
