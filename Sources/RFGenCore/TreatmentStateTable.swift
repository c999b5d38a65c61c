/// What moves a treatment from one phase to another.
public enum PhaseTrigger: String, Sendable, CaseIterable {
    /// An operator's start, accepted.
    case start
    /// The impedance check found a probe in bone: RF goes on.
    case impedanceAccepted = "impedance_accepted"
    /// The tip reached the hold band.
    case bandReached = "band_reached"
    /// The time at temperature is complete: RF off.
    case holdComplete = "hold_complete"
    /// An operator's stop: RF off, no alarm.
    case stop
    /// An alarm latched: an interlock, an emergency stop, a stuck output stage.
    case alarm
    /// An operator's acknowledgement, accepted once the alarms' conditions have cleared.
    case acknowledge
}

/// The treatment state machine, every transition in one table (as h11 keeps its `_state.py`):
/// `TreatmentCore` asserts each phase change against it, and `StateTableTests` writes it and its
/// diagram into docs/STATES.md, so that the docs cannot drift from the code. A (phase, trigger)
/// that is not here is a programming error; a command the phase does not allow is refused
/// before it can become a trigger.
public enum TreatmentStateTable {
    /// What must hold, beyond the trigger itself, for a transition to be taken.
    public enum Condition: String, Hashable, Sendable {
        /// The alarms' conditions have cleared (`TreatmentCore.conditionsPersisting` finds none).
        case conditionsCleared = "conditions_cleared"
    }

    public struct Transition: Hashable, Sendable {
        public var from: TreatmentPhase
        public var trigger: PhaseTrigger
        public var to: TreatmentPhase
        /// Why, in words, for the docs.
        public var note: String
        /// What must hold besides the trigger, if anything.
        public var requires: Condition?

        public init(
            from: TreatmentPhase,
            trigger: PhaseTrigger,
            to: TreatmentPhase,
            note: String,
            requires: Condition? = nil
        ) {
            self.from = from
            self.trigger = trigger
            self.to = to
            self.note = note
            self.requires = requires
        }
    }

    /// The phases in which the core may command RF on. The impedance check's test signal is the
    /// generator's own, under RF off.
    public static let rfPhases: Set<TreatmentPhase> = [.ramp, .hold]

    /// Triggers that every phase must take: an alarm ends whatever is going on.
    public static let takenInEveryPhase: Set<PhaseTrigger> = [.alarm]

    public static let transitions: [Transition] = [
        Transition(from: .idle, trigger: .start, to: .impedanceCheck, note: "the only way towards RF"),
        Transition(from: .done, trigger: .start, to: .impedanceCheck, note: "the next lesion"),
        Transition(from: .stopped, trigger: .start, to: .impedanceCheck, note: "the next lesion"),
        Transition(from: .impedanceCheck, trigger: .impedanceAccepted, to: .ramp, note: "0 W set point, then RF_ON"),
        Transition(from: .ramp, trigger: .bandReached, to: .hold, note: "hold time counts within the band"),
        Transition(from: .hold, trigger: .holdComplete, to: .done, note: "RF_OFF"),
        Transition(from: .impedanceCheck, trigger: .stop, to: .stopped, note: "RF_OFF"),
        Transition(from: .ramp, trigger: .stop, to: .stopped, note: "RF_OFF"),
        Transition(from: .hold, trigger: .stop, to: .stopped, note: "RF_OFF"),
        Transition(from: .impedanceCheck, trigger: .alarm, to: .faulted, note: "RF_OFF first; a failed check too"),
        Transition(from: .ramp, trigger: .alarm, to: .faulted, note: "RF_OFF first"),
        Transition(from: .hold, trigger: .alarm, to: .faulted, note: "RF_OFF first"),
        Transition(from: .idle, trigger: .alarm, to: .faulted, note: "an emergency stop"),
        Transition(from: .done, trigger: .alarm, to: .faulted, note: "an emergency stop, a stuck output stage"),
        Transition(from: .stopped, trigger: .alarm, to: .faulted, note: "an emergency stop, a stuck output stage"),
        Transition(from: .faulted, trigger: .alarm, to: .faulted, note: "stays: one more alarm latched"),
        Transition(
            from: .faulted,
            trigger: .acknowledge,
            to: .idle,
            note: "CLEAR_FAULT",
            requires: .conditionsCleared
        ),
    ]

    /// The phase a trigger leads to from a phase, given what holds; nil when the table has no such
    /// transition or its condition does not hold.
    public static func next(
        from phase: TreatmentPhase,
        on trigger: PhaseTrigger,
        given holding: Set<Condition> = []
    ) -> TreatmentPhase? {
        transitions.first {
            $0.from == phase && $0.trigger == trigger && $0.requires.map { holding.contains($0) } ?? true
        }?.to
    }

    /// The table and a Mermaid state diagram, as docs/STATES.md holds them.
    public static var markdown: String {
        var lines = [
            "# Treatment states",
            "",
            "Written by `StateTableTests` from `TreatmentStateTable` (Sources/RFGenCore/TreatmentStateTable.swift);",
            "do not edit by hand. `TreatmentCore` asserts every phase change against this table. The core",
            "commands RF on only in `ramp` and `hold`; `impedance_check` is the generator's own test signal.",
            "The same table, written as a Promela model (docs/states.pml), is checked exhaustively by spin in",
            "the test command: RF on only after an accepted start and a passed impedance check; every alarm",
            "switches RF off and latches in `faulted`; acknowledgement only from `faulted` once the conditions",
            "have cleared; from every phase a way back to `idle`.",
            "",
            "| from | trigger | requires | to | note |",
            "|---|---|---|---|---|",
        ]
        for t in transitions {
            lines.append(
                "| `\(t.from.rawValue)` | \(t.trigger.rawValue) | \(t.requires?.rawValue ?? "") | `\(t.to.rawValue)` "
                    + "| \(t.note) |"
            )
        }
        lines += ["", "```mermaid", "stateDiagram-v2", "    [*] --> idle"]
        for t in transitions {
            lines.append("    \(t.from.diagramName) --> \(t.to.diagramName): \(t.trigger.rawValue)")
        }
        lines += ["```", ""]
        return lines.joined(separator: "\n")
    }
}

extension TreatmentPhase {
    /// Mermaid's state names take no underscores.
    fileprivate var diagramName: String { rawValue.split(separator: "_").joined() }
}
