import PropertyBased
import RFGenCore
import Testing

struct TemperatureControllerTests {
    @Test("The output stays within 0 and the ceiling whatever the inputs, and is 0 for readings that are not numbers")
    func outputBounded() async {
        let value = Gen<Double>.double(in: -1000...1000)
        await propertyCheck(count: 300, input: value, value, Gen<Double>.double(in: 0...100_000)) {
            sp,
            measured,
            ohms in
            var controller = TemperatureController()
            for _ in 0..<50 {
                let out = controller.step(
                    seconds: 0.01,
                    setPointCelsius: sp,
                    measuredCelsius: measured,
                    impedanceOhms: ohms
                )
                #expect(out >= 0 && out <= controller.parameters.maxPowerWatts)
            }
        }
        var controller = TemperatureController()
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: bad, impedanceOhms: nil) == 0)
            #expect(controller.step(seconds: 0.01, setPointCelsius: bad, measuredCelsius: 37, impedanceOhms: nil) == 0)
        }
    }

    @Test("Anti-windup: pinned at its ceiling for minutes, the controller backs off as soon as the error turns")
    func antiWindup() {
        var controller = TemperatureController()
        for _ in 0..<30_000 {  // 5 minutes far below the set point: saturated all along
            _ = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 40, impedanceOhms: nil)
        }
        #expect(controller.outputWatts == controller.parameters.maxPowerWatts)
        #expect(controller.integralWatts <= controller.parameters.maxPowerWatts)
        // Now 1 °C above: a wound-up integral would keep pushing full power for a long time.
        var steps = 0
        while controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 86, impedanceOhms: nil) > 0.5
            * controller.parameters.maxPowerWatts
        {
            steps += 1
            if steps > 100_000 { break }
        }
        #expect(steps < 100, "backed off to half power within a second (took \(steps) ticks)")
        #expect(controller.integralWatts < controller.parameters.maxPowerWatts)
    }

    @Test("Power rises no faster than the slew limit and falls at once")
    func slewLimit() {
        var controller = TemperatureController()
        let first = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: nil)
        #expect(abs(first - controller.parameters.powerSlewWattsPerSecond * 0.01) < 1e-9)
        for _ in 0..<1000 {
            _ = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: nil)
        }
        #expect(controller.outputWatts == controller.parameters.maxPowerWatts)
        let fall = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 90, impedanceOhms: nil)
        #expect(fall == 0, "a reading above the set point cuts power in one step")
    }

    @Test("A sharp impedance rise rolls power off, to nothing at 1.5 times the lowest impedance")
    func impedanceRollOff() {
        var controller = TemperatureController()
        for _ in 0..<1000 {
            _ = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: 600)
        }
        #expect(controller.outputWatts == controller.parameters.maxPowerWatts)
        let mild = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: 700)
        #expect(mild == controller.parameters.maxPowerWatts, "below 1.2 × the floor nothing changes")
        let rising = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: 810)
        #expect(abs(rising - controller.parameters.maxPowerWatts * 0.5) < 1e-9, "1.35 × the floor: half the ceiling")
        let vapour = controller.step(seconds: 0.01, setPointCelsius: 85, measuredCelsius: 37, impedanceOhms: 900)
        #expect(vapour == 0)
        #expect(controller.impedanceFloorOhms == 600)
    }
}
