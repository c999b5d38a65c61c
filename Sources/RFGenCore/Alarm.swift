/// Alarm priorities after IEC 60601-1-8. Which condition gets which priority is an output of the
/// risk analysis; `Interlock.priority` is where this project writes it down.
public enum AlarmPriority: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case low = 1
    case medium = 2
    case high = 3

    public static func < (a: AlarmPriority, b: AlarmPriority) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        }
    }
}

/// Every interlock of the daemon. Each one switches RF off within one tick of the reading that
/// shows its condition, latches an alarm with its priority, and ends the treatment. None can be
/// disabled. `docs/INTERLOCKS.md` gives each one's condition, threshold, reaction and rationale.
public enum Interlock: String, CaseIterable, Sendable, Hashable {
    case overTemperature = "over_temperature"
    case temperatureRiseTooFast = "temperature_rise_too_fast"
    case noTemperatureRise = "no_temperature_rise"
    case temperatureImplausible = "temperature_implausible"
    case temperatureSensor = "temperature_sensor"
    case channelDisagreement = "channel_disagreement"
    case impedanceOutOfRange = "impedance_out_of_range"
    case impedanceRise = "impedance_rise"
    case powerAboveSetPoint = "power_above_setpoint"
    case powerBelowSetPoint = "power_below_setpoint"
    case rfOnWhileCommandedOff = "rf_on_while_commanded_off"
    case staleTelemetry = "stale_telemetry"
    case linkLost = "link_lost"
    case generatorFault = "generator_fault"
    case energyCap = "energy_cap"
    case treatmentTimeCap = "treatment_time_cap"
    case controlLoopOverrun = "control_loop_overrun"
    case emergencyStop = "emergency_stop"
    case impedanceCheckFailed = "impedance_check_failed"
    case rfDroppedByGenerator = "rf_dropped_by_generator"
    /// The lesion's start could not be made durable in the record before RF: no record, no RF.
    case recordUnavailable = "record_unavailable"

    /// The priority of the alarm it raises.
    public var priority: AlarmPriority {
        switch self {
        // Energy may be reaching the patient outside control, or the temperature is unknown.
        case .overTemperature, .temperatureRiseTooFast, .noTemperatureRise, .temperatureImplausible,
            .temperatureSensor,
            .powerAboveSetPoint, .rfOnWhileCommandedOff, .staleTelemetry, .linkLost, .emergencyStop:
            .high
        // RF is off and the cause is known; the operator must look before going on.
        case .channelDisagreement, .impedanceOutOfRange, .powerBelowSetPoint, .impedanceRise, .generatorFault,
            .controlLoopOverrun,
            .rfDroppedByGenerator, .impedanceCheckFailed, .recordUnavailable:
            .medium
        // Dose limits: nothing is wrong with the equipment.
        case .energyCap, .treatmentTimeCap:
            .low
        }
    }
}

/// A latched alarm: what tripped, when, and what was seen.
public struct Alarm: Hashable, Sendable, CustomStringConvertible {
    /// Set by the core when it latches the alarm: 1, 2, 3, … for the life of the core.
    public internal(set) var id: UInt64 = 0
    public var interlock: Interlock
    public var priority: AlarmPriority { interlock.priority }
    /// When it was raised, on the host's monotonic clock (the shell gives it a wall time when it
    /// tells people).
    public var raisedAt: MonotonicInstant
    /// What was seen, in words, for the operator and the record.
    public var detail: String

    public init(_ interlock: Interlock, at raisedAt: MonotonicInstant, _ detail: String) {
        self.interlock = interlock
        self.raisedAt = raisedAt
        self.detail = detail
    }

    public var description: String { "\(priority) \(interlock.rawValue): \(detail)" }
}
