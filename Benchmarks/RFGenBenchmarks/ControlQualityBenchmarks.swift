import Benchmark
import RFGenCore
import RFGenSimulator
import RFGenTestSupport

/// The controller's quality on each tissue preset over a 15-minute bvn lesion with sensor noise, as
/// custom metrics: the figures issue 3's targets are about (overshoot at most 1 °C, within ±1 °C
/// 30 s after reaching, hold RMS at most 0.5 °C). Deterministic: one sample each.
func controlQualityBenchmarks() {
    for preset in TissuePreset.allCases {
        Benchmark(
            "Control quality: bvn lesion on \(preset.rawValue) bone",
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
