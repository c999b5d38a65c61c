import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the terminal calls of the daemon and the simulator, in swift-system's style:
/// typed descriptors, `Errno` on failure, nothing hidden.
public enum Terminal {
    /// The line speeds a port may be set to.
    public static let baudRates: [Int: speed_t] = [
        9600: speed_t(B9600), 19200: speed_t(B19200), 38400: speed_t(B38400), 57600: speed_t(B57600),
        115_200: speed_t(B115200), 230_400: speed_t(B230400), 460_800: speed_t(B460800), 921_600: speed_t(B921600),
    ]

    /// Raw mode: no echo, no line editing, no signals, 8 data bits, no parity, one stop bit, reads
    /// that return at once with what is there (the caller polls).
    /// - Parameters:
    ///   - fd: a terminal.
    ///   - baud: one of `baudRates`.
    public static func makeRaw(_ fd: FileDescriptor, baud: Int = 115_200) throws(Errno) {
        guard let speed = baudRates[baud] else { throw Errno.invalidArgument }
        var attributes = termios()
        guard tcgetattr(fd.rawValue, &attributes) == 0 else { throw Errno(rawValue: errno) }
        cfmakeraw(&attributes)
        attributes.c_cflag |= tcflag_t(CLOCAL | CREAD)
        attributes.c_cflag &= ~(tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        cfsetispeed(&attributes, speed)
        cfsetospeed(&attributes, speed)
        withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd.rawValue, TCSANOW, &attributes) == 0 else { throw Errno(rawValue: errno) }
    }

    public static func setNonBlocking(_ fd: FileDescriptor) throws(Errno) {
        let flags = fcntl(fd.rawValue, F_GETFL)
        guard flags >= 0, fcntl(fd.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else { throw Errno(rawValue: errno) }
    }

    /// Opens a serial port for a generator: read-write, not as controlling terminal, non-blocking,
    /// exclusive (TIOCEXCL: no second process can open it), raw, with stale input discarded.
    /// - Parameters:
    ///   - path: the device, e.g. /dev/ttyACM0 or a simulator's pty.
    ///   - baud: one of `baudRates`.
    /// - Returns: the open descriptor; the caller closes it.
    /// Takes the device's advisory lock without waiting: `Errno.wouldBlock` when another process
    /// holds it. Every program of ours that opens a generator's line takes it first.
    public static func lockExclusive(_ fd: FileDescriptor) throws(Errno) {
        guard flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 else { throw Errno(rawValue: errno) }
    }

    public static func openSerialPort(_ path: String, baud: Int = 115_200) throws(Errno) -> FileDescriptor {
        let raw = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard raw >= 0 else { throw Errno(rawValue: errno) }
        let fd = FileDescriptor(rawValue: raw)
        do throws(Errno) {
            // TIOCEXCL keeps other users out but not root: the lock is what keeps a second rfgend
            // (a manual run beside the service) or a probe from sharing the line.
            try lockExclusive(fd)
            guard ioctl(raw, UInt(TIOCEXCL)) == 0 else { throw Errno(rawValue: errno) }
            try makeRaw(fd, baud: baud)
            tcflush(raw, TCIFLUSH)
        } catch {
            try? fd.close()
            throw error
        }
        return fd
    }
}

/// The monotonic clock, in microseconds: the daemon's and the simulator's only time source.
public enum MonotonicClock {
    public static func microseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// Sleeps until an absolute time on the monotonic clock, so that a periodic loop does not
    /// drift; returns at once if it has passed.
    public static func sleep(untilMicroseconds deadline: Int64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000), tv_nsec: Int(deadline % 1_000_000) * 1000)
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}
