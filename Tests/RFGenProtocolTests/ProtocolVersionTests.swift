import RFGenProtocol
import Testing

struct ProtocolVersionTests {
    @Test("The version byte splits into major and minor nibbles and back")
    func nibbles() {
        #expect(ProtocolVersion.current.byte == 0x10)
        #expect(ProtocolVersion(byte: 0x2F) == ProtocolVersion(major: 2, minor: 15))
        for byte in UInt8.min...UInt8.max { #expect(ProtocolVersion(byte: byte).byte == byte) }
    }

    @Test("Another minor version is compatible; another major is refused, naming both versions")
    func compatibility() throws {
        try ProtocolVersion.current.checkCompatible(withPeer: ProtocolVersion(major: 1, minor: 7))
        #expect {
            try ProtocolVersion.current.checkCompatible(withPeer: ProtocolVersion(major: 2, minor: 1))
        } throws: { error in
            "\(error)" == "generator speaks protocol 2.1; this host speaks 1.x"
        }
    }
}
