/// Turns frames into wire bytes: 0x00, COBS(header ‖ payload ‖ CRC), 0x00.
///
/// The leading delimiter costs one byte a frame and buys this: garbage that arrived before a frame
/// (line noise, a half-sent frame from before a reset) ends at that delimiter and cannot spoil it.
public enum FrameEncoder {
    /// Appends one frame's wire bytes.
    /// - Parameters:
    ///   - frame: the frame; its payload must fit `ProtocolLimits.maxPayloadBytes` (a programmer
    ///     error otherwise: every message of this version fits).
    ///   - output: the bytes to append to.
    public static func encode(_ frame: Frame, into output: inout [UInt8]) {
        var w = ByteWriter()
        w.write(frame.version.byte)
        w.write(frame.message.type.rawValue)
        w.write(frame.sequence)
        frame.message.encodePayload(into: &w)
        precondition(
            w.bytes.count - ProtocolLimits.headerBytes <= ProtocolLimits.maxPayloadBytes,
            "payload exceeds the protocol's maximum")
        let crc = CRC16.checksum(w.bytes)
        w.write(crc)
        output.append(0)
        COBS.encode(w.bytes, into: &output)
        output.append(0)
    }

    /// One frame's wire bytes.
    /// - Parameter frame: the frame.
    /// - Returns: the bytes to write to the line.
    public static func encode(_ frame: Frame) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(ProtocolLimits.maxWireBytes)
        encode(frame, into: &output)
        return output
    }
}
