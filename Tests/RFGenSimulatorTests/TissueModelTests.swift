import RFGenSimulator
import Testing

/// Holds the tip at `target` with a plain PI loop (a test fixture, not the product's controller)
/// and returns the model and the mean power over the last minute.
/// `everySecond` sees the model at the end of each whole second.
func holdTip(
    at target: Double,
    seconds: Double,
    tissue: TissueParameters,
    everySecond: (Int, TissueModel) -> Void = { _, _ in }
) -> (model: TissueModel, power: Double) {
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
        if (step + 1) % Int(1 / dt) == 0 { everySecond((step + 1) / Int(1 / dt), model) }
    }
    return (model, energyLastMinute / 60)
}

struct TissueModelTests {
    @Test("At constant power the tip temperature rises and levels off below boiling")
    func constantPowerLevelsOff() {
        var model = TissueModel(parameters: .normal)
        var at: [Int: Double] = [:]
        for step in 1...60_000 {  // 600 s
            model.step(seconds: 0.01, power: 1.2)
            if step % 6000 == 0 { at[step / 100] = model.tipTemperature }
        }
        #expect(at[60]! > 55, "1.2 W heats the tip well above body temperature within a minute: \(at[60]!)")
        #expect(at[600]! > at[60]!)
        #expect(at[600]! - at[540]! < 0.5, "levelled off after ten minutes: \(at[540]!) → \(at[600]!)")
        #expect(at[600]! < 100)
    }

    @Test("At 0 W a heated tip decays back to 37 °C")
    func decaysToBodyTemperature() {
        var model = TissueModel(parameters: .normal)
        for _ in 0..<12_000 { model.step(seconds: 0.01, power: 2) }
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

    @Test("The lesion's diameter moves smoothly, in steps far below 0.1 mm, and grows from 60 s to 120 s at 85 °C")
    func continuousDiameter() {
        var diameters: [Int: Double] = [:]
        _ = holdTip(at: 85, seconds: 120, tissue: .normal) { second, model in
            diameters[second] = model.lesionDiameter * 1000
        }
        let first = diameters[60] ?? 0
        let last = diameters[120] ?? 0
        #expect(first > 0, "a lesion within a minute at 85 °C: \(first) mm")
        #expect(last > first, "grew from \(first) mm at 60 s to \(last) mm at 120 s")
        let steps = (61...120).map { (diameters[$0] ?? 0) - (diameters[$0 - 1] ?? 0) }
        #expect(steps.allSatisfy { $0 >= 0 && $0 < 0.1 }, "second to second: \(steps)")
        #expect(Set(diameters.filter { $0.key >= 60 }.values).count > 30, "not the grid's 0.5 mm steps")
    }

    @Test("The isodose radius lies between the shells where the dose crosses it, and is 0 below the tip's")
    func isodoseRadius() {
        var model = TissueModel(parameters: .normal)
        #expect(model.isodoseRadius(minutes: 1) == 0, "no dose yet")
        for _ in 0..<6000 { model.step(seconds: 0.01, power: 1.6) }
        let electrode = TissueParameters.normal.electrodeRadius
        let grid = TissueParameters.normal.gridSpacing
        let tight = model.isodoseRadius(minutes: 240)
        let loose = model.isodoseRadius(minutes: 1)
        #expect(tight >= electrode && loose > tight, "\(tight) \(loose)")
        // Where it says the crossing is, the shell inside has the dose and the one outside has not.
        let shell = Int(((loose - electrode) / grid).rounded(.down))
        #expect(model.doseMinutes[shell] >= 1 && model.doseMinutes[shell + 1] < 1)
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
