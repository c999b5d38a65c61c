import RFGenProtocol

/// What the generator saw and did, kept so that tests can assert from the generator's side when RF
/// really went off, whatever the host believes.
public struct Recorder: Sendable {
    /// A host frame that decoded, with the simulated time it arrived.
    public struct Command: Hashable, Sendable {
        public var microseconds: Int64
        public var frame: Frame
    }

    /// A host frame that did not decode.
    public struct Rejected: Hashable, Sendable {
        public var microseconds: Int64
        public var error: DecodeError
    }

    /// Why the output stage switched.
    public enum Cause: Hashable, Sendable, CustomStringConvertible {
        /// RF_ON or RF_OFF (even a malformed one).
        case command(MessageType)
        /// The generator raised these faults.
        case fault(FaultBits)
        /// An impedance check started or ended.
        case impedanceCheck
        /// The generator reset.
        case reset
        /// An injected `rf stuck` fault ended and the output stage let go.
        case stuckReleased

        /// One word, no spaces: `command:RF_OFF`, `fault:watchdog+impedance`, `reset`.
        public var description: String {
            switch self {
            case .command(let type): "command:\(type)"
            case .fault(let bits):
                "fault:" + FaultBits.names.filter { bits.contains($0.0) }.map(\.1).joined(separator: "+")
            case .impedanceCheck: "impedance_check"
            case .reset: "reset"
            case .stuckReleased: "stuck_released"
            }
        }
    }

    /// A switch of the physical output stage: `on` is true while any power can flow.
    public struct Edge: Hashable, Sendable {
        public var microseconds: Int64
        public var on: Bool
        public var cause: Cause

        public init(microseconds: Int64, on: Bool, cause: Cause) {
            self.microseconds = microseconds
            self.on = on
            self.cause = cause
        }
    }

    public private(set) var commands: [Command] = []
    public private(set) var rejected: [Rejected] = []
    public private(set) var edges: [Edge] = []
    /// Entries not kept because a list was full (`SimulatorLimits.recordedEntries`).
    public private(set) var dropped = 0

    mutating func record(_ command: Command) {
        guard commands.count < SimulatorLimits.recordedEntries else {
            dropped += 1
            return
        }
        commands.append(command)
    }

    mutating func record(_ rejected: Rejected) {
        guard self.rejected.count < SimulatorLimits.recordedEntries else {
            dropped += 1
            return
        }
        self.rejected.append(rejected)
    }

    mutating func record(_ edge: Edge) {
        guard edges.count < SimulatorLimits.recordedEntries else {
            dropped += 1
            return
        }
        edges.append(edge)
    }

    /// The time the output was last switched off, if it is off now.
    public var lastOffMicroseconds: Int64? {
        guard let last = edges.last, !last.on else { return nil }
        return last.microseconds
    }
}
