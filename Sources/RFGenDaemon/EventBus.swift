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
    }

    private let state: Mutex<State>

    /// - Parameter lastSeq: the last number issued before this daemon (0, or from the state directory).
    init(lastSeq: UInt64) {
        state = Mutex(State(lastSeq: lastSeq))
    }

    /// Numbers and queues an event; never blocks beyond the lock, never grows past the limit.
    @discardableResult
    func publish(_ body: EventBody, wallUs: Int64) -> UInt64 {
        state.withLock { state in
            state.lastSeq += 1
            if state.pending.count < DaemonLimits.eventHandoff {
                state.pending.append(Event(seq: state.lastSeq, wallUs: wallUs, body: body))
            } else {
                state.dropped += 1
            }
            return state.lastSeq
        }
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
