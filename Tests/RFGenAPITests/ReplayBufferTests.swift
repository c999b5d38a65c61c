import RFGenAPI
import Testing

/// The delivery rules every subscriber gets: in order, filtered by stream, and told of every
/// number it will never see.
struct ReplayBufferTests {
    /// Walks a subscriber from `cursor` to the end, collecting what it is sent.
    static func drain(
        _ buffer: ReplayBuffer<UInt64>,
        from cursor: UInt64,
        streams: Set<RFGenAPI.Stream> = Set(RFGenAPI.Stream.allCases)
    ) -> [String] {
        var cursor = cursor
        var sent: [String] = []
        while true {
            let (step, next) = buffer.step(cursor: cursor, streams: streams)
            switch step {
            case .upToDate: return sent
            case .skip: break
            case .event(let seq): sent.append("\(seq)")
            case .gap(let gap): sent.append("gap \(gap.fromSeq)-\(gap.toSeq) \(gap.reason)")
            }
            #expect(next > cursor, "the cursor must move on")
            cursor = next
        }
    }

    @Test func deliversInOrderAndFiltersStreams() {
        var buffer = ReplayBuffer<UInt64>(capacity: 10, latestSeq: 0)
        for seq in UInt64(1)...5 { buffer.append(seq: seq, stream: seq % 2 == 0 ? .alarms : .telemetry, payload: seq) }
        #expect(Self.drain(buffer, from: 1) == ["1", "2", "3", "4", "5"])
        #expect(Self.drain(buffer, from: 1, streams: [.alarms]) == ["2", "4"])
        #expect(Self.drain(buffer, from: 6) == [])
    }

    @Test func aSubscriberThatFellBehindIsToldExactlyWhatItMissed() {
        var buffer = ReplayBuffer<UInt64>(capacity: 4, latestSeq: 100)
        for seq in UInt64(101)...110 { buffer.append(seq: seq, stream: .telemetry, payload: seq) }
        #expect(buffer.oldestSeq == 107)
        #expect(Self.drain(buffer, from: 103) == ["gap 103-106 slow_client", "107", "108", "109", "110"])
        let (step, _) = buffer.step(cursor: 101, streams: [.telemetry], behindReason: "replay_exhausted")
        guard case .gap(let gap) = step else {
            Issue.record("expected a gap, got \(step)")
            return
        }
        #expect(gap == Gap(fromSeq: 101, toSeq: 106, reason: "replay_exhausted"))
    }

    @Test func numbersThatNeverReachedTheBufferAreAGapNotASilentSkip() {
        var buffer = ReplayBuffer<UInt64>(capacity: 100, latestSeq: 0)
        buffer.append(seq: 1, stream: .events, payload: 1)
        buffer.append(seq: 5, stream: .events, payload: 5)
        buffer.append(seq: 6, stream: .events, payload: 6)
        #expect(buffer.count == 6)
        #expect(Self.drain(buffer, from: 1) == ["1", "gap 2-4 not_published", "5", "6"])
    }

    @Test func aHoleLongerThanTheBufferKeepsItBounded() {
        var buffer = ReplayBuffer<UInt64>(capacity: 8, latestSeq: 0)
        buffer.append(seq: 1, stream: .events, payload: 1)
        buffer.append(seq: 1_000_000, stream: .events, payload: 1_000_000)
        #expect(buffer.count == 8)
        #expect(buffer.oldestSeq == 1_000_000 - 7)
        #expect(
            Self.drain(buffer, from: 1) == ["gap 1-999992 slow_client", "gap 999993-999999 not_published", "1000000"]
        )
    }

    @Test func anOldOrRepeatedNumberIsIgnored() {
        var buffer = ReplayBuffer<UInt64>(capacity: 8, latestSeq: 0)
        buffer.append(seq: 3, stream: .events, payload: 3)
        buffer.append(seq: 3, stream: .events, payload: 33)
        buffer.append(seq: 2, stream: .events, payload: 2)
        #expect(Self.drain(buffer, from: 3) == ["3"])
        #expect(buffer.latestSeq == 3)
    }
}

/// Where a new subscription starts and which numbers before this daemon it is told are gone.
struct SubscriptionStartTests {
    @Test("Without from_seq: new events only, no gap")
    func newOnly() {
        #expect(
            SubscriptionStart.plan(fromSeq: nil, latestSeq: 500, firstSeq: 100, unknownAfterSeq: nil)
                == SubscriptionStart(cursor: 501, gaps: [])
        )
    }

    @Test("Within this daemon's numbers: from there; past the newest: the next one")
    func withinThisDaemon() {
        #expect(SubscriptionStart.plan(fromSeq: 250, latestSeq: 500, firstSeq: 100, unknownAfterSeq: nil).cursor == 250)
        #expect(
            SubscriptionStart.plan(fromSeq: 9999, latestSeq: 500, firstSeq: 100, unknownAfterSeq: nil).cursor == 501
        )
    }

    @Test("After a clean restart, the previous daemon's numbers are told gone as replay_exhausted")
    func afterCleanRestart() {
        let start = SubscriptionStart.plan(fromSeq: 40, latestSeq: 120, firstSeq: 100, unknownAfterSeq: nil)
        #expect(start.cursor == 100)
        #expect(start.gaps == [Gap(fromSeq: 40, toSeq: 99, reason: "replay_exhausted")])
    }

    @Test("After a crash, the numbers it may have issued unrecorded are told as daemon_crashed")
    func afterCrash() {
        // The dead daemon was known to have issued up to 60; numbering skipped to 1,000,061.
        let start = SubscriptionStart.plan(fromSeq: 40, latestSeq: 1_000_100, firstSeq: 1_000_061, unknownAfterSeq: 60)
        #expect(start.cursor == 1_000_061)
        #expect(
            start.gaps == [
                Gap(fromSeq: 40, toSeq: 60, reason: "replay_exhausted"),
                Gap(fromSeq: 61, toSeq: 1_000_060, reason: "daemon_crashed"),
            ]
        )
        // Asked from past what was known: only the unknown stretch.
        let later = SubscriptionStart.plan(fromSeq: 70, latestSeq: 1_000_100, firstSeq: 1_000_061, unknownAfterSeq: 60)
        #expect(later.gaps == [Gap(fromSeq: 70, toSeq: 1_000_060, reason: "daemon_crashed")])
    }
}
