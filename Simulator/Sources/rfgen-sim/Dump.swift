import ArgumentParser
import RFGenProtocol
import RFGenSystem
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Reads a generator's line and prints every frame in canonical text: a probe for a device path,
/// not a host (it sends nothing).
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the frames a generator sends, one line each, in the protocol's canonical text."
    )

    @Argument(help: "The device to read, e.g. the path given to `serve --link`.")
    var device: String

    @Option(help: "Stop after this many frames.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var seconds: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw CommandFailure("cannot open \(device): \(Errno(rawValue: errno))") }
        let port = FileDescriptor(rawValue: fd)
        defer { try? port.close() }
        // A probe must not take frames from a host that is using the line.
        do throws(Errno) { try Terminal.lockExclusive(port) } catch {
            throw CommandFailure(
                "\(device) is in use by another process (rfgend?): \(error == .wouldBlock ? "it holds the line's lock" : "\(error)")"
            )
        }
        try Terminal.makeRaw(port)
        // Whatever was queued before we opened is stale; start with what the generator sends now.
        tcflush(fd, TCIFLUSH)

        var decoder = FrameDecoder(accepting: .generatorToHost)
        var frames = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = seconds.map { MonotonicClock.microseconds() + Int64($0 * 1e6) }
        while count.map({ frames < $0 }) ?? true {
            let remaining = deadline.map { $0 - MonotonicClock.microseconds() } ?? 1_000_000
            if remaining <= 0 { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, Int32(min(remaining / 1000 + 1, 1000)))
            if pfd.revents & Int16(POLLHUP | POLLERR) != 0 {
                throw CommandFailure("\(device): the device went away")
            }
            guard pfd.revents & Int16(POLLIN) != 0 else { continue }
            let n = try buffer.withUnsafeMutableBytes { try port.read(into: $0, retryOnInterrupt: true) }
            decoder.feed(buffer[0..<n]) { output in
                guard count.map({ frames < $0 }) ?? true else { return }
                switch output {
                case .frame(let frame):
                    frames += 1
                    print(frame)
                case .error(let error):
                    print("error \(error)")
                }
            }
            fflush(nil)
        }
        if frames == 0 { throw ExitCode(1) }
    }
}
