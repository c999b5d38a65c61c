import Benchmark
import RFGenProtocol
import RFGenSimulator

/// Frames per iteration of the codec benchmarks: enough that one iteration's time is well above
/// the clock's resolution; per-frame figures are the p50 divided by this.
let framesPerIteration = 1000

func codecBenchmarks() {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .mallocBytesCount]

    // Ten seconds of the simulator's telemetry at 100 Hz, with its events and replies: what the
    // daemon's link thread decodes.
    Benchmark(
        "Codec: decode 1000 telemetry frames",
        configuration: .init(metrics: metrics, maxDuration: budget(seconds: 5))
    ) { benchmark in
        var generator = SimulatedGenerator()
        generator.advance(to: generator.configuration.bootMicroseconds + 1000)
        _ = generator.takeOutput()  // the BOOT event
        var bytes: [UInt8] = []
        for _ in 0..<framesPerIteration {
            generator.advance(to: generator.now + 10_000)
            bytes += generator.takeOutput()
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var decoder = FrameDecoder(accepting: .generatorToHost)
            var frames = 0
            decoder.feed(bytes) { _ in frames += 1 }
            precondition(frames == framesPerIteration)
            blackHole(frames)
        }
    }

    // What the daemon sends every tick, into a reused buffer as its link engine does.
    Benchmark(
        "Codec: encode 1000 SET_POWER frames",
        configuration: .init(metrics: metrics, maxDuration: budget(seconds: 5))
    ) { benchmark in
        var output: [UInt8] = []
        output.reserveCapacity(ProtocolLimits.maxWireBytes * 2)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for sequence in 0..<UInt16(framesPerIteration) {
                output.removeAll(keepingCapacity: true)
                let message = Message.setPower(SetPower(powerMilliwatts: 3300, validityMilliseconds: 30))
                FrameEncoder.encode(Frame(sequence: sequence, message: message), into: &output)
                blackHole(output.count)
            }
        }
    }
}
