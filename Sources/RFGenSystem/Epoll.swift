import CLinuxShims
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One thread's wait on a few descriptors, through epoll rather than poll.
///
/// Why epoll for the generator's line (issue 19): poll(2) asks the tty whether input is waiting
/// on every call, and a tty with none waits there for the kernel worker still moving the last
/// frame's bytes (`n_tty_poll`, `tty_buffer_flush_work`). The link thread runs at SCHED_FIFO, so
/// it has usually preempted that worker to read the frame: coming back to poll, it slept until
/// the worker finished, then slept again for the next frame, about 60 extra wake-ups a second
/// at 100 Hz. An edge-triggered watch is asked only when the tty reports new input, so a wait
/// with nothing new sleeps once.
///
/// An edge-triggered descriptor is reported once for each arrival, not while input is left:
/// its reader must read until a read comes back short (`Epoll.Ready.readable`), or input would
/// wait unread until the next arrival.
public final class Epoll {
    // Not Sendable: one thread waits on it and changes what it watches.
    public struct Ready: Sendable {
        public var descriptor: Int32
        /// Input has arrived (edge-triggered: since the last report).
        public var readable: Bool
        /// The other end hung up, or the descriptor has an error.
        public var hungUp: Bool
    }

    private let descriptor: Int32
    /// The most descriptors one wait reports (the shim's own bound, 8).
    private static let capacity = 8
    private var fds = [Int32](repeating: -1, count: capacity)
    private var readiness = [Int32](repeating: 0, count: capacity)

    /// Whether waits time out to the microsecond (epoll_pwait2); cleared for good where the
    /// kernel lacks it or a system call filter refuses it, and the waits round up to a millisecond.
    public private(set) var preciseTimeouts: Bool

    /// - Parameter preciseTimeouts: false to wait as where epoll_pwait2 is refused (the tests').
    public init(preciseTimeouts: Bool = true) throws {
        self.preciseTimeouts = preciseTimeouts
        descriptor = rfgen_epoll_create()
        guard descriptor >= 0 else { throw Errno(rawValue: errno) }
    }

    deinit { close(descriptor) }

    /// Watches `fd` for input (and hang-ups), edge- or level-triggered.
    public func watch(_ fd: Int32, edgeTriggered: Bool) throws {
        guard rfgen_epoll_watch(descriptor, fd, edgeTriggered ? 1 : 0) == 0 else { throw Errno(rawValue: errno) }
    }

    /// Stops watching `fd`; before it is closed, so that a descriptor number reused is not watched.
    public func unwatch(_ fd: Int32) {
        _ = rfgen_epoll_unwatch(descriptor, fd)
    }

    /// Waits up to `microseconds` (negative: without end) and hands each ready descriptor to
    /// `body`: none at the timeout or on a signal. Nothing is allocated: it runs at every frame.
    public func wait(microseconds: Int64, _ body: (Ready) -> Void) {
        var precise: Int32 = preciseTimeouts ? 1 : 0
        let count = fds.withUnsafeMutableBufferPointer { fds in
            readiness.withUnsafeMutableBufferPointer { readiness in
                rfgen_epoll_wait_microseconds(
                    descriptor,
                    fds.baseAddress,
                    readiness.baseAddress,
                    Int32(Self.capacity),
                    microseconds,
                    &precise
                )
            }
        }
        preciseTimeouts = precise != 0
        for index in 0..<max(0, Int(count)) {
            body(
                Ready(
                    descriptor: fds[index],
                    readable: readiness[index] & Int32(RFGEN_EPOLL_READABLE) != 0,
                    hungUp: readiness[index] & Int32(RFGEN_EPOLL_HANGUP) != 0
                )
            )
        }
    }
}
