import Benchmark
import RFGenProtocol
import RFGenSystem
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The floor under the fault-to-RF-off latency that scripts/bench measures between the real
/// processes: one telemetry frame written at the generator's end of the same kind of
/// pseudo-terminal rfgen-sim serves, read and decoded by a thread at the device end (opened as
/// the daemon opens its port), answered with an encoded RF_OFF, read and decoded back. No
/// controller, no tick: only the line, the codec and two wake-ups.
final class PseudoTerminalLoop: @unchecked Sendable {
    let master: FileDescriptor
    let device: FileDescriptor
    private var thread: OSThread?
    private var decoder = FrameDecoder(accepting: .hostToGenerator)
    private let telemetry: [UInt8]

    /// - Parameter devicePriority: SCHED_FIFO priority of the device end's thread (rfgend's link
    ///   thread runs at 79), or nil for normal scheduling.
    init(devicePriority: Int32? = nil) throws {
        let pty = try PseudoTerminals.openPseudoTerminal()
        master = pty.master
        device = try Terminal.openSerialPort(pty.devicePath)
        telemetry = TelemetryFrames.duringHold()
        thread = try OSThread(name: "bench-device") { [device] in
            if let devicePriority { _ = RealTime.prepareCurrentThread(fifoPriority: devicePriority) }
            Self.answer(device)
        }
    }

    /// The device end: every frame that arrives is answered with RF_OFF, as a host would.
    private static func answer(_ device: FileDescriptor) {
        var decoder = FrameDecoder(accepting: .generatorToHost)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var reply: [UInt8] = []
        var sequence: UInt16 = 0
        while true {
            var pfd = pollfd(fd: device.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, -1) > 0 else { continue }
            let count = read(device.rawValue, &buffer, buffer.count)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return }
            guard count > 0 else { continue }
            var frames = 0
            decoder.feed(buffer[0..<count]) { if case .frame = $0 { frames += 1 } }
            for _ in 0..<frames {
                sequence &+= 1
                reply.removeAll(keepingCapacity: true)
                FrameEncoder.encode(Frame(sequence: sequence, message: .rfOff), into: &reply)
                _ = reply.withUnsafeBytes { write(device.rawValue, $0.baseAddress, $0.count) }
            }
            if pfd.revents & Int16(POLLHUP) != 0 { return }
        }
    }

    /// One round trip from the generator's end; returns when the RF_OFF has decoded.
    func roundTrip() {
        _ = telemetry.withUnsafeBytes { write(master.rawValue, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 256)
        var answered = false
        while !answered {
            var pfd = pollfd(fd: master.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 1000) > 0 else { fatalError("no answer over the pty in 1 s") }
            let count = read(master.rawValue, &buffer, buffer.count)
            guard count > 0 else { continue }
            decoder.feed(buffer[0..<count]) { if case .frame = $0 { answered = true } }
        }
    }

    func stop() {
        try? master.close()  // the device end sees a hang-up and its thread ends
        thread?.join()
        try? device.close()
    }
}

/// One telemetry frame as the simulator sends it during a lesion, wire bytes.
enum TelemetryFrames {
    static func duringHold() -> [UInt8] {
        let telemetry = Telemetry(
            timestampMicroseconds: 123_456_789,
            rfState: .on,
            faults: [],
            setPointMilliwatts: 3300,
            powerMilliwatts: 3290,
            voltageMillivolts: 24_800,
            currentMilliamps: 132,
            impedanceDeciohms: 1880,
            impedanceValid: true,
            temperatures: [
                TemperatureReading(centiCelsius: 8501, status: .ok),
                TemperatureReading(centiCelsius: 8497, status: .ok),
            ]
        )
        return FrameEncoder.encode(Frame(sequence: 1, message: .telemetry(telemetry)))
    }
}

/// Round trips at the telemetry's cadence, on threads with the daemon's and the simulator's
/// priorities: the floor under fault-to-RF-off as scripts/bench measures it. There, the simulator
/// writes the frame after 10 ms of sleep and the link thread wakes from its own; back to back, both
/// ends are still warm and their CPUs awake. µs, one value a round trip.
enum CadencedRoundTrips {
    static let periodMicroseconds: Int64 = 10_000
    /// rfgend's link thread and scripts/bench's rfgen-sim (process_benchmarks.py).
    static let devicePriority: Int32 = 79
    static let generatorPriority: Int32 = 70

    static func measure(count: Int) throws -> [Int] {
        let loop = try PseudoTerminalLoop(devicePriority: devicePriority)
        defer { loop.stop() }
        let times = Mutex<[Int]>([])
        let thread = try OSThread(name: "bench-generator") {
            _ = RealTime.prepareCurrentThread(fifoPriority: generatorPriority)
            var measured: [Int] = []
            measured.reserveCapacity(count)
            for _ in 0..<10 { loop.roundTrip() }  // the path paged in, as a running daemon has it
            var deadline = MonotonicClock.microseconds() + periodMicroseconds
            for _ in 0..<count {
                MonotonicClock.sleep(untilMicroseconds: deadline)
                let start = MonotonicClock.microseconds()
                loop.roundTrip()
                measured.append(Int(MonotonicClock.microseconds() - start))
                deadline += periodMicroseconds
            }
            times.withLock { $0 = measured }
        }
        thread.join()
        return times.withLock { $0 }
    }
}

/// The line, opened once for all of the benchmark's samples, so that each sample is one round trip.
let sharedLoop = Mutex<PseudoTerminalLoop?>(nil)

func ptyBenchmarks() {
    Benchmark(
        "Pty: bare frame round trip (telemetry out, RF_OFF back)",
        configuration: .init(
            metrics: [.wallClock],
            timeUnits: .microseconds,
            maxDuration: budget(seconds: 10),
            maxIterations: iterations(20_000, quick: 1000)
        ),
        closure: { benchmark in
            guard let loop = sharedLoop.withLock({ $0 }) else { fatalError("the pseudo-terminal is not open") }
            for _ in benchmark.scaledIterations { loop.roundTrip() }
        },
        setup: {
            let loop = try PseudoTerminalLoop()
            for _ in 0..<100 { loop.roundTrip() }  // warm the path before measuring
            sharedLoop.withLock { $0 = loop }
        },
        teardown: {
            sharedLoop.withLock {
                $0?.stop()
                $0 = nil
            }
        }
    )

    let cadenced = BenchmarkMetric.custom("Round trip µs")
    Benchmark(
        "Pty: frame round trip at the telemetry's cadence (one every 10 ms, SCHED_FIFO 70 and 79)",
        configuration: .init(metrics: [cadenced], maxDuration: budget(seconds: 15), maxIterations: 1)
    ) { benchmark in
        // 10 s of round trips (a quick run: 0.25 s), each a sample of the metric.
        let count = quickRun ? 25 : 1000
        for time in try CadencedRoundTrips.measure(count: count) { benchmark.measurement(cadenced, time) }
    }
}
