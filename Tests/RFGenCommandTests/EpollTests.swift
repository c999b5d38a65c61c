import RFGenSystem
import SystemPackage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The link thread's wait (`Epoll`), on a pseudo-terminal as the daemon's port is: what it
/// reports, and when. The link thread relies on each of these: an edge for every arrival, a
/// hang-up whatever the mask, a level-triggered wake-up until it is cleared, and a timeout.
struct EpollTests {
    /// Every descriptor one wait reports.
    static func ready(_ epoll: Epoll, microseconds: Int64) -> [Epoll.Ready] {
        var all: [Epoll.Ready] = []
        epoll.wait(microseconds: microseconds) { all.append($0) }
        return all
    }

    /// A pseudo-terminal and its device end opened as rfgend opens its port (locked, exclusive).
    /// Another pair is tried when the device is held: a daemon of a process test running beside
    /// this one, whose simulator has gone, may be reopening the path it had, which the kernel can
    /// have given to this pair (seen once, as EAGAIN from the lock).
    static func line() throws -> (pty: PseudoTerminals.PseudoTerminal, port: FileDescriptor) {
        for attempt in 1...5 {
            let pty = try PseudoTerminals.openPseudoTerminal()
            do {
                return (pty, try Terminal.openSerialPort(pty.devicePath))
            } catch {
                try? pty.master.close()
                let held = error == Errno.wouldBlock || error == Errno.resourceBusy
                if !held || attempt == 5 { throw error }
            }
        }
        preconditionFailure("the loop returns or throws")
    }

    @Test("Edge-triggered on a tty: each arrival is reported once, input left unread is not reported again")
    func edgeTriggeredTTY() throws {
        let (pty, port) = try Self.line()
        defer { try? pty.master.close() }
        defer { try? port.close() }
        let epoll = try Epoll()
        try epoll.watch(port.rawValue, edgeTriggered: true)

        #expect(Self.ready(epoll, microseconds: 0).isEmpty, "nothing has arrived yet")
        _ = try pty.master.writeAll([1, 2, 3])
        // Bounded: the tty's worker moves the bytes to the port side in its own time.
        let first = Self.ready(epoll, microseconds: 2_000_000)
        #expect(first.count == 1 && first.first?.descriptor == port.rawValue && first.first?.readable == true)
        #expect(first.first?.hungUp == false)
        // Not read: a level-triggered watch would report it again; this one waits for new input.
        #expect(Self.ready(epoll, microseconds: 20_000).isEmpty, "the same input reported twice")
        _ = try pty.master.writeAll([4])
        #expect(Self.ready(epoll, microseconds: 2_000_000).first?.readable == true, "a new arrival not reported")
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try buffer.withUnsafeMutableBytes { try port.read(into: $0) }
        #expect(Array(buffer[0..<count]) == [1, 2, 3, 4], "every byte is still there to read")
    }

    @Test("A hang-up is reported though only input is watched")
    func hangUp() throws {
        let (pty, port) = try Self.line()
        defer { try? port.close() }
        let epoll = try Epoll()
        try epoll.watch(port.rawValue, edgeTriggered: true)
        try pty.master.close()
        let ready = Self.ready(epoll, microseconds: 2_000_000)
        #expect(ready.first?.descriptor == port.rawValue && ready.first?.hungUp == true, "\(ready)")
    }

    @Test("Level-triggered: reported until read; a descriptor no longer watched is not reported")
    func levelTriggeredAndUnwatched() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        let epoll = try Epoll()
        try epoll.watch(fds[0], edgeTriggered: false)
        var one: UInt8 = 7
        #expect(write(fds[1], &one, 1) == 1)
        #expect(Self.ready(epoll, microseconds: 0).first?.readable == true)
        #expect(Self.ready(epoll, microseconds: 0).first?.readable == true, "still unread: reported again")
        #expect(read(fds[0], &one, 1) == 1)
        #expect(Self.ready(epoll, microseconds: 0).isEmpty, "read: nothing left to report")
        #expect(write(fds[1], &one, 1) == 1)
        epoll.unwatch(fds[0])
        #expect(Self.ready(epoll, microseconds: 0).isEmpty, "reported after it was unwatched")
    }

    @Test(
        "A wait with nothing to report returns at its timeout, not before it, to the microsecond or, where that is refused, rounded up",
        arguments: [true, false]
    )
    func timeout(precise: Bool) throws {
        let epoll = try Epoll(preciseTimeouts: precise)
        var start = MonotonicClock.microseconds()
        #expect(Self.ready(epoll, microseconds: 3_000).isEmpty)
        #expect(MonotonicClock.microseconds() - start >= 3_000)
        // 100 µs: epoll_wait rounds it up to 1 ms, never down to 0 (a thread that spins).
        start = MonotonicClock.microseconds()
        #expect(Self.ready(epoll, microseconds: 100).isEmpty)
        #expect(MonotonicClock.microseconds() - start >= (precise ? 100 : 1_000))
        #expect(epoll.preciseTimeouts == precise, "epoll_pwait2 is there on the test machines (Linux 5.11 and later)")
        // Readiness is reported the same way either way.
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        try epoll.watch(fds[0], edgeTriggered: true)
        var one: UInt8 = 1
        #expect(write(fds[1], &one, 1) == 1)
        #expect(Self.ready(epoll, microseconds: 2_000_000).first?.readable == true)
    }
}
