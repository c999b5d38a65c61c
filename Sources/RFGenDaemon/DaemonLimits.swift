import RFGenMachine

/// Every bound of the daemon's shell, in one place.
public enum DaemonLimits {
    /// Operator commands waiting for the next tick: as many as the session logic lets wait, its
    /// two rooms together (`SessionLimits.daemon`, where the figures and their reasons are).
    public static let operatorQueue = SessionLimits.daemon().waitingRequests + SessionLimits.daemon().waitingStops
    /// How often a missing device is tried again, microseconds.
    public static let reopenMicroseconds: Int64 = 1_000_000
    /// Record events waiting for the record thread (a second is 100-1000 samples); beyond this
    /// samples are dropped and counted, never the tick delayed.
    public static let recordQueue = 20_000
    /// Events waiting for the API's event loop to take them (it drains at each event while a
    /// client is subscribed, else every `apiIdlePumpMicroseconds`); beyond this they are numbered
    /// but lost, and subscribers are told of the gap.
    public static let eventHandoff = 8192
    /// How often the API's event loop takes new events and answers finished commands while a
    /// command waits for the tick's answer, microseconds: an operator's stop is answered within
    /// this and a tick. Events need no timer while a client is subscribed: the bus wakes the loop
    /// at each one, unless they come faster than this apart (a 1 kHz tick's telemetry), when
    /// they are taken on this beat, several a wake-up.
    public static let apiPumpMicroseconds: Int64 = 5_000
    /// The same when no command waits: the event loop takes events into the journal and the
    /// replay buffer, and drops clients that read nothing. Each wake-up of the event loop costs
    /// 20-65 µs of CPU on a virtual machine whatever it does (Benchmarks/README.md, issue 19).
    /// Subscribers are not fed by this timer: a 20 ms pump delayed their events by up to 20 ms,
    /// which made a process test that times a simulator stall by the telemetry's age stall it
    /// past the set points' validity.
    public static let apiIdlePumpMicroseconds: Int64 = 20_000
    /// How often the API's event loop looks for connections past their deadlines (a request
    /// line unfinished, idle and not subscribed, a reader that reads nothing: all of seconds,
    /// `APILimits`), microseconds; and, while the event bus wakes the loop for subscribers, the
    /// timer that backs it up. A deadline is acted on at most this late.
    public static let apiHousekeepingMicroseconds: Int64 = 100_000
    /// Sequence numbers skipped after a daemon that died without a clean stop: more than it can
    /// have issued since its last checkpoint (one every 10 s), so no number is ever reused.
    public static let sequenceSkipAfterCrash: UInt64 = 1_000_000
    /// Log messages waiting for the log's own thread; beyond this they are dropped and counted,
    /// and the count is logged when the log catches up. A minute of a busy daemon's messages.
    public static let logQueue = 4096
    /// How long rfgend waits at exit for queued log messages to be written, microseconds.
    public static let logFlushMicroseconds: Int64 = 2_000_000
    /// Descriptors kept beside the clients' for everything else: the generator's device (and a
    /// second open while a lost one is reopened), udev's monitor, the records database with its
    /// WAL and shared memory and SQLite's temporary files, the lock, the log, the signal and
    /// event descriptors, the event loops' epoll and timers, the listening socket. The daemon
    /// holds about 18 at rest; 64 leaves room so that no client can take the device's place.
    public static let reservedDescriptors = 64
    /// Descriptors the daemon may need with `maxClients` clients: one each, operators' reserved
    /// places included, and `reservedDescriptors`. rfgend refuses to start under a lower limit.
    public static func descriptorsNeeded(maxClients: Int) -> Int {
        maxClients + SessionLimits.daemon(clients: maxClients).operatorReserve + reservedDescriptors
    }
    /// Control tick rates the daemon accepts, Hz.
    public static let tickRateHz: ClosedRange<Int> = 10...1000
}
