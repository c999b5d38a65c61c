#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every bound of the simulator, in one place.
public enum SimulatorLimits {
    /// Generator output not yet taken by the transport. A real UART sends regardless of whether
    /// anyone listens; past this the simulator drops output and counts it.
    public static let outputBufferBytes = 64 * 1024
    /// Entries the recorder keeps of each kind (commands, rejected frames, RF edges); later ones are
    /// counted as dropped. 15 minutes of commands at 200 a second is 180,000.
    public static let recordedEntries = 1_000_000
    /// Garbage bytes one `garbage` command may inject.
    public static let garbageBytes = 1_000_000
    /// The physical output stage's ceiling as a multiple of the advertised power limit; a broken
    /// regulator (the `power` fault) can push output up to here, and the generator's over-power
    /// monitor trips above `overPowerTolerance`.
    public static let outputStageCeiling = 1.25
    /// Delivered power above `max_power_mW` times this raises the `over_power` fault.
    public static let overPowerTolerance = 1.05
    /// Clients the control socket serves at once; one more is refused with an error line.
    public static let controlClients = 4
    /// The longest control line; a longer one is answered with an error and discarded.
    public static let controlLineBytes = 256
    /// Host reaction times `rfgen-sim` keeps for `reactions` (`measure`); later ones are dropped.
    public static let reactionSamples = 10_000
    /// A `measure` whose RF_OFF has not come this long after the fault showed is counted missed, µs.
    public static let reactionTimeoutMicroseconds: Int64 = 2_000_000
    /// The newest RF edges `edges` reports.
    public static let reportedEdges = 64
    /// Below this RMS current impedance is not measurable, amperes.
    public static let minimumMeasurableCurrent = 0.001
}

/// A small, fast, seedable generator (SplitMix64, Steele et al. 2014), so that a seed fixes every
/// random choice of the simulator on every platform. Not for cryptography.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// - Parameter seed: any value; equal seeds give equal sequences.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A normally distributed value (Box-Muller).
    public mutating func gaussian(standardDeviation: Double) -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return standardDeviation * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
