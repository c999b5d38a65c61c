/// Turns frames into wire bytes: 0x00, COBS(header ‖ payload ‖ CRC), 0x00.
///
/// The leading delimiter costs one byte a frame and buys this: garbage that arrived before a frame
/// (line noise, a half-sent frame from before a reset) ends at that delimiter and cannot spoil it.
public enum FrameEncoder {
    /// Appends one frame's wire bytes. The frame is built on the stack and COBS-encoded straight
    /// into `output`: with capacity reserved there (`ProtocolLimits.maxWireBytes` a frame), encoding
    /// touches no heap (issue 19).
    /// - Parameters:
    ///   - frame: the frame; its payload must fit `ProtocolLimits.maxPayloadBytes` (a programmer
    ///     error otherwise: every message of this version fits).
    ///   - output: the bytes to append to.
    public static func encode(_ frame: Frame, into output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: ProtocolLimits.maxFrameBytes, alignment: 1) { buffer in
            var w = ByteWriter(buffer)
            w.write(frame.version.byte)
            w.write(frame.message.type.rawValue)
            w.write(frame.sequence)
            frame.message.encodePayload(into: &w)
            precondition(
                w.count <= ProtocolLimits.headerBytes + ProtocolLimits.maxPayloadBytes,
                "payload exceeds the protocol's maximum"
            )
            finish(&w, into: &output)
        }
    }

    /// Appends the wire bytes of a header and an arbitrary payload, valid or not: for tests, fuzzers
    /// and tools that must produce frames this version would never send (another version, an
    /// unknown type, a malformed or oversized payload). Framing and CRC are always correct.
    /// - Parameters:
    ///   - versionByte: header byte 0.
    ///   - typeByte: header byte 1.
    ///   - sequence: header bytes 2-3.
    ///   - payload: the payload bytes as they are.
    ///   - output: the bytes to append to.
    public static func encode(
        versionByte: UInt8,
        typeByte: UInt8,
        sequence: UInt16,
        payload: some Collection<UInt8>,
        into output: inout [UInt8]
    ) {
        let size = ProtocolLimits.headerBytes + payload.count + ProtocolLimits.crcBytes
        withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { buffer in
            var w = ByteWriter(buffer)
            w.write(versionByte)
            w.write(typeByte)
            w.write(sequence)
            w.write(contentsOf: payload)
            finish(&w, into: &output)
        }
    }

    /// Adds the CRC to a header and payload and appends the delimited COBS bytes.
    private static func finish(_ w: inout ByteWriter, into output: inout [UInt8]) {
        w.write(CRC16.checksum(w.written))
        output.append(0)
        COBS.encode(w.written, into: &output)
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
