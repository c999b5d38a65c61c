import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One request, one reply line, over a Unix stream socket: the client side of `LineSocketServer`.
public enum LineSocketClient {
    /// Connects, sends `line`, and returns the reply without its newline.
    /// - Parameters:
    ///   - path: the server's socket.
    ///   - line: the request, without newline.
    ///   - timeoutMilliseconds: how long to wait for the reply.
    /// - Throws: `LineSocketError` saying what failed (connect, write, no reply in time, closed).
    public static func request(
        path: String,
        _ line: String,
        timeoutMilliseconds: Int32 = 5000
    ) throws(LineSocketError)
        -> String
    {
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
        defer { close(fd) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw LineSocketError("cannot connect to \(path): \(Errno(rawValue: errno))") }
        let request = Array((line + "\n").utf8)
        guard (try? FileDescriptor(rawValue: fd).writeAll(request)) != nil else {
            throw LineSocketError("writing to \(path) failed")
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { throw LineSocketError("no reply from \(path) in time") }
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { throw LineSocketError("\(path) closed the connection without a reply") }
            reply += buffer[0..<n]
            if let end = reply.firstIndex(of: UInt8(ascii: "\n")) {
                return String(decoding: reply[..<end], as: UTF8.self)
            }
        }
    }
}
