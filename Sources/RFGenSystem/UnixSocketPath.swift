import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The file side of a listening Unix socket: making its path free to bind, and its permissions.
public enum UnixSocketPath {
    /// Makes `path` free to bind: removes a socket file nobody listens on, and refuses to touch
    /// anything else (another daemon's live socket, or a file that is not a socket).
    public static func prepare(_ path: String) throws(LineSocketError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw LineSocketError("\(path) exists and is not a socket; refusing to replace it")
        }
        if (try? LineSocketClient.connect(path: path)).map({ try? $0.close() }) != nil {
            throw LineSocketError("another process is serving \(path); refusing to take it over")
        }
        unlink(path)
    }

    /// Sets the socket file's mode and, when given, its group: who may connect is decided by the
    /// file's permissions before any credentials are looked at.
    public static func restrict(_ path: String, mode: mode_t, group: UInt32?) throws(LineSocketError) {
        if let group, chown(path, uid_t.max, group) != 0 {
            throw LineSocketError("chown \(path) to group \(group): \(Errno(rawValue: errno))")
        }
        guard chmod(path, mode) == 0 else {
            throw LineSocketError("chmod \(path): \(Errno(rawValue: errno))")
        }
    }
}

/// Users and groups, as the API's roles need them.
public enum Accounts {
    /// The supplementary groups of a running process, from /proc/PID/status (`Groups:`), which
    /// SO_PEERCRED does not carry. Empty when the process is gone or the file unreadable.
    public static func supplementaryGroups(pid: Int32) -> [UInt32] {
        guard pid > 0, let file = fopen("/proc/\(pid)/status", "r") else { return [] }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("Groups:") else { continue }
            return text.dropFirst(7).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
                .compactMap { UInt32($0) }
        }
        return []
    }

    /// A group's id from its name or a number.
    public static func groupID(_ nameOrNumber: String) -> UInt32? {
        if let number = UInt32(nameOrNumber) { return number }
        guard let entry = getgrnam(nameOrNumber) else { return nil }
        return entry.pointee.gr_gid
    }
}

/// An exclusive lock on a directory, held for the life of the process (flock on DIR/lock): two
/// daemons on one state directory would mark each other's lesions aborted.
public final class DirectoryLock {
    private let fd: Int32

    public init(directory: String) throws(LineSocketError) {
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o660)
        guard fd >= 0 else { throw LineSocketError("cannot open \(path): \(Errno(rawValue: errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = Errno(rawValue: errno)
            close(fd)
            throw LineSocketError(
                error == .wouldBlock
                    ? "another process (another rfgend?) holds \(path); refusing to share the state directory"
                    : "cannot lock \(path): \(error)"
            )
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
