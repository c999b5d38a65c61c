import Benchmark
import RFGenCore
import RFGenProtocol
import RFGenSimulator
import RFGenTestSupport

/// A 15-minute lesion in virtual time: the figure behind "a test runs a 15-minute treatment in
/// well under a second". The host side is a plain PI loop at 100 Hz through the real codec.
func fifteenMinuteLesion() -> Double {
    var generator = SimulatedGenerator()
    var decoder = FrameDecoder(accepting: .generatorToHost)
    var sequence: UInt16 = 0
    var reading = 37.0
    var integral = 0.0
    func send(_ message: Message, _ generator: inout SimulatedGenerator) {
        sequence &+= 1
        generator.receive(FrameEncoder.encode(Frame(sequence: sequence, message: message)), at: generator.now)
    }
    generator.advance(to: 400_000)
    send(.clearFault, &generator)
    for tick in 0..<96_000 {
        let error = 85 - reading
        integral = min(max(integral + error * 0.01, 0), 300)
        let watts = min(max(0.3 * error + 0.03 * integral, 0), 15)
        send(.setPower(SetPower(powerMilliwatts: UInt32(watts * 1000), validityMilliseconds: 50)), &generator)
        if tick == 0 { send(.rfOn, &generator) }
        generator.advance(to: generator.now + 10_000)
        decoder.feed(generator.takeOutput()) { output in
            if case .frame(let frame) = output, case .telemetry(let t) = frame.message {
                reading = Double(t.temperatures[0].centiCelsius) / 100
            }
        }
    }
    send(.rfOff, &generator)
    return generator.tissue.lesionDiameter
}

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "Simulator: 15-minute lesion in virtual time",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
            maxIterations: 10
        )
    ) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(fifteenMinuteLesion()) }
    }

    Benchmark(
        "Codec: decode one second of telemetry (100 frames)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])
    ) { benchmark in
        var generator = SimulatedGenerator()
        generator.advance(to: 1_300_000)
        let bytes = generator.takeOutput()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var decoder = FrameDecoder(accepting: .generatorToHost)
            var frames = 0
            decoder.feed(bytes) { _ in frames += 1 }
            blackHole(frames)
        }
    }

    // The controller's quality on each tissue preset, as custom metrics: the figures the issue's
    // targets are about (overshoot at most 1 °C, within ±1 °C 30 s after reaching, RMS at most 0.5 °C).
    for preset in TissuePreset.allCases {
        Benchmark(
            "Controller: bvn lesion on \(preset.rawValue) bone",
            configuration: .init(
                metrics: [
                    .custom("overshoot (mK)"), .custom("settling (ms)"), .custom("hold RMS error (mK)"),
                    .custom("ramp (ms)"), .custom("hold power (mW)"),
                ],
                maxIterations: 1
            )
        ) { benchmark in
            let profile = TreatmentProfile.bvn
            let q = runLesion(
                tissue: preset.parameters,
                target: profile.setPointCelsius,
                rampCelsiusPerSecond: profile.rampCelsiusPerSecond,
                holdSeconds: profile.holdSeconds
            )
            benchmark.measurement(.custom("overshoot (mK)"), Int((q.overshoot * 1000).rounded()))
            benchmark.measurement(.custom("settling (ms)"), Int((q.settlingSeconds * 1000).rounded()))
            benchmark.measurement(.custom("hold RMS error (mK)"), Int((q.holdRMS * 1000).rounded()))
            benchmark.measurement(.custom("ramp (ms)"), Int((q.rampSeconds * 1000).rounded()))
            benchmark.measurement(.custom("hold power (mW)"), Int((q.holdPower * 1000).rounded()))
        }
    }
}
