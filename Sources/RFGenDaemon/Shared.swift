import CLinuxShims
import RFGenCore
import RFGenLink
import RFGenProtocol
import RFGenRecords
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the threads share, each part behind its own lock, held only to copy in or out.
public final class Shared: Sendable {
    /// Link thread → control thread: the newest snapshot. Control thread → link thread: commands.
    struct LinkExchange {
        var snapshot = LinkSnapshot(connected: false)
        var statistics = LinkStatistics()
        var lastSecond: LinkSecond?
        var state = LinkEngine.State.closed
        var outbound: [GeneratorCommand] = []
    }

    /// API → control thread: operator commands with a ticket each; control thread → API: outcomes.
    struct OperatorExchange {
        var queue: [(ticket: UInt64, command: OperatorCommand, level: String, uid: UInt32)] = []
        var outcomes: [UInt64: String?] = [:]
        var nextTicket: UInt64 = 1
    }

    let link = Mutex(LinkExchange())
    let operators = Mutex(OperatorExchange())
    let status = Mutex(DaemonStatus())
    let stopping = Atomic<Bool>(false)
    /// The treatment records, when kept: the API reads them, the record thread writes them.
    let store = Mutex<RecordStore?>(nil)
    /// Written when commands are queued, so that the link thread sends them at once instead of
    /// polling the queue.
    let linkWake: Int32

    public init() {
        linkWake = rfgen_eventfd()
        precondition(linkWake >= 0, "eventfd failed: the daemon cannot wake its link thread")
    }

    deinit { close(linkWake) }

    /// Queues an operator command; nil when the queue is full.
    func submit(_ command: OperatorCommand, level: String = "", uid: UInt32 = 0) -> UInt64? {
        operators.withLock { exchange in
            guard exchange.queue.count < DaemonLimits.operatorQueue else { return nil }
            let ticket = exchange.nextTicket
            exchange.nextTicket += 1
            exchange.queue.append((ticket, command, level, uid))
            return ticket
        }
    }

    /// The outcome of a submitted command once the control tick has taken it: nil refusal means done.
    func outcome(_ ticket: UInt64) -> String?? {
        operators.withLock { $0.outcomes.removeValue(forKey: ticket) }
    }

    /// Queues generator commands for the link thread, RF_OFF never dropped.
    func enqueue(_ commands: [GeneratorCommand]) {
        guard !commands.isEmpty else { return }
        link.withLock { exchange in
            exchange.outbound += commands
            while exchange.outbound.count > DaemonLimits.generatorQueue,
                let oldSetPoint = exchange.outbound.firstIndex(where: { if case .setPower = $0 { true } else { false } }
                )
            {
                exchange.outbound.remove(at: oldSetPoint)
            }
        }
        var one: UInt64 = 1
        _ = write(linkWake, &one, 8)
    }
}

/// What the daemon reports to the API.
public struct DaemonStatus: Sendable {
    public var phase = TreatmentPhase.idle
    public var profile: String?
    public var setPointCelsius = 0.0
    public var holdSeconds = 0.0
    public var energyJoules = 0.0
    public var alarms: [Alarm] = []
    public var linkState = "closed"
    /// The newest telemetry while it is fresh; nil when stale or absent.
    public var telemetry: Telemetry?
    /// Age of the newest telemetry at the last tick, microseconds; nil when none ever arrived.
    public var telemetryAgeMicroseconds: Int64?
    /// Control ticks that missed their deadline, in all and the worst lateness, microseconds.
    public var overruns: UInt64 = 0
    public var worstLatenessMicroseconds: Int64 = 0
    public var latenessP50Microseconds: Int64 = 0
    public var latenessP99Microseconds: Int64 = 0
    public var ticks: UInt64 = 0

    /// One line, `name=value` pairs, for the API's `status`.
    public var line: String {
        var fields: [String] = ["phase=\(phase.rawValue)", "link=\(linkState)"]
        if let profile { fields.append("profile=\(profile)") }
        if let t = telemetry {
            fields.append("rf=\(t.rfState)")
            fields.append("tip_cC=\(t.temperatures.first?.centiCelsius ?? 0)")
            fields.append("power_mW=\(t.powerMilliwatts)")
            fields.append("impedance_dOhm=\(t.impedanceValid ? Int(t.impedanceDeciohms) : -1)")
            fields.append("faults=\(t.faults)")
        } else {
            fields.append("telemetry=" + (telemetryAgeMicroseconds.map { "stale age_ms=\($0 / 1000)" } ?? "none"))
        }
        fields.append("setpoint_cC=\(Int((setPointCelsius * 100).rounded()))")
        fields.append("hold_s=\(Int(holdSeconds))")
        fields.append("energy_J=\(Int(energyJoules))")
        fields.append(
            "ticks=\(ticks) overruns=\(overruns) late_p50_us=\(latenessP50Microseconds) late_p99_us=\(latenessP99Microseconds) late_max_us=\(worstLatenessMicroseconds)"
        )
        fields.append(
            "alarms=\(alarms.isEmpty ? "none" : alarms.map { "\($0.priority):\($0.interlock.rawValue)" }.joined(separator: ","))"
        )
        return fields.joined(separator: " ")
    }
}
