import RFGenSimulator
import Testing

/// Holds the tip at `target` with a plain PI loop (a test fixture, not the product's controller)
/// and returns the model and the mean power over the last minute.
func holdTip(at target: Double, seconds: Double, tissue: TissueParameters) -> (model: TissueModel, power: Double) {
    var model = TissueModel(parameters: tissue)
    var integral = 0.0
    var energyLastMinute = 0.0
    let dt = 0.01
    let steps = Int(seconds / dt)
    for step in 0..<steps {
        let error = target - model.tipTemperature
        integral = min(max(integral + error * dt, 0), 300)
        let power = min(max(0.3 * error + 0.03 * integral, 0), 15)
        model.step(seconds: dt, power: power)
        if step >= steps - Int(60 / dt) { energyLastMinute += power * dt }
    }
    return (model, energyLastMinute / 60)
}

struct TissueModelTests {
    @Test("At constant power the tip temperature rises and levels off below boiling")
    func constantPowerLevelsOff() {
        var model = TissueModel(parameters: .normal)
        var at: [Int: Double] = [:]
        for step in 1...60_000 {  // 600 s
            model.step(seconds: 0.01, power: 3)
            if step % 6000 == 0 { at[step / 100] = model.tipTemperature }
        }
        #expect(at[60]! > 60, "3 W heats the tip well above body temperature within a minute")
        #expect(at[600]! > at[60]!)
        #expect(at[600]! - at[540]! < 0.3, "levelled off after ten minutes")
        #expect(at[600]! < 100)
    }

    @Test("At 0 W a heated tip decays back to 37 °C")
    func decaysToBodyTemperature() {
        var model = TissueModel(parameters: .normal)
        for _ in 0..<12_000 { model.step(seconds: 0.01, power: 4) }
        #expect(model.tipTemperature > 70)
        for _ in 0..<120_000 { model.step(seconds: 0.01, power: 0) }
        #expect(abs(model.tipTemperature - 37) < 0.5)
    }

    @Test("Impedance falls as tissue warms, and jumps when the tip reaches 100 °C")
    func impedanceJumpsAtBoiling() {
        var model = TissueModel(parameters: .normal)
        let cold = model.loadResistance
        var beforeBoiling = cold
        var boiledAt: Int?
        for step in 0..<20_000 {
            model.step(seconds: 0.01, power: 15)
            if boiledAt == nil {
                if model.tipTemperature >= TissueModel.boilingTemperature {
                    boiledAt = step
                } else {
                    beforeBoiling = model.loadResistance
                }
            }
            if let boiledAt, step >= boiledAt + 50 { break }
        }
        #expect(boiledAt != nil, "15 W boils the tip")
        #expect(beforeBoiling < cold, "warm tissue conducts better")
        #expect(model.loadResistance > 3 * beforeBoiling, "vapour at the tip: impedance jumps within half a second")
    }

    @Test("Calibration: 85 °C at the tip takes a few watts and 15 minutes make a lesion of about 1 cm")
    func calibration() {
        let (model, power) = holdTip(at: 85, seconds: 60 + 900, tissue: .normal)
        #expect(abs(model.tipTemperature - 85) < 0.5)
        #expect((2...8).contains(power), "power at steady state: \(power) W")
        let millimetres = model.lesionDiameter * 1000
        #expect((8...14).contains(millimetres), "lesion diameter \(millimetres) mm")
        #expect((300...2000).contains(TissueModel(parameters: .normal).loadResistance), "initial impedance in ohms")
    }

    @Test("Presets differ as their physiology says: perfusion costs power, sclerotic bone resists current")
    func presets() {
        let normal = holdTip(at: 85, seconds: 240, tissue: .normal).power
        let perfused = holdTip(at: 85, seconds: 240, tissue: .highPerfusion).power
        #expect(perfused > normal * 1.1)
        #expect(
            TissueModel(parameters: .sclerotic).loadResistance > 1.3 * TissueModel(parameters: .normal).loadResistance
        )
    }
}
