import DequeModule

/// The last `capacity` events, kept for subscribers that fall behind or come back with
/// `from_seq`. Sequence numbers are contiguous inside the buffer: a number that was issued but
/// never reached the API is kept as a hole, so that a subscriber is told of it as a gap.
///
/// Pure and generic over the payload (the daemon keeps each event's encoded line), so the
/// delivery rules are tested without sockets.
public struct ReplayBuffer<Payload> {
    public struct Entry {
        public var seq: UInt64
        /// nil for a hole.
        public var stream: Stream?
        public var payload: Payload?
    }

    /// What a subscriber whose next number is `cursor` is sent next.
    public enum Step {
        /// Nothing newer yet.
        case upToDate
        /// These numbers will never reach this subscriber.
        case gap(Gap)
        /// An event of a stream it did not ask for: move on.
        case skip
        case event(Payload)
    }

    public let capacity: Int
    private var entries: Deque<Entry> = []
    /// The newest number known, hole or not.
    public private(set) var latestSeq: UInt64

    public init(capacity: Int, latestSeq: UInt64) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.latestSeq = latestSeq
    }

    /// The oldest number still kept; `latestSeq + 1` when empty.
    public var oldestSeq: UInt64 { entries.first?.seq ?? latestSeq + 1 }

    public var count: Int { entries.count }

    /// Adds an event; numbers skipped since the last one become holes. Older numbers than the
    /// newest are ignored (they cannot happen: one producer numbers them in order).
    public mutating func append(seq: UInt64, stream: Stream, payload: Payload) {
        guard seq > latestSeq else { return }
        // A long hole is kept only as far as the buffer reaches.
        var next = max(latestSeq + 1, seq >= UInt64(capacity) ? seq - UInt64(capacity) + 1 : 0)
        if next > latestSeq + 1 { entries.removeAll() }
        while next < seq {
            entries.append(Entry(seq: next, stream: nil, payload: nil))
            next += 1
        }
        entries.append(Entry(seq: seq, stream: stream, payload: payload))
        latestSeq = seq
        while entries.count > capacity { entries.removeFirst() }
    }

    /// The next thing to send a subscriber at `cursor` that wants `streams`, and its next cursor.
    /// `behindReason` names a gap below the buffer: `slow_client` for a subscriber that fell
    /// behind, `replay_exhausted` for one that asked for numbers already gone.
    public func step(cursor: UInt64, streams: Set<Stream>, behindReason: String = "slow_client") -> (Step, UInt64) {
        if cursor > latestSeq { return (.upToDate, cursor) }
        let oldest = oldestSeq
        if cursor < oldest {
            return (.gap(Gap(fromSeq: cursor, toSeq: oldest - 1, reason: behindReason)), oldest)
        }
        let index = Int(cursor - oldest)
        let entry = entries[index]
        guard let payload = entry.payload, let stream = entry.stream else {
            var end = index
            while end + 1 < entries.count && entries[end + 1].payload == nil { end += 1 }
            let last = entries[end].seq
            return (.gap(Gap(fromSeq: cursor, toSeq: last, reason: "not_published")), last + 1)
        }
        return (streams.contains(stream) ? .event(payload) : .skip, cursor + 1)
    }
}
