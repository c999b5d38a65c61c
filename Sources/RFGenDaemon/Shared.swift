import CLinuxShims
import RFGenAPI
import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol
import RFGenRecords
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the threads share, each part behind its own lock, held only to copy in or out.
public final class Shared: Sendable {
    /// Link thread → control thread: the newest snapshot. Commands go the other way through the
    /// `GeneratorLine`, written by the thread that decided them.
    struct LinkExchange {
        var snapshot = LinkSnapshot(connected: false)
        var statistics = LinkStatistics()
        var lastSecond: LinkSecond?
        var state = LinkEngine.State.closed
    }

    /// API → control thread: operator commands with a ticket each; control thread → API: outcomes.
    struct OperatorExchange {
        var queue: [OperatorRequest] = []
        var outcomes: [UInt64: String?] = [:]
    }

    let link = Mutex(LinkExchange())
    let operators = Mutex(OperatorExchange())
    let status = Mutex(DaemonStatus())
    let stopping = Atomic<Bool>(false)
    /// The daemon's metrics, for the API's `metrics` method.
    let metrics = DaemonMetrics()
    /// Record entries written since start (record thread → metrics).
    let recordsWritten = Atomic<UInt64>(0)
    /// Telemetry and events for the API, numbered.
    let bus: EventBus
    /// The treatment records, when kept: the API reads them, the record thread writes them.
    let store = Mutex<RecordStore?>(nil)
    /// Whether the records are being written (record thread → API).
    let records = Mutex(RecordHealth())
    /// How many lesions' starts are durable in the record (record thread → control thread):
    /// a lesion's RF_ON waits for its own. `Int.max` while no record is kept.
    let recordedStarts = Atomic<Int>(.max)

    /// - Parameter lastSeq: the last event number issued before this daemon started.
    init(lastSeq: UInt64 = 0) {
        bus = EventBus(lastSeq: lastSeq)
    }

    /// Queues an operator request for the next tick; false when the queue is full.
    func submit(_ request: OperatorRequest) -> Bool {
        operators.withLock { exchange in
            guard exchange.queue.count < DaemonLimits.operatorQueue else { return false }
            exchange.queue.append(request)
            return true
        }
    }

    /// The outcome of a submitted command once the control tick has taken it: nil refusal means done.
    func outcome(_ ticket: UInt64) -> String?? {
        operators.withLock { $0.outcomes.removeValue(forKey: ticket) }
    }
}

/// What the daemon reports to the API: the machine's status after its last step, and the
/// control loop's own timing, written once a tick.
@dynamicMemberLookup
public struct DaemonStatus: Sendable {
    public var machine = MachineStatus()
    /// Control ticks that missed their deadline, in all and the worst lateness, microseconds.
    public var overruns: UInt64 = 0
    public var worstLatenessMicroseconds: Int64 = 0
    public var ticks: UInt64 = 0
    public var tickRateHz = 0

    public subscript<Value>(dynamicMember path: KeyPath<MachineStatus, Value>) -> Value { machine[keyPath: path] }
}
