import RFGenCore
import RFGenSimulator
import RFGenTestSupport
import Testing

struct ControllerQualityTests {
    @Test(
        "A 15-minute bvn lesion meets the control-quality targets on every tissue preset, sensor noise on",
        arguments: TissuePreset.allCases
    )
    func fifteenMinuteLesion(preset: TissuePreset) {
        let profile = TreatmentProfile.bvn
        let quality = runLesion(
            tissue: preset.parameters,
            target: profile.setPointCelsius,
            rampCelsiusPerSecond: profile.rampCelsiusPerSecond,
            holdSeconds: profile.holdSeconds
        )
        #expect(quality.overshoot <= 1.0, "\(quality)")
        #expect(quality.settlingSeconds <= 30, "within ±1 °C from 30 s after first reaching it: \(quality)")
        #expect(quality.holdRMS <= 0.5, "\(quality)")
        #expect(quality.faults.isEmpty, "no generator fault: \(quality)")
        #expect((8...14).contains(quality.lesionMillimetres), "\(quality)")
    }
}
