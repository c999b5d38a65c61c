import RFGenCore
import Testing

struct TreatmentProfileTests {
    @Test("The built-in bvn profile is 85 °C for 900 s and valid on a 20 W generator")
    func bvn() {
        #expect(TreatmentProfile.bvn.setPointCelsius == 85)
        #expect(TreatmentProfile.bvn.holdSeconds == 900)
        #expect(TreatmentProfile.bvn.problems(generatorMaxPowerWatts: 20).isEmpty)
        #expect(TreatmentProfile.builtIn.map(\.name) == ["bvn"])
    }

    @Test("A profile outside the limits, or above the generator's power, says every problem")
    func problems() {
        var profile = TreatmentProfile.bvn
        profile.setPointCelsius = 110
        profile.holdSeconds = 0
        profile.powerLimitWatts = 30
        let problems = profile.problems(generatorMaxPowerWatts: 20)
        #expect(problems.count == 3)
        #expect(problems.contains { $0.hasPrefix("set point (°C) 110.0 is outside 40.0-95.0") })
        #expect(problems.contains { $0.contains("exceeds the generator's 20.0 W") })
    }
}
