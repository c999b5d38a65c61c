import DequeModule

/// The last `capacity` events, kept for subscribers that fall behind or come back with
/// `from_seq`. Sequence numbers are contiguous inside the buffer: a number that was issued but
/// never reached the API is kept as a hole, so that a subscriber is told of it as a gap.
///
/// Pure and generic over the payload (the daemon keeps each event's encoded line), so the
/// delivery rules are tested without sockets. Inlinable, so that the daemon's module specialises
/// it for its payload: unspecialised, each step for each subscriber went through the payload's
/// value witnesses, about 3,000 instructions a step (callgrind, issue 19), and the API's event
/// loop takes a step per subscriber per event.
public struct ReplayBuffer<Payload> {
    public struct Entry {
        public var seq: UInt64
        /// nil for a hole.
        public var stream: Stream?
        public var payload: Payload?

        @inlinable
        init(seq: UInt64, stream: Stream?, payload: Payload?) {
            self.seq = seq
            self.stream = stream
            self.payload = payload
        }
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
    @usableFromInline var entries: Deque<Entry> = []
    /// The newest number known, hole or not.
    @usableFromInline var newestSeq: UInt64

    public init(capacity: Int, latestSeq: UInt64) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.newestSeq = latestSeq
    }

    /// The newest number known, hole or not.
    @inlinable public var latestSeq: UInt64 { newestSeq }

    /// The oldest number still kept; `latestSeq + 1` when empty.
    @inlinable public var oldestSeq: UInt64 { entries.first?.seq ?? newestSeq + 1 }

    @inlinable public var count: Int { entries.count }

    /// Adds an event; numbers skipped since the last one become holes. Older numbers than the
    /// newest are ignored (they cannot happen: one producer numbers them in order).
    @inlinable
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
        newestSeq = seq
        while entries.count > capacity { entries.removeFirst() }
    }

    /// The next thing to send a subscriber at `cursor` that wants `streams`, and its next cursor.
    /// `behindReason` names a gap below the buffer: `slow_client` for a subscriber that fell
    /// behind, `replay_exhausted` for one that asked for numbers already gone.
    @inlinable
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

/// Where a new subscription starts, and the gaps it is told of before anything else: numbers
/// asked for (`from_seq`) that were issued before this daemon started. Pure; the replay buffer's
/// own exhaustion is told by its `step`.
public struct SubscriptionStart: Hashable, Sendable {
    /// The first number to send.
    public var cursor: UInt64
    public var gaps: [Gap]

    public init(cursor: UInt64, gaps: [Gap]) {
        self.cursor = cursor
        self.gaps = gaps
    }

    /// - Parameters:
    ///   - fromSeq: the number the client asked to resume from; nil for new events only.
    ///   - latestSeq: the newest number issued.
    ///   - firstSeq: this daemon's first number.
    ///   - unknownAfterSeq: after a daemon that died, the last number known to have been issued
    ///     before it (it may have issued more, never recorded: numbering skipped past them).
    public static func plan(
        fromSeq: UInt64?,
        latestSeq: UInt64,
        firstSeq: UInt64,
        unknownAfterSeq: UInt64?
    ) -> SubscriptionStart {
        guard let from = fromSeq else { return SubscriptionStart(cursor: latestSeq + 1, gaps: []) }
        var cursor = min(from, latestSeq + 1)
        var gaps: [Gap] = []
        // Numbers before this daemon's first: lost with the previous daemon, or never issued by
        // it (after an unclean stop, numbering skips ahead).
        if cursor < firstSeq {
            let lostEnd = min(unknownAfterSeq ?? (firstSeq - 1), firstSeq - 1)
            if cursor <= lostEnd {
                gaps.append(Gap(fromSeq: cursor, toSeq: lostEnd, reason: "replay_exhausted"))
            }
            if unknownAfterSeq != nil, max(cursor, lostEnd + 1) <= firstSeq - 1 {
                gaps.append(Gap(fromSeq: max(cursor, lostEnd + 1), toSeq: firstSeq - 1, reason: "daemon_crashed"))
            }
            cursor = firstSeq
        }
        return SubscriptionStart(cursor: cursor, gaps: gaps)
    }
}
