// Procedure sessions (issue 16 item 1): one patient, two to five vertebral levels, a lesion per
// level (retried after a fault, every attempt kept), opened and closed by an operator. The
// daemon keeps them in its records; these are their API forms.

/// `session.open`.
public struct SessionOpenParams: Codable, Hashable, Sendable {
    /// An opaque reference to the patient or encounter in the hospital's own system (an MRN, an
    /// accession or encounter number): never a name. 1-64 letters, digits and `.`, `_`, `-`,
    /// `:`, `/`, so that a name with its spaces cannot be entered by mistake.
    public var patientRef: String
    /// A free-text label for the procedure, e.g. `BVN ablation`; at most 120 characters, printable.
    /// Not a place for identifying data (API.md says so).
    public var procedure: String?
    /// The levels planned, in order: 1 to 5 of L1-L5 and S1.
    public var levels: [String]
    /// A level planned twice is refused unless this is true (two lesions at one level, e.g. one
    /// from each side, on purpose).
    public var allowRepeats: Bool?

    public init(patientRef: String, procedure: String? = nil, levels: [String], allowRepeats: Bool? = nil) {
        self.patientRef = patientRef
        self.procedure = procedure
        self.levels = levels
        self.allowRepeats = allowRepeats
    }

    /// The vertebral bodies a basivertebral nerve ablation may treat.
    public static let treatableLevels = ["L1", "L2", "L3", "L4", "L5", "S1"]
    /// The most levels in one procedure.
    public static let maxLevels = 5
    public static let patientRefBytes = 64
    public static let procedureCharacters = 120

    /// What is wrong with the parameters, naming the key; nil when they can be used.
    public func problem() -> String? {
        let refAllowed = patientRef.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:/".unicodeScalars.contains($0))
        }
        if patientRef.isEmpty || patientRef.utf8.count > Self.patientRefBytes || !refAllowed {
            return "patient_ref must be 1-\(Self.patientRefBytes) letters, digits or . _ - : / "
                + "(an opaque reference such as an MRN or encounter number, never a name)"
        }
        if let procedure {
            if procedure.count > Self.procedureCharacters {
                return "procedure must be at most \(Self.procedureCharacters) characters"
            }
            if procedure.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                return "procedure must be printable text, without control characters"
            }
        }
        if levels.isEmpty || levels.count > Self.maxLevels {
            return "levels must name 1 to \(Self.maxLevels) vertebral levels; got \(levels.count)"
        }
        if let bad = levels.first(where: { !Self.treatableLevels.contains($0) }) {
            return "levels: \"\(bad)\" is not one of \(Self.treatableLevels.joined(separator: ", "))"
        }
        if allowRepeats != true, let repeated = levels.first(where: { level in levels.count { $0 == level } > 1 }) {
            return "levels: \(repeated) is planned twice; say allow_repeats: true if that is meant"
        }
        return nil
    }
}

/// `session.close` and `session.show`: a session's id. `session.close` without one closes the
/// open session; `session.show` without one shows the open session, or else the newest.
public struct SessionParams: Codable, Hashable, Sendable {
    public var id: Int64?

    public init(id: Int64? = nil) { self.id = id }
}

/// `session.list`.
public struct SessionListParams: Codable, Hashable, Sendable {
    /// At most this many, newest first (1-100, default 100).
    public var limit: Int?
    /// Only sessions with a smaller id: the next page.
    public var beforeId: Int64?

    public init(limit: Int? = nil, beforeId: Int64? = nil) {
        self.limit = limit
        self.beforeId = beforeId
    }
}

/// One attempt at a level: a lesion's record.
public struct SessionAttempt: Codable, Hashable, Sendable {
    public var recordId: Int64
    /// `running`, `done`, `stopped`, `faulted`, `aborted`.
    public var outcome: String
    public var complete: Bool?
    public var incompleteReason: String?
    public var startedUs: Int64

    public init(recordId: Int64, outcome: String, complete: Bool?, incompleteReason: String?, startedUs: Int64) {
        self.recordId = recordId
        self.outcome = outcome
        self.complete = complete
        self.incompleteReason = incompleteReason
        self.startedUs = startedUs
    }
}

/// A planned level and what became of it.
public struct SessionLevel: Codable, Hashable, Sendable {
    public var level: String
    /// Every lesion started at this level in the session, oldest first.
    public var attempts: [SessionAttempt]
    /// Whether one of them is complete.
    public var complete: Bool

    public init(level: String, attempts: [SessionAttempt], complete: Bool) {
        self.level = level
        self.attempts = attempts
        self.complete = complete
    }
}

/// A procedure session as `session.*` and `status` show it.
public struct SessionInfo: Codable, Hashable, Sendable {
    public var id: Int64
    public var patientRef: String
    public var procedure: String?
    /// `open` or `closed`.
    public var state: String
    public var plannedLevels: [String]
    public var allowRepeats: Bool
    public var operatorUid: UInt32
    public var openedUs: Int64
    public var openedUtc: String
    public var closedUs: Int64?
    public var closedUtc: String?
    /// Each planned level, in the plan's order (a level planned twice appears twice and shares
    /// its attempts).
    public var levels: [SessionLevel]
    /// How many planned levels are complete, and whether all are.
    public var completeLevels: Int
    public var allComplete: Bool

    public init(
        id: Int64,
        patientRef: String,
        procedure: String?,
        state: String,
        plannedLevels: [String],
        allowRepeats: Bool,
        operatorUid: UInt32,
        openedUs: Int64,
        closedUs: Int64?,
        levels: [SessionLevel]
    ) {
        self.id = id
        self.patientRef = patientRef
        self.procedure = procedure
        self.state = state
        self.plannedLevels = plannedLevels
        self.allowRepeats = allowRepeats
        self.operatorUid = operatorUid
        self.openedUs = openedUs
        self.openedUtc = UTCTime.iso8601(microseconds: openedUs)
        self.closedUs = closedUs
        self.closedUtc = closedUs.map(UTCTime.iso8601(microseconds:))
        self.levels = levels
        completeLevels = levels.count(where: \.complete)
        allComplete = !levels.isEmpty && levels.allSatisfy(\.complete)
    }
}

/// The open session as `status` shows it.
public struct SessionBrief: Codable, Hashable, Sendable {
    public var id: Int64
    public var patientRef: String
    public var levels: [String]

    public init(id: Int64, patientRef: String, levels: [String]) {
        self.id = id
        self.patientRef = patientRef
        self.levels = levels
    }
}
