/// Every message of the protocol, host commands and generator messages alike.
public enum Message: Hashable, Sendable {
    // Host to generator.
    case helloRequest
    case keepalive
    case configure(Configure)
    case setPower(SetPower)
    case rfOn
    case rfOff
    case impedanceCheck(ImpedanceCheck)
    case clearFault
    case getStatus
    // Generator to host.
    case ack(Ack)
    case nak(Nak)
    case hello(Hello)
    case status(Status)
    case telemetry(Telemetry)
    case event(Event)
    case impedanceResult(ImpedanceResult)

    /// The type byte this message travels under.
    public var type: MessageType {
        switch self {
        case .helloRequest: .helloRequest
        case .keepalive: .keepalive
        case .configure: .configure
        case .setPower: .setPower
        case .rfOn: .rfOn
        case .rfOff: .rfOff
        case .impedanceCheck: .impedanceCheck
        case .clearFault: .clearFault
        case .getStatus: .getStatus
        case .ack: .ack
        case .nak: .nak
        case .hello: .hello
        case .status: .status
        case .telemetry: .telemetry
        case .event: .event
        case .impedanceResult: .impedanceResult
        }
    }

    /// Writes the payload, in wire order.
    func encodePayload(into w: inout ByteWriter) {
        switch self {
        case .helloRequest, .keepalive, .rfOn, .rfOff, .clearFault, .getStatus:
            break
        case .configure(let m):
            w.write(m.telemetryRateHz)
            w.write(m.watchdogMilliseconds)
        case .setPower(let m):
            w.write(m.powerMilliwatts)
            w.write(m.validityMilliseconds)
        case .impedanceCheck(let m):
            w.write(m.durationMilliseconds)
        case .ack(let m):
            w.write(m.ackSequence)
            w.write(m.ackType)
        case .nak(let m):
            w.write(m.ackSequence)
            w.write(m.ackType)
            w.write(m.reason.rawValue)
        case .hello(let m):
            w.write(m.ackSequence)
            w.write(m.firmwareMajor)
            w.write(m.firmwareMinor)
            w.write(m.firmwarePatch)
            w.writeString(m.model)
            w.writeString(m.serialNumber)
            w.write(m.maxPowerMilliwatts)
            w.write(m.maxVoltageMillivolts)
            w.write(m.maxCurrentMilliamps)
            w.write(m.temperatureChannels)
            w.write(m.telemetryRateMinHz)
            w.write(m.telemetryRateMaxHz)
            w.write(m.impedanceMinDeciohms)
            w.write(m.impedanceMaxDeciohms)
            w.write(m.temperatureLimitCentiCelsius)
        case .status(let m):
            w.write(m.ackSequence)
            w.write(m.rfState.rawValue)
            w.write(m.faults.rawValue)
            w.write(m.setPointMilliwatts)
            w.write(m.setPointRemainingMilliseconds)
            w.write(m.watchdogMilliseconds)
            w.write(m.telemetryRateHz)
            w.write(m.uptimeMilliseconds)
        case .telemetry(let m):
            precondition(
                ProtocolLimits.temperatureChannels.contains(m.temperatures.count),
                "telemetry carries 1-4 temperature channels"
            )
            w.write(m.timestampMicroseconds)
            w.write(m.rfState.rawValue)
            w.write(m.faults.rawValue)
            w.write(m.setPointMilliwatts)
            w.write(m.powerMilliwatts)
            w.write(m.voltageMillivolts)
            w.write(m.currentMilliamps)
            w.write(m.impedanceDeciohms)
            w.write(UInt8(m.impedanceValid ? 1 : 0))
            w.write(UInt8(m.temperatures.count))
            for reading in m.temperatures {
                w.write(reading.centiCelsius)
                w.write(reading.status.rawValue)
            }
        case .event(let m):
            w.write(m.timestampMicroseconds)
            w.write(m.code.rawValue)
            w.write(m.faults.rawValue)
            w.write(m.detail)
        case .impedanceResult(let m):
            w.write(m.ackSequence)
            w.write(m.outcome.rawValue)
            w.write(m.impedanceDeciohms)
        }
    }

    /// Reads a payload of the given type.
    static func decodePayload(
        type: MessageType,
        payload: UnsafeRawBufferPointer,
        senderVersion: ProtocolVersion
    ) throws(FieldError) -> Message {
        var r = ByteReader(payload)
        let message: Message
        switch type {
        case .helloRequest: message = .helloRequest
        case .keepalive: message = .keepalive
        case .rfOn: message = .rfOn
        case .rfOff: message = .rfOff
        case .clearFault: message = .clearFault
        case .getStatus: message = .getStatus
        case .configure:
            message = .configure(
                Configure(
                    telemetryRateHz: try r.read(UInt16.self, "telemetry_rate_Hz"),
                    watchdogMilliseconds: try r.read(UInt16.self, "watchdog_ms")
                )
            )
        case .setPower:
            message = .setPower(
                SetPower(
                    powerMilliwatts: try r.read(UInt32.self, "power_mW"),
                    validityMilliseconds: try r.read(UInt16.self, "validity_ms")
                )
            )
        case .impedanceCheck:
            message = .impedanceCheck(ImpedanceCheck(durationMilliseconds: try r.read(UInt16.self, "duration_ms")))
        case .ack:
            message = .ack(
                Ack(ackSequence: try r.read(UInt16.self, "ack_seq"), ackType: try r.read(UInt8.self, "ack_type"))
            )
        case .nak:
            message = .nak(
                Nak(
                    ackSequence: try r.read(UInt16.self, "ack_seq"),
                    ackType: try r.read(UInt8.self, "ack_type"),
                    reason: try r.readEnum(NakReason.self, "reason")
                )
            )
        case .hello:
            let hello = Hello(
                ackSequence: try r.read(UInt16.self, "ack_seq"),
                firmwareMajor: try r.read(UInt8.self, "fw_major"),
                firmwareMinor: try r.read(UInt8.self, "fw_minor"),
                firmwarePatch: try r.read(UInt8.self, "fw_patch"),
                model: try r.readString("model"),
                serialNumber: try r.readString("serial"),
                maxPowerMilliwatts: try r.read(UInt32.self, "max_power_mW"),
                maxVoltageMillivolts: try r.read(UInt32.self, "max_voltage_mV"),
                maxCurrentMilliamps: try r.read(UInt16.self, "max_current_mA"),
                temperatureChannels: try r.read(UInt8.self, "temp_channels"),
                telemetryRateMinHz: try r.read(UInt16.self, "tlm_rate_min_Hz"),
                telemetryRateMaxHz: try r.read(UInt16.self, "tlm_rate_max_Hz"),
                impedanceMinDeciohms: try r.read(UInt32.self, "impedance_min_dOhm"),
                impedanceMaxDeciohms: try r.read(UInt32.self, "impedance_max_dOhm"),
                temperatureLimitCentiCelsius: try r.read(Int16.self, "temp_limit_cC")
            )
            guard ProtocolLimits.temperatureChannels.contains(Int(hello.temperatureChannels)) else {
                throw .invalidValue(field: "temp_channels", value: Int64(hello.temperatureChannels))
            }
            guard hello.telemetryRateMinHz >= 1, hello.telemetryRateMinHz <= hello.telemetryRateMaxHz else {
                throw .invalidValue(field: "tlm_rate_min_Hz", value: Int64(hello.telemetryRateMinHz))
            }
            message = .hello(hello)
        case .status:
            message = .status(
                Status(
                    ackSequence: try r.read(UInt16.self, "ack_seq"),
                    rfState: try r.readEnum(RFState.self, "rf_state"),
                    faults: FaultBits(rawValue: try r.read(UInt32.self, "faults")),
                    setPointMilliwatts: try r.read(UInt32.self, "setpoint_mW"),
                    setPointRemainingMilliseconds: try r.read(UInt16.self, "setpoint_remaining_ms"),
                    watchdogMilliseconds: try r.read(UInt16.self, "watchdog_ms"),
                    telemetryRateHz: try r.read(UInt16.self, "tlm_rate_Hz"),
                    uptimeMilliseconds: try r.read(UInt32.self, "uptime_ms")
                )
            )
        case .telemetry:
            let timestamp = try r.read(UInt64.self, "t_us")
            let rfState = try r.readEnum(RFState.self, "rf_state")
            let faults = FaultBits(rawValue: try r.read(UInt32.self, "faults"))
            let setPoint = try r.read(UInt32.self, "setpoint_mW")
            let power = try r.read(UInt32.self, "power_mW")
            let voltage = try r.read(UInt32.self, "voltage_mV")
            let current = try r.read(UInt16.self, "current_mA")
            let impedance = try r.read(UInt32.self, "impedance_dOhm")
            let flags = try r.read(UInt8.self, "flags")
            // Undefined flag bits are refused rather than ignored: a flag this host cannot read
            // could change the meaning of the values it is about to act on.
            guard flags & ~0x01 == 0 else { throw .invalidValue(field: "flags", value: Int64(flags)) }
            let count = try r.read(UInt8.self, "temp_count")
            guard ProtocolLimits.temperatureChannels.contains(Int(count)) else {
                throw .invalidValue(field: "temp_count", value: Int64(count))
            }
            var temperatures = TemperatureReadings()
            for _ in 0..<count {
                temperatures.append(
                    TemperatureReading(
                        centiCelsius: try r.read(Int16.self, "temp_cC"),
                        status: try r.readEnum(TemperatureStatus.self, "temp_status")
                    )
                )
            }
            message = .telemetry(
                Telemetry(
                    timestampMicroseconds: timestamp,
                    rfState: rfState,
                    faults: faults,
                    setPointMilliwatts: setPoint,
                    powerMilliwatts: power,
                    voltageMillivolts: voltage,
                    currentMilliamps: current,
                    impedanceDeciohms: impedance,
                    impedanceValid: flags & 0x01 != 0,
                    temperatures: temperatures
                )
            )
        case .event:
            message = .event(
                Event(
                    timestampMicroseconds: try r.read(UInt64.self, "t_us"),
                    code: try r.readEnum(EventCode.self, "code"),
                    faults: FaultBits(rawValue: try r.read(UInt32.self, "faults")),
                    detail: try r.read(UInt32.self, "detail")
                )
            )
        case .impedanceResult:
            message = .impedanceResult(
                ImpedanceResult(
                    ackSequence: try r.read(UInt16.self, "ack_seq"),
                    outcome: try r.readEnum(ImpedanceOutcome.self, "result"),
                    impedanceDeciohms: try r.read(UInt32.self, "impedance_dOhm")
                )
            )
        }
        try r.finish(senderVersion: senderVersion)
        return message
    }
}

/// One frame: the header's version and sequence number with the message it carries.
public struct Frame: Hashable, Sendable {
    /// The sender's protocol version.
    public var version: ProtocolVersion
    /// Host commands: the command's number, reused unchanged by a retry. TELEMETRY: the telemetry
    /// counter. Other generator messages: the generator's message counter. All wrap at 65536.
    public var sequence: UInt16
    public var message: Message

    public init(version: ProtocolVersion = .current, sequence: UInt16, message: Message) {
        self.version = version
        self.sequence = sequence
        self.message = message
    }
}
