import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the terminal calls the simulator needs, in swift-system's style: typed
/// descriptors, `Errno` on failure, nothing hidden.
enum Terminal {
    /// A pseudo-terminal pair; the master is the generator's end of the line.
    struct PseudoTerminal {
        var master: FileDescriptor
        /// The device a host opens, e.g. /dev/pts/3.
        var devicePath: String
    }

    /// Opens a pseudo-terminal in raw mode at 115200 baud, master non-blocking. The simulator keeps
    /// no descriptor of the device end open, so that the host's open and close are what the line
    /// sees, as with a real port.
    static func openPseudoTerminal() throws(Errno) -> PseudoTerminal {
        var master: Int32 = -1
        var device: Int32 = -1
        guard openpty(&master, &device, nil, nil, nil) == 0 else { throw Errno(rawValue: errno) }
        defer { close(device) }
        do {
            try makeRaw(FileDescriptor(rawValue: device))
            try setNonBlocking(FileDescriptor(rawValue: master))
        } catch {
            close(master)
            throw error
        }
        guard let name = ttyname(device) else {
            let error = Errno(rawValue: errno)
            close(master)
            throw error
        }
        return PseudoTerminal(master: FileDescriptor(rawValue: master), devicePath: String(cString: name))
    }

    /// Raw mode: no echo, no line editing, no signals, 8 data bits, no parity, 115200 baud.
    static func makeRaw(_ fd: FileDescriptor) throws(Errno) {
        var attributes = termios()
        guard tcgetattr(fd.rawValue, &attributes) == 0 else { throw Errno(rawValue: errno) }
        cfmakeraw(&attributes)
        attributes.c_cflag |= tcflag_t(CLOCAL | CREAD)
        cfsetispeed(&attributes, speed_t(B115200))
        cfsetospeed(&attributes, speed_t(B115200))
        // Reads return at once with whatever is there: the caller polls.
        withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd.rawValue, TCSANOW, &attributes) == 0 else { throw Errno(rawValue: errno) }
    }

    static func setNonBlocking(_ fd: FileDescriptor) throws(Errno) {
        let flags = fcntl(fd.rawValue, F_GETFL)
        guard flags >= 0, fcntl(fd.rawValue, F_SETFL, flags | O_NONBLOCK) == 0 else { throw Errno(rawValue: errno) }
    }

    /// Monotonic time in microseconds.
    static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}
