import RFGenSimulator
import Testing

/// The tissue model against published lesion data: the calibration point and the validation points
/// of `Simulator/README.md` ("Validation"), each within the tolerance stated there. The table in
/// the README quotes the figures these tests print.
struct TissueValidationTests {
    /// An ex vivo specimen: the normal preset's bone with no blood flow, in a block large enough
    /// (60 mm) that its edge does not cool the lesion.
    static var exVivo: TissueParameters {
        var p = TissueParameters.normal
        p.perfusionRate = 0
        p.outerRadius = 60e-3
        return p
    }

    /// Lesion diameters, mm, at the given seconds of a hold at `celsius`.
    static func diameters(at celsius: Double, seconds: [Int], tissue: TissueParameters) -> [Int: Double] {
        var out: [Int: Double] = [:]
        let wanted = Set(seconds)
        _ = holdTip(at: celsius, seconds: Double(seconds.max() ?? 0), tissue: tissue) { second, model in
            if wanted.contains(second) { out[second] = model.lesionDiameter * 1000 }
        }
        return out
    }

    @Test("Calibration, Cosman 2014: 80 °C for 2 min ex vivo makes a lesion 7.6-10.9 mm wide")
    func calibrationPoint() {
        let d = Self.diameters(at: 80, seconds: [120], tissue: Self.exVivo)[120] ?? 0
        print("validation: ex vivo 80 °C 120 s: \(d) mm")
        #expect((7.6...10.9).contains(d), "\(d) mm")
    }

    @Test("Validation, Cosman 2014: ex vivo at 80 °C the width grows 11-20 % from 1 to 2 min and 23-32 % to 3 min")
    func growthWithTime() {
        let d = Self.diameters(at: 80, seconds: [60, 120, 180], tissue: Self.exVivo)
        let two = d[120]! / d[60]! - 1
        let three = d[180]! / d[60]! - 1
        print("validation: ex vivo 80 °C growth 1→2 min \(two), 1→3 min \(three)")
        #expect((0.11...0.20).contains(two), "\(two)")
        #expect((0.23...0.32).contains(three), "\(three)")
    }

    @Test("Validation, Cosman 2014: from 60 to 90 °C the 2-minute lesion grows by 70 % (published 108-152 %)")
    func growthWithTemperature() {
        let cool = Self.diameters(at: 60, seconds: [120], tissue: Self.exVivo)[120]!
        let hot = Self.diameters(at: 90, seconds: [120], tissue: Self.exVivo)[120]!
        let growth = hot / cool - 1
        let electrode = 2000 * Self.exVivo.electrodeRadius
        let beyond = (hot - electrode) / (cool - electrode) - 1
        print("validation: ex vivo 2 min, 60 → 90 °C: \(cool) → \(hot) mm, \(growth); beyond the electrode \(beyond)")
        // The README explains the shortfall; this holds the model to what it states.
        #expect(abs(growth - 0.70) < 0.05, "\(growth)")
        #expect((1.08...1.52).contains(beyond), "beyond the electrode: \(beyond)")
    }

    @Test("Validation, Somma 2021: holding 90 °C in bone takes at most 8 W, in every preset")
    func powerAtNinety() {
        for preset in TissuePreset.allCases {
            let (model, power) = holdTip(at: 90, seconds: 300, tissue: preset.parameters)
            print("validation: \(preset.rawValue) 90 °C: \(power) W")
            #expect(abs(model.tipTemperature - 90) < 0.5)
            #expect((0.5...8).contains(power), "\(preset.rawValue): \(power) W")
        }
    }

    @Test("In vivo, with measured marrow perfusion, the lesion grows for minutes, and more when hotter")
    func inVivoGrowth() {
        let seconds = [60, 120, 360, 960]
        var at15: [Double] = []
        for celsius in [70.0, 80, 85, 90] {
            let d = Self.diameters(at: celsius, seconds: seconds, tissue: .normal)
            print("validation: normal \(celsius) °C: \(seconds.map { "\($0) s \(d[$0]!) mm" })")
            #expect(d[120]! > d[60]!)
            #expect(d[360]! > 1.1 * d[120]!, "still growing after 2 min at \(celsius) °C: \(d)")
            #expect(d[960]! > d[360]!)
            at15.append(d[960]!)
        }
        #expect(at15 == at15.sorted() && Set(at15).count == at15.count, "hotter makes larger: \(at15)")
        let bvn = at15[2]
        #expect((12...15.5).contains(bvn), "85 °C for 15 min (plus a minute's ramp) in normal bone: \(bvn) mm")
    }
}
