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
        // About 1 cm (domain.md, unconfirmed). The continuous isodose reads up to one shell (1 mm
        // of diameter) beyond the figure truncated to the last whole shell that this range was
        // first set on: sclerotic bone now reads 14.9 mm. Calibrating against published lesions
        // is issue 15's.
        #expect((8...16).contains(quality.lesionMillimetres), "\(quality)")
    }
}
