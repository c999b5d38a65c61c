/// Every size and range that the wire protocol fixes, in one place.
///
/// `protocol/PROTOCOL.md` is the specification; these constants are its numbers. Tests check the
/// relations between them (a maximal frame fits the decoder's buffer, the largest message fits the
/// payload limit), so a change here that breaks the protocol's arithmetic fails the build's tests.
public enum ProtocolLimits {
    /// Bytes in the frame header: version, type, sequence (2).
    public static let headerBytes = 4
    /// Bytes of the CRC-16 that ends every frame.
    public static let crcBytes = 2
    /// The largest payload a frame may carry.
    public static let maxPayloadBytes = 240
    /// The largest frame before COBS encoding: header, payload and CRC.
    public static let maxFrameBytes = headerBytes + maxPayloadBytes + crcBytes
    /// The smallest frame before COBS encoding: a header and a CRC with no payload.
    public static let minFrameBytes = headerBytes + crcBytes
    /// The largest COBS-encoded frame, delimiters excluded. COBS adds one byte per started run of
    /// 254 bytes; `maxFrameBytes` is below 254, so exactly one.
    public static let maxEncodedBytes = maxFrameBytes + 1
    /// The longest a frame occupies on the wire: a leading and a trailing 0x00 around the COBS bytes.
    public static let maxWireBytes = maxEncodedBytes + 2
    /// Temperature channels a generator may report in one telemetry message.
    public static let temperatureChannels: ClosedRange<Int> = 1...4
    /// The longest model name or serial number, in UTF-8 bytes.
    public static let maxIdentityStringBytes = 32

    /// The watchdog timeouts a host may configure, in milliseconds.
    public static let watchdogMilliseconds: ClosedRange<UInt16> = 50...1000
    /// The watchdog timeout a generator uses after reset until a host configures another.
    public static let defaultWatchdogMilliseconds: UInt16 = 200
    /// The validity a host may give a power set point, in milliseconds.
    public static let setPointValidityMilliseconds: ClosedRange<UInt16> = 10...1000
    /// The durations a host may ask of an impedance check, in milliseconds.
    public static let impedanceCheckMilliseconds: ClosedRange<UInt16> = 20...500
    /// Commands (sequence number, type and reply) a generator remembers so that it answers a retry
    /// without executing the command again; a host may have this many commands in flight.
    public static let rememberedCommands = 8
    /// The telemetry rate a generator uses after reset until a host configures another.
    public static let defaultTelemetryRateHz: UInt16 = 100
}
