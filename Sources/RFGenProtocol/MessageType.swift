/// The message type byte at offset 1 of the frame header.
///
/// Host commands are 0x01-0x7F; generator messages are 0x80-0xFF, so a stray frame from the wrong
/// direction (a loopback, a crossed cable) is recognised as such.
public enum MessageType: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    // Host to generator.
    case helloRequest = 0x01
    case keepalive = 0x02
    case configure = 0x03
    case setPower = 0x04
    case rfOn = 0x05
    case rfOff = 0x06
    case impedanceCheck = 0x07
    case clearFault = 0x08
    case getStatus = 0x09
    // Generator to host.
    case ack = 0x80
    case nak = 0x81
    case hello = 0x82
    case status = 0x83
    case telemetry = 0x84
    case event = 0x85
    case impedanceResult = 0x86

    /// Which side sends this type.
    public var direction: Direction { rawValue < 0x80 ? .hostToGenerator : .generatorToHost }

    /// The type's name as PROTOCOL.md writes it.
    public var description: String {
        switch self {
        case .helloRequest: "HELLO_REQUEST"
        case .keepalive: "KEEPALIVE"
        case .configure: "CONFIGURE"
        case .setPower: "SET_POWER"
        case .rfOn: "RF_ON"
        case .rfOff: "RF_OFF"
        case .impedanceCheck: "IMPEDANCE_CHECK"
        case .clearFault: "CLEAR_FAULT"
        case .getStatus: "GET_STATUS"
        case .ack: "ACK"
        case .nak: "NAK"
        case .hello: "HELLO"
        case .status: "STATUS"
        case .telemetry: "TELEMETRY"
        case .event: "EVENT"
        case .impedanceResult: "IMPEDANCE_RESULT"
        }
    }
}

/// The two ends of the link.
public enum Direction: Sendable, Hashable {
    /// Commands, sent by the host (the daemon).
    case hostToGenerator
    /// Replies, telemetry and events, sent by the generator.
    case generatorToHost
}
