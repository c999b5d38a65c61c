import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A client connection to a line-based Unix stream socket: send a line, read lines with a timeout.
/// rfctl's transport to rfgend and the tests' to rfgen-sim.
public final class LineConnection {
    public let path: String
    private var fd: FileDescriptor
    private var closed = false
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    /// The longest line `readLine` accepts: a record export is one line.
    public var maxLineBytes = 256 * 1024 * 1024

    public init(path: String) throws(LineSocketError) {
        self.path = path
        fd = try LineSocketClient.connect(path: path)
    }

    deinit { close() }

    /// The socket, for a caller that waits on several connections with poll(2).
    public var descriptor: Int32 { fd.rawValue }

    /// Whether a whole line is already read and waiting, so that poll(2) would not show it.
    public var hasBufferedLine: Bool { pending.contains(UInt8(ascii: "\n")) }

    /// Closes the connection now; later calls fail.
    public func close() {
        guard !closed else { return }
        closed = true
        try? fd.close()
    }

    /// Sends one line. MSG_NOSIGNAL: a peer that has gone is an error to report, not a SIGPIPE
    /// that kills the caller.
    public func send(_ line: String) throws(LineSocketError) {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes {
                Glibc.send(fd.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LineSocketError("writing to \(path) failed: \(Errno(rawValue: errno))")
            }
            sent += n
        }
    }

    /// The next line without its newline; nil when nothing arrived within the timeout.
    /// - Throws: when the peer closed the connection or the line is too long.
    public func readLine(timeoutMilliseconds: Int32) throws(LineSocketError) -> [UInt8]? {
        var scanned = 0
        while true {
            if let end = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                return line
            }
            scanned = pending.count
            guard pending.count <= maxLineBytes else { throw LineSocketError("a line from \(path) is too long") }
            var pfd = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, timeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let n = read(fd.rawValue, &buffer, buffer.count)
            guard n > 0 else { throw LineSocketError("\(path) closed the connection") }
            pending += buffer[0..<n]
        }
    }
}

/// One request, one reply line, over a Unix stream socket.
public enum LineSocketClient {
    /// Connects, sends `line`, and returns the reply without its newline.
    /// - Throws: `LineSocketError` saying what failed (connect, write, no reply in time, closed).
    public static func request(
        path: String,
        _ line: String,
        timeoutMilliseconds: Int32 = 5000
    ) throws(LineSocketError) -> String {
        let connection = try LineConnection(path: path)
        try connection.send(line)
        guard let reply = try connection.readLine(timeoutMilliseconds: timeoutMilliseconds) else {
            throw LineSocketError("no reply from \(path) in time")
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// A connected stream socket to `path`.
    public static func connect(path: String) throws(LineSocketError) -> FileDescriptor {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw LineSocketError("socket path longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LineSocketError("socket: \(Errno(rawValue: errno))") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let error = Errno(rawValue: errno)
            Glibc.close(fd)
            throw LineSocketError("cannot connect to \(path): \(error)")
        }
        return FileDescriptor(rawValue: fd)
    }
}
