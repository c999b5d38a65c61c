// The canonical text of a frame: one line, the type's name, then `name=value` pairs with the spec's
// field names in wire order. Logs use it, and `protocol/vectors/` states each vector's meaning in
// it, so that a second implementation can check its decoder against the same lines.
// Integers are decimal; `faults` and type bytes are hexadecimal; enums are their spec names;
// strings are in double quotes.

extension Frame: CustomStringConvertible {
    public var description: String {
        "\(message.type) v=\(version) seq=\(sequence)" + message.fieldText
    }
}

extension Message {
    /// The `name=value` pairs, each preceded by a space; empty for messages without payload.
    var fieldText: String {
        var f = FieldText()
        switch self {
        case .helloRequest, .keepalive, .rfOn, .rfOff, .clearFault, .getStatus:
            break
        case .configure(let m):
            f.add("telemetry_rate_Hz", m.telemetryRateHz)
            f.add("watchdog_ms", m.watchdogMilliseconds)
        case .setPower(let m):
            f.add("power_mW", m.powerMilliwatts)
            f.add("validity_ms", m.validityMilliseconds)
        case .impedanceCheck(let m):
            f.add("duration_ms", m.durationMilliseconds)
        case .ack(let m):
            f.add("ack_seq", m.ackSequence)
            f.add("ack_type", hex8(m.ackType))
        case .nak(let m):
            f.add("ack_seq", m.ackSequence)
            f.add("ack_type", hex8(m.ackType))
            f.add("reason", m.reason)
        case .hello(let m):
            f.add("ack_seq", m.ackSequence)
            f.add("fw", "\(m.firmwareMajor).\(m.firmwareMinor).\(m.firmwarePatch)")
            f.add("model", "\"\(m.model)\"")
            f.add("serial", "\"\(m.serialNumber)\"")
            f.add("max_power_mW", m.maxPowerMilliwatts)
            f.add("max_voltage_mV", m.maxVoltageMillivolts)
            f.add("max_current_mA", m.maxCurrentMilliamps)
            f.add("temp_channels", m.temperatureChannels)
            f.add("tlm_rate_min_Hz", m.telemetryRateMinHz)
            f.add("tlm_rate_max_Hz", m.telemetryRateMaxHz)
            f.add("impedance_min_dOhm", m.impedanceMinDeciohms)
            f.add("impedance_max_dOhm", m.impedanceMaxDeciohms)
            f.add("temp_limit_cC", m.temperatureLimitCentiCelsius)
        case .status(let m):
            f.add("ack_seq", m.ackSequence)
            f.add("rf_state", m.rfState)
            f.add("faults", m.faults)
            f.add("setpoint_mW", m.setPointMilliwatts)
            f.add("setpoint_remaining_ms", m.setPointRemainingMilliseconds)
            f.add("watchdog_ms", m.watchdogMilliseconds)
            f.add("tlm_rate_Hz", m.telemetryRateHz)
            f.add("uptime_ms", m.uptimeMilliseconds)
        case .telemetry(let m):
            f.add("t_us", m.timestampMicroseconds)
            f.add("rf_state", m.rfState)
            f.add("faults", m.faults)
            f.add("setpoint_mW", m.setPointMilliwatts)
            f.add("power_mW", m.powerMilliwatts)
            f.add("voltage_mV", m.voltageMillivolts)
            f.add("current_mA", m.currentMilliamps)
            f.add("impedance_dOhm", m.impedanceDeciohms)
            f.add("impedance_valid", m.impedanceValid ? 1 : 0)
            for (channel, reading) in m.temperatures.enumerated() {
                f.add("temp\(channel)_cC", reading.centiCelsius)
                f.add("temp\(channel)_status", reading.status)
            }
        case .event(let m):
            f.add("t_us", m.timestampMicroseconds)
            f.add("code", m.code)
            f.add("faults", m.faults)
            f.add("detail", m.detail)
        case .impedanceResult(let m):
            f.add("ack_seq", m.ackSequence)
            f.add("result", m.outcome)
            f.add("impedance_dOhm", m.impedanceDeciohms)
        }
        return f.text
    }
}

private struct FieldText {
    var text = ""
    mutating func add(_ name: String, _ value: some CustomStringConvertible) {
        text += " \(name)=\(value)"
    }
}
