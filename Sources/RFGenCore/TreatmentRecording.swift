import RFGenProtocol

// What the treatment record receives, derived from the control core's actions each tick. Pure
// (the shell injects the wall clock), so that the daemon's record thread persists exactly what
// the deterministic simulation checks.

/// One telemetry sample of a lesion.
public struct LesionSample: Hashable, Sendable, Codable {
    public var microseconds: Int64
    public var tipCentiCelsius: Int16?
    public var powerMilliwatts: UInt32
    public var setPointMilliwatts: UInt32
    public var impedanceDeciohms: UInt32?
    public var rfOn: Bool

    public init(
        microseconds: Int64,
        tipCentiCelsius: Int16?,
        powerMilliwatts: UInt32,
        setPointMilliwatts: UInt32,
        impedanceDeciohms: UInt32?,
        rfOn: Bool
    ) {
        self.microseconds = microseconds
        self.tipCentiCelsius = tipCentiCelsius
        self.powerMilliwatts = powerMilliwatts
        self.setPointMilliwatts = setPointMilliwatts
        self.impedanceDeciohms = impedanceDeciohms
        self.rfOn = rfOn
    }
}

/// An alarm raised during a lesion.
public struct LesionAlarm: Hashable, Sendable, Codable {
    public var microseconds: Int64
    public var interlock: String
    public var priority: String
    public var detail: String

    public init(microseconds: Int64, interlock: String, priority: String, detail: String) {
        self.microseconds = microseconds
        self.interlock = interlock
        self.priority = priority
        self.detail = detail
    }
}

/// A lesion's running totals, as the record keeps them.
public struct LesionSummary: Hashable, Sendable {
    /// Time within the hold band, seconds.
    public var holdSeconds: Double
    public var energyJoules: Double
    public var peakCelsius: Double

    public init(holdSeconds: Double, energyJoules: Double, peakCelsius: Double) {
        self.holdSeconds = holdSeconds
        self.energyJoules = energyJoules
        self.peakCelsius = peakCelsius
    }
}

/// One addition to the treatment record.
public enum RecordEntry: Hashable, Sendable {
    /// A lesion began: its impedance check started.
    case began(profile: String, level: String, operatorUID: UInt32, wallMicroseconds: Int64)
    /// One control tick of a running lesion, with fresh telemetry.
    case sample(LesionSample, LesionSummary)
    /// An alarm. Raised while no lesion runs (a stuck output after the end, an emergency stop
    /// before the next start), it belongs to the last lesion: it happened with that lesion's
    /// probe in place, before another began.
    case alarm(LesionAlarm)
    /// The lesion ended, with its final totals (never dropped, unlike samples).
    case ended(outcome: String, reason: String, summary: LesionSummary, wallMicroseconds: Int64)
    /// After the last lesion ended `done` or `stopped`, and before another began, an alarm latched
    /// (a stuck output stage, an emergency stop) and the daemon went to `faulted`: the record's
    /// outcome follows what the daemon ended in; its end time stays, and `reason` is added to the
    /// reason it ended for.
    case amended(outcome: String, reason: String)

    /// Samples may be dropped when the disk lags; the rest never are.
    public var droppable: Bool { if case .sample = self { true } else { false } }
}

/// Who asked for the lesion that a tick starts.
public struct RecordedStart: Hashable, Sendable {
    public var level: String
    public var operatorUID: UInt32

    public init(level: String, operatorUID: UInt32) {
        self.level = level
        self.operatorUID = operatorUID
    }
}

public enum TreatmentRecording {
    /// What one control tick adds to the record.
    /// - Parameters:
    ///   - actions: the core's actions of this tick, in order.
    ///   - core: the core after the tick.
    ///   - start: the start request this tick carried out, if any.
    ///   - telemetry: the newest telemetry, if fresh (a stale reading is never recorded as current).
    ///   - wall: wall-clock time, microseconds since the Unix epoch, read by the shell.
    public static func entries(
        actions: [CoreAction],
        core: TreatmentCore,
        start: RecordedStart?,
        telemetry: Telemetry?,
        wall: Int64
    ) -> [RecordEntry] {
        var entries: [RecordEntry] = []
        let summary = LesionSummary(
            holdSeconds: core.holdSeconds,
            energyJoules: core.energyJoules,
            peakCelsius: core.peakCelsius
        )
        for action in actions {
            switch action {
            case .phaseChanged(let from, let to):
                if to.beginsLesion(from: from) {
                    entries.append(
                        .began(
                            profile: core.profile?.name ?? "",
                            level: start?.level ?? "",
                            operatorUID: start?.operatorUID ?? 0,
                            wallMicroseconds: wall
                        )
                    )
                } else if to == .faulted && (from == .done || from == .stopped) {
                    entries.append(.amended(outcome: to.rawValue, reason: core.alarms.last.map { "\($0)" } ?? ""))
                } else if to.endsLesion(from: from) {
                    let reason =
                        core.alarms.last.map { "\($0)" } ?? (to == .done ? "hold complete" : "stopped by the operator")
                    entries.append(
                        .ended(outcome: to.rawValue, reason: reason, summary: summary, wallMicroseconds: wall)
                    )
                }
            case .alarm(let alarm):
                entries.append(
                    .alarm(
                        LesionAlarm(
                            microseconds: wall,
                            interlock: alarm.interlock.rawValue,
                            priority: "\(alarm.priority)",
                            detail: alarm.detail
                        )
                    )
                )
            case .generator, .refused:
                break
            }
        }
        if core.phase.isActive, let t = telemetry {
            let sample = LesionSample(
                microseconds: wall,
                tipCentiCelsius: t.temperatures.first.flatMap { $0.status == .ok ? $0.centiCelsius : nil },
                powerMilliwatts: t.powerMilliwatts,
                setPointMilliwatts: t.setPointMilliwatts,
                impedanceDeciohms: t.impedanceValid ? t.impedanceDeciohms : nil,
                rfOn: t.rfState == .on
            )
            entries.append(.sample(sample, summary))
        }
        return entries
    }
}

/// Where each record entry goes: the one routing of entries to lesions, which the daemon's record
/// thread (`RecordWriter`, to the database) and the deterministic simulation (to its copy of the
/// record it checks) both follow. Lesions are numbered from 0 in the order this daemon began them;
/// the writer maps each number to the database's id.
public struct RecordRouter: Sendable {
    /// Where an entry goes.
    public enum Destination: Hashable, Sendable {
        /// A new lesion, numbered.
        case newLesion(Int)
        /// The lesion under way (a sample, an alarm, its end).
        case lesion(Int)
        /// The last lesion, after its end: an alarm raised or an outcome amended before another began.
        case afterEnd(Int)
        /// No lesion since the daemon started (or an amendment while one runs, which the core
        /// never makes): the writer logs it.
        case nowhere
    }

    /// The lesion under way, and the last one begun.
    public private(set) var current: Int?
    public private(set) var last: Int?
    private var begun = 0

    public init() {}

    public mutating func route(_ entry: RecordEntry) -> Destination {
        switch entry {
        case .began:
            current = begun
            last = begun
            begun += 1
            return .newLesion(begun - 1)
        case .sample:
            return current.map(Destination.lesion) ?? .nowhere
        case .alarm:
            if let current { return .lesion(current) }
            return last.map(Destination.afterEnd) ?? .nowhere
        case .amended:
            guard current == nil, let last else { return .nowhere }
            return .afterEnd(last)
        case .ended:
            defer { current = nil }
            return current.map(Destination.lesion) ?? .nowhere
        }
    }
}
