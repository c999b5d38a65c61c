import RFGenSimulator
import Testing

struct InjectedFaultTests {
    @Test(
        "Control lines parse to the faults they name",
        arguments: [
            ("tc open", [InjectedFault.thermocouple(channel: 0, .open)]),
            ("tc short 1", [.thermocouple(channel: 1, .shorted)]),
            ("tc drift -0.5 1", [.thermocouple(channel: 1, .drifting(celsiusPerSecond: -0.5))]),
            ("tc stuck", [.thermocouple(channel: 0, .stuck)]),
            ("tc offset 60", [.thermocouple(channel: 0, .offset(celsius: 60))]),
            ("tc offset -5 1", [.thermocouple(channel: 1, .offset(celsius: -5))]),
            ("tc ok 3", [.thermocouple(channel: 3, nil)]),
            ("z short", [.impedance(.short)]),
            ("z open", [.impedance(.open)]),
            ("z step 250", [.impedance(.step(ohms: 250))]),
            ("z ok", [.impedance(nil)]),
            ("power 1.5", [.powerMismatch(factor: 1.5)]),
            ("power ok", [.powerMismatch(factor: nil)]),
            ("stuck on", [.rfStuckOn(true)]),
            ("stuck off", [.rfStuckOn(false)]),
            ("stall", [.telemetryStall(true)]),
            ("stall off", [.telemetryStall(false)]),
            ("biterrors 0.001", [.bitErrors(probability: 0.001)]),
            ("biterrors off", [.bitErrors(probability: 0)]),
            ("garbage 64", [.garbage(bytes: 64)]),
            ("reboot", [.reboot]),
            ("disconnect", [.disconnected(true)]),
            ("  reconnect\t", [.disconnected(false)]),
        ]
    )
    func parses(line: String, expected: [InjectedFault]) throws {
        #expect(try InjectedFault.parse(line) == expected)
    }

    @Test(
        "Bad control lines get an error that says what was expected",
        arguments: [
            ("", "empty command"),
            ("tc", "tc: expected open, short, drift, offset, stuck or ok"),
            ("tc offset 101", "tc offset: °C must be -100 to 100"),
            ("tc melt", "tc: unknown fault melt"),
            ("tc open 7", "tc: channel must be 0-3, got 7"),
            ("tc drift fast", "tc: expected a rate in °C/s"),
            ("z step -3", "z step: ohms must not be negative"),
            ("power nan", "power: expected a factor"),
            ("power 11", "power: factor must be 0-10"),
            ("biterrors 2", "biterrors: probability must be 0-1"),
            ("garbage 0", "garbage: byte count must be 1-"),
            ("stuck maybe", "stuck: expected on or off"),
            ("explode", "unknown command explode"),
        ]
    )
    func refuses(line: String, message: String) {
        #expect {
            try InjectedFault.parse(line)
        } throws: { error in
            (error as? ControlError)?.description.hasPrefix(message) == true
        }
    }

    @Test("clear ends every injected fault at once")
    func clearAll() throws {
        let faults = try InjectedFault.parse("clear")
        #expect(faults.contains(.rfStuckOn(false)))
        #expect(faults.contains(.disconnected(false)))
        #expect(faults.contains(.thermocouple(channel: 3, nil)))
        #expect(faults.count == 10)
    }
}
