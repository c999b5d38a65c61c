/// A fault that a test or an operator of `rfgen-sim` injects into the simulated generator.
public enum InjectedFault: Hashable, Sendable {
    /// A thermocouple channel misbehaves (nil clears it).
    case thermocouple(channel: Int, ThermocoupleFault?)
    /// The load impedance misbehaves (nil clears it).
    case impedance(ImpedanceFault?)
    /// The power regulator delivers `factor` times the set point (nil or 1 clears it).
    case powerMismatch(factor: Double?)
    /// The output stage is stuck on: RF_OFF, faults and the watchdog switch the firmware's state
    /// off but power keeps flowing at its last level (false releases it).
    case rfStuckOn(Bool)
    /// Telemetry stops; replies and events still go out (false resumes it).
    case telemetryStall(Bool)
    /// Each transmitted byte has one random bit flipped with this probability (0 stops it).
    case bitErrors(probability: Double)
    /// This many random bytes go out on the line at once.
    case garbage(bytes: Int)
    /// The generator resets: RF off, state lost, silent for its boot time, then BOOT.
    case reboot
    /// The link is cut: nothing goes in or out (false restores it). In `rfgen-sim` the
    /// pseudo-terminal also vanishes.
    case disconnected(Bool)
}

/// What can be wrong with the load.
public enum ImpedanceFault: Hashable, Sendable {
    /// Electrodes shorted (probe touching metal, fluid bridge): a few ohms in parallel with the tissue.
    case short
    /// Open circuit (cable unplugged, probe out of tissue).
    case open
    /// A series resistance appears (damaged cable, poor contact), ohms.
    case step(ohms: Double)
}

extension InjectedFault {
    /// Parses one line of the control channel (see `Simulator/README.md`, "Fault injection").
    /// - Parameter line: e.g. `tc open 0`, `z step 300`, `power 1.5`, `reboot`.
    /// - Returns: the faults to apply, in order (`clear` yields several).
    /// - Throws: `ControlError` with a message that says what was expected.
    public static func parse(_ line: String) throws(ControlError) -> [InjectedFault] {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first else { throw ControlError("empty command") }
        let args = Array(words.dropFirst())

        func number(_ index: Int, _ what: String) throws(ControlError) -> Double {
            guard index < args.count, let value = Double(args[index]), value.isFinite else {
                throw ControlError("\(verb): expected \(what)")
            }
            return value
        }
        func channel(_ index: Int) throws(ControlError) -> Int {
            guard index < args.count else { return 0 }
            guard let value = Int(args[index]), (0..<4).contains(value) else {
                throw ControlError("\(verb): channel must be 0-3, got \(args[index])")
            }
            return value
        }
        func onOff(_ index: Int) throws(ControlError) -> Bool {
            switch index < args.count ? args[index] : "on" {
            case "on": return true
            case "off", "ok": return false
            default: throw ControlError("\(verb): expected on or off")
            }
        }

        switch verb {
        case "tc":
            guard let kind = args.first else {
                throw ControlError("tc: expected open, short, drift, offset, stuck or ok")
            }
            switch kind {
            case "open": return [.thermocouple(channel: try channel(1), .open)]
            case "short": return [.thermocouple(channel: try channel(1), .shorted)]
            case "stuck": return [.thermocouple(channel: try channel(1), .stuck)]
            case "ok": return [.thermocouple(channel: try channel(1), nil)]
            case "offset":
                let celsius = try number(1, "an offset in °C")
                guard abs(celsius) <= 100 else { throw ControlError("tc offset: °C must be -100 to 100") }
                return [.thermocouple(channel: try channel(2), .offset(celsius: celsius))]
            case "drift":
                return [
                    .thermocouple(channel: try channel(2), .drifting(celsiusPerSecond: try number(1, "a rate in °C/s")))
                ]
            default: throw ControlError("tc: unknown fault \(kind); expected open, short, drift, offset, stuck or ok")
            }
        case "z":
            guard let kind = args.first else { throw ControlError("z: expected short, open, step OHMS or ok") }
            switch kind {
            case "short": return [.impedance(.short)]
            case "open": return [.impedance(.open)]
            case "ok": return [.impedance(nil)]
            case "step":
                let ohms = try number(1, "a series resistance in ohms")
                guard ohms >= 0 else { throw ControlError("z step: ohms must not be negative") }
                return [.impedance(.step(ohms: ohms))]
            default: throw ControlError("z: unknown fault \(kind); expected short, open, step OHMS or ok")
            }
        case "power":
            if args.first == "ok" { return [.powerMismatch(factor: nil)] }
            let factor = try number(0, "a factor (delivered / set point) or ok")
            guard factor >= 0, factor <= 10 else { throw ControlError("power: factor must be 0-10") }
            return [.powerMismatch(factor: factor)]
        case "stuck": return [.rfStuckOn(try onOff(0))]
        case "stall": return [.telemetryStall(try onOff(0))]
        case "biterrors":
            if args.first == "off" { return [.bitErrors(probability: 0)] }
            let p = try number(0, "a probability per byte (0-1) or off")
            guard p >= 0, p <= 1 else { throw ControlError("biterrors: probability must be 0-1") }
            return [.bitErrors(probability: p)]
        case "garbage":
            let n = try number(0, "a byte count")
            guard n >= 1, n <= Double(SimulatorLimits.garbageBytes) else {
                throw ControlError("garbage: byte count must be 1-\(SimulatorLimits.garbageBytes)")
            }
            return [.garbage(bytes: Int(n))]
        case "reboot": return [.reboot]
        case "disconnect": return [.disconnected(true)]
        case "reconnect": return [.disconnected(false)]
        case "clear":
            return (0..<4).map { .thermocouple(channel: $0, nil) } + [
                .impedance(nil), .powerMismatch(factor: nil), .rfStuckOn(false), .telemetryStall(false),
                .bitErrors(probability: 0), .disconnected(false),
            ]
        default:
            throw ControlError(
                "unknown command \(verb); expected tc, z, power, stuck, stall, biterrors, garbage, reboot, disconnect, reconnect or clear"
            )
        }
    }
}

/// A control-channel line that could not be understood.
public struct ControlError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
