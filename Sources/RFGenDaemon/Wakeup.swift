import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// An eventfd that one thread makes readable and another waits on (in poll, or in the event
/// loop): how a thread is woken without a lock shared with it. Writing never blocks (the count
/// adds up until read) and takes no lock a real-time thread could wait on.
final class Wakeup: Sendable {
    let descriptor: Int32

    /// - Parameter who: the thread it wakes, for the message if the daemon cannot make one.
    init(for who: String) {
        descriptor = rfgen_eventfd()
        precondition(descriptor >= 0, "eventfd failed: the daemon cannot wake its \(who)")
    }

    deinit { close(descriptor) }

    func signal() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// Takes the count, so that poll waits again.
    func clear() {
        var count: UInt64 = 0
        _ = read(descriptor, &count, 8)
    }
}
