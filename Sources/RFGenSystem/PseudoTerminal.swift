import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The simulator's pseudo-terminal: the generator's end of a serial line. Here rather than in
/// rfgen-sim so that the benchmark of a bare round trip uses the very same kind of line.
public enum PseudoTerminals {
    /// A pseudo-terminal pair; the master is the generator's end of the line.
    public struct PseudoTerminal: Sendable {
        public var master: FileDescriptor
        /// The device a host opens, e.g. /dev/pts/3.
        public var devicePath: String
    }

    /// Opens a pseudo-terminal in raw mode at 115200 baud, master non-blocking. The simulator keeps
    /// no descriptor of the device end open, so that the host's open and close are what the line
    /// sees, as with a real port.
    public static func openPseudoTerminal() throws(Errno) -> PseudoTerminal {
        var master: Int32 = -1
        var device: Int32 = -1
        guard openpty(&master, &device, nil, nil, nil) == 0 else { throw Errno(rawValue: errno) }
        defer { close(device) }
        do {
            try Terminal.makeRaw(FileDescriptor(rawValue: device))
            try Terminal.setNonBlocking(FileDescriptor(rawValue: master))
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
}
