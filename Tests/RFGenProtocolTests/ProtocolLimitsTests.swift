import Testing

@testable import RFGenProtocol

struct ProtocolLimitsTests {
    @Test("The frame arithmetic holds: one COBS overhead byte, two delimiters, sizes consistent")
    func relations() {
        #expect(
            ProtocolLimits.maxFrameBytes == ProtocolLimits.headerBytes + ProtocolLimits.maxPayloadBytes
                + ProtocolLimits.crcBytes
        )
        #expect(ProtocolLimits.maxFrameBytes < 254, "more would need a second COBS overhead byte")
        #expect(ProtocolLimits.maxWireBytes == ProtocolLimits.maxFrameBytes + 3)
        #expect(ProtocolLimits.defaultTelemetryRateHz == 100)
        #expect(ProtocolLimits.watchdogMilliseconds.contains(ProtocolLimits.defaultWatchdogMilliseconds))
    }

    @Test("The largest message of this version fits the payload limit and the wire limit")
    func largestMessagesFit() {
        let long = String(repeating: "W", count: ProtocolLimits.maxIdentityStringBytes)
        let hello = Hello(
            ackSequence: 0xFFFF,
            firmwareMajor: 255,
            firmwareMinor: 255,
            firmwarePatch: 255,
            model: long,
            serialNumber: long,
            maxPowerMilliwatts: .max,
            maxVoltageMillivolts: .max,
            maxCurrentMilliamps: .max,
            temperatureChannels: 4,
            telemetryRateMinHz: 1,
            telemetryRateMaxHz: .max,
            impedanceMinDeciohms: .max,
            impedanceMaxDeciohms: .max,
            temperatureLimitCentiCelsius: .max
        )
        let telemetry = Telemetry(
            timestampMicroseconds: .max,
            rfState: .on,
            faults: FaultBits(rawValue: .max),
            setPointMilliwatts: .max,
            powerMilliwatts: .max,
            voltageMillivolts: .max,
            currentMilliamps: .max,
            impedanceDeciohms: .max,
            impedanceValid: true,
            temperatures: TemperatureReadings(
                repeatElement(TemperatureReading(centiCelsius: -1, status: .ok), count: 4)
            )
        )
        for message in [Message.hello(hello), .telemetry(telemetry)] {
            let payloadBytes = withUnsafeTemporaryAllocation(byteCount: ProtocolLimits.maxFrameBytes, alignment: 1) {
                var w = ByteWriter($0)
                message.encodePayload(into: &w)
                return w.count
            }
            #expect(payloadBytes <= ProtocolLimits.maxPayloadBytes)
            #expect(FrameEncoder.encode(Frame(sequence: 1, message: message)).count <= ProtocolLimits.maxWireBytes)
        }
    }
}
