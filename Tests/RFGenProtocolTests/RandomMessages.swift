import PropertyBased
import RFGenProtocol

/// Random frames of every message type, for the property tests.
enum RandomMessages {
    static func frame(_ direction: Direction?, using rng: inout any SeededRandomNumberGenerator) -> Frame {
        let types = MessageType.allCases.filter { direction == nil || $0.direction == direction }
        let type = types.randomElement(using: &rng)!
        return Frame(sequence: .random(in: .min ... .max, using: &rng), message: message(type, using: &rng))
    }

    static func message(_ type: MessageType, using rng: inout any SeededRandomNumberGenerator) -> Message {
        func u8() -> UInt8 { .random(in: .min ... .max, using: &rng) }
        func u16() -> UInt16 { .random(in: .min ... .max, using: &rng) }
        func u32() -> UInt32 { .random(in: .min ... .max, using: &rng) }
        func i16() -> Int16 { .random(in: .min ... .max, using: &rng) }
        func string() -> String {
            let count = Int.random(in: 0...ProtocolLimits.maxIdentityStringBytes, using: &rng)
            // Printable ASCII plus a two-byte character, so multi-byte UTF-8 is covered.
            var s = ""
            while s.utf8.count < count {
                s.append(
                    Bool.random(using: &rng)
                        ? Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng))) : "é"
                )
            }
            while s.utf8.count > count { s.removeLast() }
            return s
        }
        switch type {
        case .helloRequest: return .helloRequest
        case .keepalive: return .keepalive
        case .rfOn: return .rfOn
        case .rfOff: return .rfOff
        case .clearFault: return .clearFault
        case .getStatus: return .getStatus
        case .configure: return .configure(Configure(telemetryRateHz: u16(), watchdogMilliseconds: u16()))
        case .setPower: return .setPower(SetPower(powerMilliwatts: u32(), validityMilliseconds: u16()))
        case .impedanceCheck: return .impedanceCheck(ImpedanceCheck(durationMilliseconds: u16()))
        case .ack: return .ack(Ack(ackSequence: u16(), ackType: u8()))
        case .nak:
            return .nak(Nak(ackSequence: u16(), ackType: u8(), reason: NakReason.allCases.randomElement(using: &rng)!))
        case .hello:
            let minRate = UInt16.random(in: 1...1000, using: &rng)
            return .hello(
                Hello(
                    ackSequence: u16(),
                    firmwareMajor: u8(),
                    firmwareMinor: u8(),
                    firmwarePatch: u8(),
                    model: string(),
                    serialNumber: string(),
                    maxPowerMilliwatts: u32(),
                    maxVoltageMillivolts: u32(),
                    maxCurrentMilliamps: u16(),
                    temperatureChannels: .random(in: 1...4, using: &rng),
                    telemetryRateMinHz: minRate,
                    telemetryRateMaxHz: .random(in: minRate...UInt16.max, using: &rng),
                    impedanceMinDeciohms: u32(),
                    impedanceMaxDeciohms: u32(),
                    temperatureLimitCentiCelsius: i16()
                )
            )
        case .status:
            return .status(
                Status(
                    ackSequence: u16(),
                    rfState: RFState.allCases.randomElement(using: &rng)!,
                    faults: FaultBits(rawValue: u32()),
                    setPointMilliwatts: u32(),
                    setPointRemainingMilliseconds: u16(),
                    watchdogMilliseconds: u16(),
                    telemetryRateHz: u16(),
                    uptimeMilliseconds: u32()
                )
            )
        case .telemetry:
            let channels = Int.random(in: ProtocolLimits.temperatureChannels, using: &rng)
            let temperatures = (0..<channels).map { _ in
                TemperatureReading(centiCelsius: i16(), status: TemperatureStatus.allCases.randomElement(using: &rng)!)
            }
            return .telemetry(
                Telemetry(
                    timestampMicroseconds: .random(in: .min ... .max, using: &rng),
                    rfState: RFState.allCases.randomElement(using: &rng)!,
                    faults: FaultBits(rawValue: u32()),
                    setPointMilliwatts: u32(),
                    powerMilliwatts: u32(),
                    voltageMillivolts: u32(),
                    currentMilliamps: u16(),
                    impedanceDeciohms: u32(),
                    impedanceValid: .random(using: &rng),
                    temperatures: TemperatureReadings(temperatures)
                )
            )
        case .event:
            return .event(
                Event(
                    timestampMicroseconds: .random(in: .min ... .max, using: &rng),
                    code: EventCode.allCases.randomElement(using: &rng)!,
                    faults: FaultBits(rawValue: u32()),
                    detail: u32()
                )
            )
        case .impedanceResult:
            return .impedanceResult(
                ImpedanceResult(
                    ackSequence: u16(),
                    outcome: ImpedanceOutcome.allCases.randomElement(using: &rng)!,
                    impedanceDeciohms: u32()
                )
            )
        }
    }

    /// Generator-to-host or host-to-generator frames (nil: both), for `propertyCheck`.
    static func frames(_ direction: Direction?, count: ClosedRange<Int>) -> Generator<[Frame], Shrink.None<[Frame]>> {
        Generator { rng in
            (0..<Int.random(in: count, using: &rng)).map { _ in frame(direction, using: &rng) }
        }
    }
}
