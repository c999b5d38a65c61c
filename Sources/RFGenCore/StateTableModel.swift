/// The state table as a Promela model for the spin model checker: generated from the one table,
/// never written by hand, so that what spin checks is what the core asserts. `StateTableTests`
/// writes it to docs/states.pml and runs spin on it in the test command.
///
/// The environment offers every trigger in every phase, and the conditions of a guarded
/// transition clear and return at will; the table alone decides what moves. After each move the
/// model asserts the table's properties:
/// - RF is commanded on only after an accepted start and a passed impedance check, both since the
///   treatment last rested;
/// - an alarm leaves RF off and the treatment latched in `faulted`, and every phase takes one;
/// - an acknowledgement moves only out of `faulted`, and only once the conditions have cleared;
/// - a latched alarm and `faulted` go together.
/// Compiled with `-DHOME_FROM=<phase>`, the model starts in that phase and asserts it never
/// reaches `idle`: spin refuting that assertion is the proof that `idle` can be reached from
/// there (a way back, which an assertion over every path cannot state).
extension TreatmentStateTable {
    /// The model of `transitions` (the table by default; a test passes a broken one).
    public static func promela(_ transitions: [Transition] = transitions) -> String {
        let phases = TreatmentPhase.allCases
        let triggers = PhaseTrigger.allCases
        func p(_ phase: TreatmentPhase) -> String { "P_" + phase.rawValue }
        func t(_ trigger: PhaseTrigger) -> String { "T_" + trigger.rawValue }
        func any(_ set: [TreatmentPhase]) -> String {
            set.isEmpty ? "false" : "(" + set.map { "phase == \(p($0))" }.joined(separator: " || ") + ")"
        }
        var lines = [
            "/* Written by StateTableTests from TreatmentStateTable (Sources/RFGenCore/TreatmentStateTable.swift",
            "   and StateTableModel.swift); do not edit by hand. spin checks it in the test command. */",
            "",
        ]
        for (i, phase) in phases.enumerated() { lines.append("#define \(p(phase)) \(i)") }
        for (i, trigger) in triggers.enumerated() { lines.append("#define \(t(trigger)) \(i)") }
        lines += [
            "",
            "#ifdef HOME_FROM",
            "#define PROPERTY(c) skip",
            "#define HOME assert(phase != P_idle)",
            "byte phase = HOME_FROM;",
            "#else",
            "#define PROPERTY(c) assert(c)",
            "#define HOME skip",
            "byte phase = P_idle;",
            "#endif",
            "",
            "byte from;       /* the phase before the last move */",
            "bool started;    /* an accepted start since the treatment last rested */",
            "bool checked;    /* a passed impedance check since then */",
            "bool latched;    /* an alarm latched and not yet acknowledged */",
            "bool cleared;    /* the alarms' conditions have cleared (the environment's choice) */",
            "bool rf;         /* RF commanded on */",
            "",
            "inline move(to, trigger) {",
            "    from = phase;",
            "    phase = to;",
            "    if :: trigger == \(t(.start)) -> started = true :: else -> skip fi;",
            "    if :: trigger == \(t(.impedanceAccepted)) -> checked = true :: else -> skip fi;",
            "    if :: trigger == \(t(.alarm)) -> latched = true :: else -> skip fi;",
            "    if :: trigger == \(t(.acknowledge)) -> latched = false :: else -> skip fi;",
            "    rf = \(any(phases.filter { rfPhases.contains($0) }));",
            "    if :: !\(any(phases.filter(\.isActive))) -> started = false; checked = false :: else -> skip fi;",
            "    PROPERTY(!rf || (started && checked));",
            "    PROPERTY(trigger != \(t(.alarm)) || (phase == \(p(.faulted)) && !rf && latched));",
            "    PROPERTY(trigger != \(t(.acknowledge)) || (from == \(p(.faulted)) && cleared));",
            "    PROPERTY(latched == (phase == \(p(.faulted))));",
            "    HOME",
            "}",
            "",
            "active proctype treatment() {",
            "#ifdef HOME_FROM",
            "    latched = (phase == \(p(.faulted)));",
            "#endif",
            "    do",
        ]
        for transition in transitions {
            let guardText = transition.requires.map { condition in
                switch condition {
                case .conditionsCleared: " && cleared"
                }
            }
            lines.append(
                "    :: atomic { phase == \(p(transition.from))\(guardText ?? "") -> "
                    + "move(\(p(transition.to)), \(t(transition.trigger))) }  /* \(transition.trigger.rawValue) */"
            )
        }
        for trigger in triggers where takenInEveryPhase.contains(trigger) {
            let taking = Set(transitions.filter { $0.trigger == trigger }.map(\.from))
            let missing = phases.filter { !taking.contains($0) }
            if !missing.isEmpty {
                lines.append(
                    "    :: atomic { \(any(missing)) -> PROPERTY(false) }  /* \(trigger.rawValue) not taken here */"
                )
            }
        }
        lines += [
            "    :: cleared = true   /* the conditions clear */",
            "    :: cleared = false  /* or come back */",
            "    od",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
