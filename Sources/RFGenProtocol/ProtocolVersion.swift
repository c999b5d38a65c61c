/// A protocol version as carried in the first byte of every frame header: the major version in the
/// high nibble, the minor in the low nibble.
///
/// Peers with different major versions cannot talk. A higher minor version may append fields to
/// the end of a payload; a receiver of a lower minor ignores them.
public struct ProtocolVersion: Hashable, Sendable, CustomStringConvertible {
    /// Incompatible changes raise it.
    public var major: UInt8
    /// Compatible additions (fields appended, new message types) raise it.
    public var minor: UInt8

    /// The version this codebase speaks.
    public static let current = ProtocolVersion(major: 1, minor: 0)

    /// - Parameters:
    ///   - major: 0-15.
    ///   - minor: 0-15.
    public init(major: UInt8, minor: UInt8) {
        precondition(major < 16 && minor < 16, "a protocol version is two nibbles")
        self.major = major
        self.minor = minor
    }

    /// Splits a header's version byte.
    /// - Parameter byte: the byte at offset 0 of a frame.
    public init(byte: UInt8) {
        self.major = byte >> 4
        self.minor = byte & 0x0F
    }

    /// The header byte for this version.
    public var byte: UInt8 { major << 4 | minor }

    public var description: String { "\(major).\(minor)" }
}

extension ProtocolVersion {
    /// Checks that a peer can be talked to: same major version (PROTOCOL.md section 5).
    /// - Parameter peer: the version in the peer's frame header (for a generator, its HELLO's).
    /// - Throws: `IncompatibleVersion`, whose description names both versions.
    public func checkCompatible(withPeer peer: ProtocolVersion) throws(IncompatibleVersion) {
        guard peer.major == major else { throw IncompatibleVersion(ours: self, peer: peer) }
    }
}

/// A peer whose major protocol version differs from ours: it must not be used.
public struct IncompatibleVersion: Error, Hashable, Sendable, CustomStringConvertible {
    public var ours: ProtocolVersion
    public var peer: ProtocolVersion

    public var description: String {
        "generator speaks protocol \(peer); this host speaks \(ours.major).x"
    }
}
