import RFGenProtocol

// What the treatment record receives, derived from the control core's actions each tick. Pure
// (the shell injects the wall clock), so that the daemon's record thread persists exactly what
// the deterministic simulation checks.

/// One telemetry sample of a lesion, in the wire's units (exact, compact); exports convert.
public struct LesionSample: Hashable, Sendable, Codable {
    public var microseconds: Int64
    /// Temperature channel 0 (the tip) and channel 1, centi-°C; nil when the channel is not ok
    /// or absent.
    public var tipCentiCelsius: Int16?
    public var secondCentiCelsius: Int16?
    public var powerMilliwatts: UInt32
    public var setPointMilliwatts: UInt32
    public var impedanceDeciohms: UInt32?
    public var rfOn: Bool
    /// The treatment phase at this sample; nil in records made before it was kept.
    public var phase: TreatmentPhase?
    /// The ramped temperature set point in force, °C.
    public var targetCelsius: Double?
    /// The tip's CEM43 dose so far, minutes, and the estimated lesion diameter, mm.
    public var doseCEM43Minutes: Double?
    public var diameterMillimetres: Double?

    public init(
        microseconds: Int64,
        tipCentiCelsius: Int16?,
        secondCentiCelsius: Int16? = nil,
        powerMilliwatts: UInt32,
        setPointMilliwatts: UInt32,
        impedanceDeciohms: UInt32?,
        rfOn: Bool,
        phase: TreatmentPhase? = nil,
        targetCelsius: Double? = nil,
        doseCEM43Minutes: Double? = nil,
        diameterMillimetres: Double? = nil
    ) {
        self.microseconds = microseconds
        self.tipCentiCelsius = tipCentiCelsius
        self.secondCentiCelsius = secondCentiCelsius
        self.powerMilliwatts = powerMilliwatts
        self.setPointMilliwatts = setPointMilliwatts
        self.impedanceDeciohms = impedanceDeciohms
        self.rfOn = rfOn
        self.phase = phase
        self.targetCelsius = targetCelsius
        self.doseCEM43Minutes = doseCEM43Minutes
        self.diameterMillimetres = diameterMillimetres
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
    /// The tip's CEM43 dose, minutes, and the estimated lesion diameter, mm (`ThermalDose`).
    public var doseCEM43Minutes: Double
    public var diameterMillimetres: Double

    public init(
        holdSeconds: Double,
        energyJoules: Double,
        peakCelsius: Double,
        doseCEM43Minutes: Double = 0,
        diameterMillimetres: Double = 0
    ) {
        self.holdSeconds = holdSeconds
        self.energyJoules = energyJoules
        self.peakCelsius = peakCelsius
        self.doseCEM43Minutes = doseCEM43Minutes
        self.diameterMillimetres = diameterMillimetres
    }
}

/// A lesion's start, as the record keeps it: what was asked, by whom, and with which generator.
public struct LesionStart: Hashable, Sendable {
    /// The profile as used (with a start's shorter hold, if one was asked).
    public var profile: TreatmentProfile
    public var level: String
    public var operatorUID: UInt32
    /// The generator as its HELLO named it; nil only if the link had none (never for a lesion
    /// the core began, which needs a connected generator).
    public var generator: GeneratorIdentity?
    public var wallMicroseconds: Int64
    /// The procedure session it belongs to; nil for a lesion started outside one.
    public var session: Int64?

    public init(
        profile: TreatmentProfile,
        level: String,
        operatorUID: UInt32,
        generator: GeneratorIdentity?,
        wallMicroseconds: Int64,
        session: Int64? = nil
    ) {
        self.profile = profile
        self.level = level
        self.operatorUID = operatorUID
        self.generator = generator
        self.wallMicroseconds = wallMicroseconds
        self.session = session
    }
}

/// A lesion's end, as the record keeps it.
public struct LesionEnd: Hashable, Sendable {
    /// `done`, `stopped` or `faulted`.
    public var outcome: String
    /// In words: the alarm that ended it, `hold complete`, `stopped by the operator`.
    public var reason: String
    /// The final totals.
    public var summary: LesionSummary
    /// Why it falls short of its profile (`LesionCompleteness`); nil when complete.
    public var shortfall: String?
    public var wallMicroseconds: Int64

    public init(outcome: String, reason: String, summary: LesionSummary, shortfall: String?, wallMicroseconds: Int64) {
        self.outcome = outcome
        self.reason = reason
        self.summary = summary
        self.shortfall = shortfall
        self.wallMicroseconds = wallMicroseconds
    }
}

/// One addition to the treatment record.
public enum RecordEntry: Hashable, Sendable {
    /// A lesion began: its impedance check started.
    case began(LesionStart)
    /// One control tick of a running lesion, with fresh telemetry.
    case sample(LesionSample, LesionSummary)
    /// An alarm. Raised while no lesion runs (a stuck output after the end, an emergency stop
    /// before the next start), it belongs to the last lesion: it happened with that lesion's
    /// probe in place, before another began.
    case alarm(LesionAlarm)
    /// The lesion ended, with its final totals (never dropped, unlike samples).
    case ended(LesionEnd)
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
    /// The procedure session it belongs to, if any.
    public var session: Int64?

    public init(level: String, operatorUID: UInt32, session: Int64? = nil) {
        self.level = level
        self.operatorUID = operatorUID
        self.session = session
    }
}

public enum TreatmentRecording {
    /// What one control tick adds to the record.
    /// - Parameters:
    ///   - actions: the core's actions of this tick, in order.
    ///   - core: the core after the tick.
    ///   - start: the start request this tick carried out, if any.
    ///   - telemetry: the newest telemetry, if fresh (a stale reading is never recorded as current).
    ///   - generator: the generator as the link's handshake named it.
    ///   - wall: wall-clock time, microseconds since the Unix epoch, read by the shell.
    public static func entries(
        actions: [CoreAction],
        core: TreatmentCore,
        start: RecordedStart?,
        telemetry: Telemetry?,
        generator: GeneratorIdentity?,
        wall: Int64
    ) -> [RecordEntry] {
        var entries: [RecordEntry] = []
        let summary = LesionSummary(
            holdSeconds: core.holdSeconds,
            energyJoules: core.energyJoules,
            peakCelsius: core.peakCelsius,
            doseCEM43Minutes: core.dose.tipMinutes,
            diameterMillimetres: core.dose.diameterMillimetres
        )
        for action in actions {
            switch action {
            case .phaseChanged(let from, let to):
                if to.beginsLesion(from: from), let profile = core.profile {
                    entries.append(
                        .began(
                            LesionStart(
                                profile: profile,
                                level: start?.level ?? "",
                                operatorUID: start?.operatorUID ?? 0,
                                generator: generator,
                                wallMicroseconds: wall,
                                session: start?.session
                            )
                        )
                    )
                } else if to == .faulted && (from == .done || from == .stopped) {
                    entries.append(.amended(outcome: to.rawValue, reason: core.alarms.last.map { "\($0)" } ?? ""))
                } else if to.endsLesion(from: from) {
                    let reason =
                        core.alarms.last.map { "\($0)" } ?? (to == .done ? "hold complete" : "stopped by the operator")
                    entries.append(
                        .ended(
                            LesionEnd(
                                outcome: to.rawValue,
                                reason: reason,
                                summary: summary,
                                shortfall: core.shortfall,
                                wallMicroseconds: wall
                            )
                        )
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
        // A sample each step of an active lesion, and of the step that ended it: the reading that
        // tripped an interlock is the one an auditor (and rfgen-replay) needs most. It goes after
        // the start and ahead of the step's alarms and end.
        let ended = actions.contains { if case .phaseChanged(let from, _) = $0 { from.isActive } else { false } }
        if core.phase.isActive || ended, let t = telemetry {
            func channel(_ index: Int) -> Int16? {
                guard t.temperatures.indices.contains(index), t.temperatures[index].status == .ok else { return nil }
                return t.temperatures[index].centiCelsius
            }
            let sample = LesionSample(
                microseconds: wall,
                tipCentiCelsius: channel(0),
                secondCentiCelsius: channel(1),
                powerMilliwatts: t.powerMilliwatts,
                setPointMilliwatts: t.setPointMilliwatts,
                impedanceDeciohms: t.impedanceValid ? t.impedanceDeciohms : nil,
                rfOn: t.rfState == .on,
                phase: core.phase,
                targetCelsius: core.setPointCelsius,
                doseCEM43Minutes: summary.doseCEM43Minutes,
                diameterMillimetres: summary.diameterMillimetres
            )
            let at = (entries.lastIndex { if case .began = $0 { true } else { false } }).map { $0 + 1 } ?? 0
            entries.insert(.sample(sample, summary), at: at)
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
