import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// A plain POSIX thread running one closure, joined when done: the daemon's threads without
/// Foundation (which the daemon otherwise does not need, and which costs megabytes of memory).
public final class OSThread: @unchecked Sendable {
    // @unchecked: `handle` is written once before the thread runs and read only by `join`.
    private var handle = pthread_t()

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread.
    /// - Parameters:
    ///   - name: the thread's name as ps, top and /proc show it (at most 15 bytes; longer is cut),
    ///     so that a per-thread CPU figure says which loop it is.
    ///   - body: what the thread runs.
    /// - Throws: the error `pthread_create` returned.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(OSThreadError) {
        let box = Unmanaged.passRetained(
            Body {
                rfgen_set_thread_name(name)
                body()
            }
        ).toOpaque()
        let result = pthread_create(
            &handle,
            nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                body.run()
                return nil
            },
            box
        )
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw OSThreadError(code: result)
        }
    }

    /// Waits for the thread to finish.
    public func join() {
        pthread_join(handle, nil)
    }
}

/// pthread_create failed with this error number.
public struct OSThreadError: Error, Hashable, Sendable {
    public var code: Int32
}

/// Writes one line to standard error with a single write(2), so that lines from different threads
/// do not interleave.
public func writeStandardError(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    bytes.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Unblocks every signal for the calling thread; the commands call it first thing in `main`. A
/// mask inherited from the parent (some test runners and supervisors block SIGTERM in the thread
/// that spawns) would make `rfctl watch` and `capture` deaf to a stop, and would hide an rfgend
/// thread that forgot to block what only the signal descriptor may take.
public func unblockInheritedSignals() {
    var none = sigset_t()
    sigemptyset(&none)
    sigprocmask(SIG_SETMASK, &none, nil)
}
