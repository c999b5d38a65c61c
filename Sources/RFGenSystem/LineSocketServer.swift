import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines of at most `maxLineBytes`.
public struct LineBuffer: Sendable {
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var overlong = false

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds bytes; returns complete lines, or an error for each line that was too long.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Result<String, LineSocketError>] {
        var lines: [Result<String, LineSocketError>] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if overlong {
                    lines.append(
                        .failure(LineSocketError("line longer than \(maxLineBytes) bytes ignored"))
                    )
                } else {
                    var text = String(decoding: pending, as: UTF8.self)
                    if text.hasSuffix("\r") { text.removeLast() }
                    lines.append(.success(text))
                }
                pending.removeAll(keepingCapacity: true)
                overlong = false
            } else if pending.count >= maxLineBytes {
                overlong = true
            } else {
                pending.append(byte)
            }
        }
        return lines
    }
}

/// A Unix stream socket serving line-based clients, a bounded number at once, without threads:
/// the owner polls `listener` and the clients' descriptors.
public struct LineSocketServer {
    public let listener: FileDescriptor
    public let path: String
    public let maxClients: Int
    public let maxLineBytes: Int
    public private(set) var clients: [(fd: FileDescriptor, lines: LineBuffer)] = []

    /// Binds and listens at `path`, replacing a stale socket file but never another kind of file.
    public init(path: String, maxClients: Int, maxLineBytes: Int) throws(LineSocketError) {
        self.maxClients = maxClients
        self.maxLineBytes = maxLineBytes
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw LineSocketError("\(path) exists and is not a socket; refusing to replace it")
            }
            unlink(path)
        }
        // Owner and group only: the control socket injects faults into the simulated generator.
        let fd = try UnixSocketPath.listen(at: path, mode: 0o660, group: nil, backlog: Int32(maxClients))
        listener = FileDescriptor(rawValue: fd)
        self.path = path
    }

    /// Accepts waiting connections; refuses those beyond the limit with an error line.
    public mutating func acceptWaiting() {
        while true {
            let fd = accept(listener.rawValue, nil, nil)
            guard fd >= 0 else { return }
            let client = FileDescriptor(rawValue: fd)
            guard (try? Terminal.setNonBlocking(client)) != nil else {
                try? client.close()
                continue
            }
            if clients.count >= maxClients {
                _ = try? client.writeAll(
                    "error: too many control clients (limit \(maxClients))\n".utf8
                )
                try? client.close()
            } else {
                clients.append((client, LineBuffer(maxLineBytes: maxLineBytes)))
            }
        }
    }

    /// Reads from every client; returns each complete line with the descriptor to answer on.
    public mutating func readLines() -> [(FileDescriptor, Result<String, LineSocketError>)] {
        var result: [(FileDescriptor, Result<String, LineSocketError>)] = []
        var closed: [Int] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        for index in clients.indices {
            let fd = clients[index].fd
            while true {
                let count = (try? buffer.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }) ?? -1
                if count == 0 {
                    closed.append(index)
                    break
                }
                if count < 0 {
                    if errno != EAGAIN && errno != EWOULDBLOCK { closed.append(index) }
                    break
                }
                for line in clients[index].lines.feed(buffer[0..<count]) { result.append((fd, line)) }
            }
        }
        for index in closed.reversed() {
            try? clients[index].fd.close()
            clients.remove(at: index)
        }
        return result
    }

    public func close() {
        for client in clients { try? client.fd.close() }
        try? listener.close()
        unlink(path)
    }
}

/// A line-socket failure, in words.
public struct LineSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
