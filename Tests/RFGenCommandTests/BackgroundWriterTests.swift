import Dispatch
import RFGenSystem
import Synchronization
import Testing

/// The log's own thread: a sink that stalls (a stalled journald) delays no one who submits.
struct BackgroundWriterTests {
    @Test("A stalled sink blocks no submitter: entries past the bound are dropped, counted and reported")
    func stalledSink() throws {
        let written = Mutex<[String]>([])
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let writer = try BackgroundWriter<String>(
            name: "test-writer",
            capacity: 4,
            write: { entry in
                if entry == "first" {
                    entered.signal()
                    release.wait()  // the sink stalls here until the test lets it go
                }
                written.withLock { $0.append(entry) }
            },
            dropped: { "dropped \($0)" }
        )
        #expect(writer.submit("first"))
        entered.wait()
        // The sink is stuck: four more fit, the next three are dropped, and none of this waits.
        let accepted = (1...7).map { writer.submit("entry \($0)") }
        #expect(accepted == [true, true, true, true, false, false, false])
        #expect(writer.flush(timeoutMicroseconds: 0) == false, "nothing can be written while the sink stalls")
        release.signal()
        #expect(writer.flush(timeoutMicroseconds: 10_000_000))
        #expect(
            written.withLock { $0 } == ["first", "entry 1", "entry 2", "entry 3", "entry 4", "dropped 3"]
        )
    }
}
