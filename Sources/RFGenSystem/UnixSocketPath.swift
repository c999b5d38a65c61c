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

    /// Refuses a directory in which someone other than this user (or root) could replace the
    /// socket: a swapped-in symlink would have a root daemon hand any file to the socket group,
    /// and a socket of someone else's would hear the operators' commands. A sticky directory
    /// (`/tmp`) is safe: no one else may remove or rename what this process made there.
    public static func checkDirectory(of path: String) throws(LineSocketError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        guard stat(directory, &info) == 0 else {
            let error = Errno(rawValue: errno)
            throw LineSocketError(
                error == .noSuchFileOrDirectory
                    ? "socket directory \(directory) does not exist: create it (under systemd, "
                        + "RuntimeDirectory=rfgend makes /run/rfgend) or give --socket a path in a directory that does"
                    : "socket directory \(directory): \(error)"
            )
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw LineSocketError("socket directory \(directory) is not a directory")
        }
        let sticky = info.st_mode & S_ISVTX != 0
        guard sticky || (info.st_uid == geteuid() || info.st_uid == 0) && info.st_mode & 0o022 == 0 else {
            throw LineSocketError(
                "socket directory \(directory) may be written by others (owner \(info.st_uid), mode "
                    + "\(String(info.st_mode & 0o7777, radix: 8))); refusing to put the socket there: make it "
                    + "this user's with mode 0755 or stricter"
            )
        }
    }

    /// A listening Unix socket at `path` whose file is created with `mode` (less the umask) and,
    /// when given, owned by `group`. Nothing is done to the file by its path that follows a
    /// symlink: the mode is set on the socket before `bind` creates the file (Linux gives the new
    /// file the socket's mode), and the group is set with `AT_SYMLINK_NOFOLLOW`. Returns the
    /// descriptor, non-blocking and close-on-exec.
    public static func listen(
        at path: String,
        mode: mode_t,
        group: UInt32?,
        backlog: Int32
    ) throws(LineSocketError)
        -> Int32
    {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw LineSocketError("socket path \(path) longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(
            AF_UNIX,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
            0
        )
        guard fd >= 0 else { throw LineSocketError("socket: \(Errno(rawValue: errno))") }
        func fail(_ what: String) -> LineSocketError {
            let error = Errno(rawValue: errno)
            Glibc.close(fd)
            return LineSocketError("\(what) \(path): \(error)")
        }
        guard fchmod(fd, mode) == 0 else { throw fail("fchmod before binding") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw fail("bind") }
        if let group, fchownat(AT_FDCWD, path, uid_t.max, group, AT_SYMLINK_NOFOLLOW) != 0 {
            let error = fail("chown to group \(group)")
            unlink(path)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = fail("listen")
            unlink(path)
            throw error
        }
        return fd
    }
}

/// Users and groups, as the API's roles need them.
public enum Accounts {
    /// `SO_PEERGROUPS` (asm-generic/socket.h; Glibc's headers do not export it).
    public static let peerGroupsOption: Int32 = 59

    /// The supplementary groups a Unix-socket peer had when it connected, as `getsockopt
    /// (SO_PEERGROUPS)` writes them into zeroed storage: the kernel keeps a process's groups
    /// sorted ascending, so the list ends at the first 0 after the first element. A lone group 0
    /// cannot be told from no group at all and is dropped: a peer can only lose a role by it.
    public struct PeerGroups: Sendable {
        /// The most supplementary groups read (a peer in more fails with ERANGE: see
        /// `DaemonLimits`). An operator's account is in a handful.
        public static let capacity = 256
        public var storage = InlineArray<256, UInt32>(repeating: 0)

        public init() {}

        public var groups: [UInt32] {
            var result: [UInt32] = []
            for index in storage.indices {
                let gid = storage[index]
                if gid == 0 && index > 0 { break }
                result.append(gid)
            }
            return result == [0] ? [] : result
        }
    }

    /// A group's id from its name or a number.
    public static func groupID(_ nameOrNumber: String) -> UInt32? {
        if let number = UInt32(nameOrNumber) { return number }
        guard let entry = getgrnam(nameOrNumber) else { return nil }
        return entry.pointee.gr_gid
    }
}

/// A path's parent directory, as the messages name it.
private struct PathParts {
    let path: String
    init(_ path: String) { self.path = path }
    var parent: String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}

/// An exclusive lock on a directory, held for the life of the process (flock on DIR/lock): two
/// daemons on one state directory would mark each other's lesions aborted.
public final class DirectoryLock {
    private let fd: Int32

    /// Creates the directory (mode 0700: records are for the daemon's user only) when it is
    /// missing and its parent exists; a missing parent is an error that says what to do, since
    /// a mistyped path should not silently grow a tree of directories.
    public init(directory: String) throws(LineSocketError) {
        var info = stat()
        if stat(directory, &info) != 0 {
            let missing = Errno(rawValue: errno)
            guard missing == .noSuchFileOrDirectory else {
                throw LineSocketError("state directory \(directory): \(missing)")
            }
            guard mkdir(directory, 0o700) == 0 else {
                let error = Errno(rawValue: errno)
                let parent = PathParts(directory).parent
                throw LineSocketError(
                    error == .noSuchFileOrDirectory
                        ? "state directory \(directory) does not exist, nor does its parent \(parent): create it "
                            + "(under systemd, StateDirectory=rfgend makes /var/lib/rfgend) or give --state-dir an existing directory"
                        : "cannot create the state directory \(directory): \(error)"
                )
            }
        } else if (info.st_mode & S_IFMT) != S_IFDIR {
            throw LineSocketError("state directory \(directory) is not a directory")
        }
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

/// The process's descriptor limit (RLIMIT_NOFILE).
public enum DescriptorLimit {
    /// Raises the soft limit to the hard one where allowed (a unit's LimitNOFILE= sets both;
    /// the shell's soft 1024 is often far below its hard limit), and returns the soft limit in force.
    public static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            // Refused under a seccomp filter without @resources: the soft limit stays as it was.
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
