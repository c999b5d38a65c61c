import Foundation
import GRDB
import RFGenAPI
import RFGenCore

/// One lesion as recorded.
public struct LesionRecord: Hashable, Sendable {
    public var id: Int64
    public var profile: String
    /// The vertebral level the operator named, e.g. "L4".
    public var level: String
    /// The operator's uid, from the API connection's peer credentials.
    public var operatorUID: UInt32
    /// Wall-clock start and end, microseconds since the Unix epoch (the store reads no clock).
    public var startedMicroseconds: Int64
    public var endedMicroseconds: Int64?
    /// `running` while the lesion goes on; then `done`, `stopped`, `faulted`, or `aborted` (the
    /// daemon stopped without ending it: found on the next start).
    public var outcome: String
    public var endReason: String?
    public var holdSeconds: Double
    public var energyJoules: Double
    public var peakCelsius: Double
    // Kept since schema v3 ("v3: medical record"); nil in a record made before.
    /// The tip's CEM43 dose, minutes, and the estimated lesion diameter, mm.
    public var doseCEM43Minutes: Double?
    public var diameterMillimetres: Double?
    /// Whether it delivered what its profile asks; nil while it runs and in older records.
    public var complete: Bool?
    public var shortfall: String?
    /// The profile's parameters as used.
    public var profileParameters: TreatmentProfile?
    public var generator: GeneratorIdentity?
    public var daemonVersion: String?
    /// The procedure session it belongs to (schema v4); nil for a lesion started outside one.
    public var session: Int64?
}

/// A procedure session as recorded.
public struct ProcedureRecord: Hashable, Sendable {
    public var id: Int64
    /// The hospital's opaque reference to the patient or encounter (never a name).
    public var patientRef: String
    public var procedure: String?
    public var levels: [String]
    public var allowRepeats: Bool
    public var operatorUID: UInt32
    public var openedMicroseconds: Int64
    /// nil while it is open.
    public var closedMicroseconds: Int64?
}

/// Treatment records in SQLite (WAL, synchronous FULL): every lesion with its summary, alarms and
/// full telemetry. The daemon's record thread owns it and commits at most once a second, so a
/// daemon killed mid-lesion loses at most the last second; `recoverInterrupted` marks what such a
/// crash left running as aborted.
public final class RecordStore: Sendable {
    /// The writing connection's page cache, KiB.
    public static let pageCacheKiB = 512
    let database: DatabaseQueue
    /// The file's path, and which file it named when the store opened it (device and inode).
    public let path: String
    private let identity: (device: UInt64, inode: UInt64)?

    /// Opens (creating or migrating) the store.
    /// - Parameter path: the database file, e.g. STATE_DIR/records.sqlite.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            // Each commit reaches the disk before the next second's samples are taken.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // SQLite's default page cache grows to 2 MiB; the store appends and rarely reads
            // back, so a smaller one costs nothing and bounds the daemon's memory (issue 19).
            try db.execute(sql: "PRAGMA cache_size = -\(Self.pageCacheKiB)")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        identity = Self.fileIdentity(path)
    }

    /// Opens an existing store to read, changing nothing: no migration, no journal mode, so that a
    /// tool (rfgen-replay) may read a running daemon's records. A store of another schema than
    /// this build's is refused rather than misread.
    public init(readingOnly path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        database = try DatabaseQueue(path: path, configuration: configuration)
        let current = try database.read { db in try Self.migrator.hasCompletedMigrations(db) }
        guard current else {
            throw RecordError("\(path) is not a records database of this build's schema")
        }
        identity = Self.fileIdentity(path)
    }

    private static func fileIdentity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Why what is written goes nowhere durable, or nil: the database file was removed (or
    /// replaced) while the store has it open. SQLite goes on writing into the unlinked file,
    /// which vanishes with the process; nothing else would notice.
    public func fileProblem() -> String? {
        guard let identity else { return nil }
        guard let now = Self.fileIdentity(path) else {
            return "\(path) was deleted while rfgend runs: records written now are lost when it stops; restart rfgend"
        }
        guard now == identity else {
            return
                "\(path) was replaced while rfgend runs: records go to the old file, lost when it stops; restart rfgend"
        }
        return nil
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "lesion") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("profile", .text).notNull()
                t.column("level", .text).notNull()
                t.column("operatorUID", .integer).notNull()
                t.column("startedMicroseconds", .integer).notNull()
                t.column("endedMicroseconds", .integer)
                t.column("outcome", .text).notNull()
                t.column("endReason", .text)
                t.column("holdSeconds", .double).notNull()
                t.column("energyJoules", .double).notNull()
                t.column("peakCelsius", .double).notNull()
            }
            try db.create(table: "sample") { t in
                t.column("lesionID", .integer).notNull().references("lesion")
                t.column("microseconds", .integer).notNull()
                t.column("tipCentiCelsius", .integer)
                t.column("powerMilliwatts", .integer).notNull()
                t.column("setPointMilliwatts", .integer).notNull()
                t.column("impedanceDeciohms", .integer)
                t.column("rfOn", .boolean).notNull()
            }
            try db.create(index: "sampleByLesion", on: "sample", columns: ["lesionID", "microseconds"])
            try db.create(table: "alarm") { t in
                t.column("lesionID", .integer).notNull().references("lesion")
                t.column("microseconds", .integer).notNull()
                t.column("interlock", .text).notNull()
                t.column("priority", .text).notNull()
                t.column("detail", .text).notNull()
            }
        }
        migrator.registerMigration("v2: event sequence") { db in
            try db.create(table: "sequence") { t in
                t.primaryKey("id", .integer)
                t.column("seq", .integer).notNull()
                t.column("clean", .boolean).notNull()
            }
        }
        // What a medical record needs of each lesion (issue 16). Columns are only added: a
        // lesion recorded before keeps every value it had, and the new ones are NULL (unknown),
        // never a made-up default.
        migrator.registerMigration("v3: medical record") { db in
            try db.alter(table: "lesion") { t in
                t.add(column: "doseCEM43Minutes", .double)
                t.add(column: "diameterMillimetres", .double)
                t.add(column: "complete", .boolean)
                t.add(column: "shortfall", .text)
                t.add(column: "generatorModel", .text)
                t.add(column: "generatorSerial", .text)
                t.add(column: "generatorFirmware", .text)
                t.add(column: "daemonVersion", .text)
                t.add(column: "setPointCelsius", .double)
                t.add(column: "rampCelsiusPerSecond", .double)
                t.add(column: "holdTargetSeconds", .double)
                t.add(column: "holdBandCelsius", .double)
                t.add(column: "powerLimitWatts", .double)
                t.add(column: "energyCapJoules", .double)
                t.add(column: "minimumDoseCEM43Minutes", .double)
            }
            try db.alter(table: "sample") { t in
                t.add(column: "secondCentiCelsius", .integer)
                t.add(column: "phase", .text)
                t.add(column: "targetCelsius", .double)
                t.add(column: "doseCEM43Minutes", .double)
                t.add(column: "diameterMillimetres", .double)
            }
        }
        // Procedure sessions: a patient's levels, and which lesions belong to which session. A
        // lesion recorded before has no session (NULL), as it was started outside one.
        migrator.registerMigration("v4: procedure sessions") { db in
            try db.create(table: "procedure") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("patientRef", .text).notNull()
                t.column("procedure", .text)
                // The planned levels in order, comma-separated (each is L1-L5 or S1).
                t.column("levels", .text).notNull()
                t.column("allowRepeats", .boolean).notNull()
                t.column("operatorUID", .integer).notNull()
                t.column("openedMicroseconds", .integer).notNull()
                t.column("closedMicroseconds", .integer)
            }
            try db.alter(table: "lesion") { t in
                t.add(column: "sessionID", .integer).references("procedure")
            }
        }
        // Power-controlled profiles beside temperature-controlled ones. NULL in older records,
        // which were all temperature-controlled (the only mode there was).
        migrator.registerMigration("v5: control mode") { db in
            try db.alter(table: "lesion") { t in t.add(column: "controlMode", .text) }
        }
        return migrator
    }

    /// Starts a lesion's record.
    /// - Parameter daemonVersion: the version of the daemon that runs it.
    /// - Returns: its id.
    public func begin(_ start: LesionStart, daemonVersion: String) throws -> Int64 {
        try database.write { db in
            let p = start.profile
            try db.execute(
                sql: """
                    INSERT INTO lesion (profile, level, operatorUID, startedMicroseconds, outcome, holdSeconds,
                    energyJoules, peakCelsius, doseCEM43Minutes, diameterMillimetres, generatorModel, generatorSerial,
                    generatorFirmware, daemonVersion, setPointCelsius, rampCelsiusPerSecond, holdTargetSeconds,
                    holdBandCelsius, powerLimitWatts, energyCapJoules, minimumDoseCEM43Minutes, sessionID, controlMode)
                    VALUES (?, ?, ?, ?, 'running', 0, 0, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    p.name, start.level, Int64(start.operatorUID), start.wallMicroseconds, start.generator?.model,
                    start.generator?.serialNumber, start.generator?.firmware, daemonVersion, p.setPointCelsius,
                    p.rampCelsiusPerSecond, p.holdSeconds, p.holdBandCelsius, p.powerLimitWatts, p.energyCapJoules,
                    p.minimumDoseCEM43Minutes, start.session, p.mode.rawValue,
                ]
            )
            return db.lastInsertedRowID
        }
    }

    /// Appends a batch of samples and alarms and updates the running summary, in one transaction.
    /// - Parameter summary: the lesion's totals as of this batch; nil leaves them as they are (a
    ///   batch of alarms raised after the lesion ended, or one whose samples the queue dropped).
    public func append(
        lesion id: Int64,
        samples: [LesionSample],
        alarms: [LesionAlarm] = [],
        summary: LesionSummary?
    ) throws {
        try database.write { db in
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO sample (lesionID, microseconds, tipCentiCelsius, secondCentiCelsius, powerMilliwatts,
                    setPointMilliwatts, impedanceDeciohms, rfOn, phase, targetCelsius, doseCEM43Minutes,
                    diameterMillimetres) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for s in samples {
                try insert.execute(arguments: [
                    id, s.microseconds, s.tipCentiCelsius.map { Int64($0) }, s.secondCentiCelsius.map { Int64($0) },
                    Int64(s.powerMilliwatts), Int64(s.setPointMilliwatts), s.impedanceDeciohms.map { Int64($0) },
                    s.rfOn, s.phase?.rawValue, s.targetCelsius, s.doseCEM43Minutes, s.diameterMillimetres,
                ])
            }
            for a in alarms {
                try db.execute(
                    sql:
                        "INSERT INTO alarm (lesionID, microseconds, interlock, priority, detail) VALUES (?, ?, ?, ?, ?)",
                    arguments: [id, a.microseconds, a.interlock, a.priority, a.detail]
                )
            }
            if let summary { try Self.update(db, lesion: id, summary) }
        }
    }

    private static func update(_ db: Database, lesion id: Int64, _ summary: LesionSummary) throws {
        try db.execute(
            sql: """
                UPDATE lesion SET holdSeconds = ?, energyJoules = ?, peakCelsius = ?, doseCEM43Minutes = ?,
                diameterMillimetres = ? WHERE id = ?
                """,
            arguments: [
                summary.holdSeconds, summary.energyJoules, summary.peakCelsius, summary.doseCEM43Minutes,
                summary.diameterMillimetres, id,
            ]
        )
    }

    /// Ends a lesion's record, with its final totals and whether it is complete, in one
    /// transaction.
    public func finish(lesion id: Int64, _ end: LesionEnd) throws {
        try database.write { db in
            try Self.update(db, lesion: id, end.summary)
            try db.execute(
                sql: """
                    UPDATE lesion SET outcome = ?, endReason = ?, endedMicroseconds = ?, complete = ?, shortfall = ?
                    WHERE id = ?
                    """,
                arguments: [end.outcome, end.reason, end.wallMicroseconds, end.shortfall == nil, end.shortfall, id]
            )
        }
    }

    /// Changes an ended lesion's outcome, keeping its end time, and adds to its reason: for an
    /// alarm that latched after the lesion ended and before another began (`RecordEntry.amended`).
    public func amend(lesion id: Int64, outcome: String, reason: String) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE lesion SET outcome = ?, endReason = endReason || '; then ' || ? WHERE id = ?",
                arguments: [outcome, reason, id]
            )
        }
    }

    /// Marks every lesion still `running` as `aborted`: called once when the daemon starts, since no
    /// lesion survives a restart.
    /// - Returns: the ids marked.
    public func recoverInterrupted(at microseconds: Int64) throws -> [Int64] {
        try database.write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM lesion WHERE outcome = 'running'")
            try db.execute(
                sql: """
                    UPDATE lesion SET outcome = 'aborted', endReason = 'the daemon stopped during the lesion',
                    endedMicroseconds = COALESCE((SELECT MAX(microseconds) FROM sample WHERE lesionID = lesion.id), ?),
                    complete = 0, shortfall = 'aborted: the daemon stopped during the lesion'
                    WHERE outcome = 'running'
                    """,
                arguments: [microseconds]
            )
            return ids
        }
    }

    /// Every lesion, newest first.
    public func lesions() throws -> [LesionRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM lesion ORDER BY id DESC").map(Self.lesion)
        }
    }

    /// A page of lesions, newest first: at most `limit`, with ids below `beforeID` when given.
    public func lesions(limit: Int, beforeID: Int64?) throws -> [LesionRecord] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM lesion WHERE id < ? ORDER BY id DESC LIMIT ?",
                arguments: [beforeID ?? Int64.max, limit]
            ).map(Self.lesion)
        }
    }

    /// Lesions matching an SQL condition (and its order), from the store's own queries only.
    func lesions(where condition: String, _ arguments: StatementArguments) throws -> [LesionRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM lesion WHERE " + condition, arguments: arguments).map(Self.lesion)
        }
    }

    public func lesion(id: Int64) throws -> LesionRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM lesion WHERE id = ?", arguments: [id]).map(Self.lesion)
        }
    }

    public func sampleCount(lesion id: Int64) throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sample WHERE lesionID = ?", arguments: [id]) ?? 0
        }
    }

    /// The API's event numbering as last saved: the number, and whether the daemon that saved it
    /// stopped cleanly (then it is exactly the last number issued; otherwise a checkpoint that
    /// up to a second of events may have passed).
    public func sequence() throws -> (seq: UInt64, clean: Bool)? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT seq, clean FROM sequence WHERE id = 1") else {
                return nil
            }
            return (UInt64(bitPattern: row["seq"] as Int64), row["clean"] as Bool)
        }
    }

    public func saveSequence(_ seq: UInt64, clean: Bool) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO sequence (id, seq, clean) VALUES (1, ?, ?)",
                arguments: [Int64(bitPattern: seq), clean]
            )
        }
    }

    public func samples(lesion id: Int64) throws -> [LesionSample] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sample WHERE lesionID = ? ORDER BY microseconds", arguments: [id])
                .map {
                    LesionSample(
                        microseconds: $0["microseconds"],
                        tipCentiCelsius: ($0["tipCentiCelsius"] as Int64?).map { Int16(truncatingIfNeeded: $0) },
                        secondCentiCelsius: ($0["secondCentiCelsius"] as Int64?).map { Int16(truncatingIfNeeded: $0) },
                        powerMilliwatts: UInt32(truncatingIfNeeded: $0["powerMilliwatts"] as Int64),
                        setPointMilliwatts: UInt32(truncatingIfNeeded: $0["setPointMilliwatts"] as Int64),
                        impedanceDeciohms: ($0["impedanceDeciohms"] as Int64?).map { UInt32(truncatingIfNeeded: $0) },
                        rfOn: $0["rfOn"],
                        phase: ($0["phase"] as String?).flatMap(TreatmentPhase.init(rawValue:)),
                        targetCelsius: $0["targetCelsius"],
                        doseCEM43Minutes: $0["doseCEM43Minutes"],
                        diameterMillimetres: $0["diameterMillimetres"]
                    )
                }
        }
    }

    public func alarms(lesion id: Int64) throws -> [LesionAlarm] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alarm WHERE lesionID = ? ORDER BY microseconds", arguments: [id])
                .map {
                    LesionAlarm(
                        microseconds: $0["microseconds"],
                        interlock: $0["interlock"],
                        priority: $0["priority"],
                        detail: $0["detail"]
                    )
                }
        }
    }

    /// A lesion's whole record in the API's units and names (API.md, `records.export`).
    public func document(lesion id: Int64) throws -> RecordDocument {
        guard let lesion = try lesion(id: id) else { throw RecordError("no lesion with id \(id)") }
        return RecordDocument(
            record: lesion.summary,
            alarms: try alarms(lesion: id).map(\.api),
            samples: try samples(lesion: id).map { $0.api(startedMicroseconds: lesion.startedMicroseconds) }
        )
    }

    /// A lesion's samples as CSV: one header line (`RecordSample.csvHeader`), then one line a sample.
    public func exportCSV(lesion id: Int64) throws -> String {
        guard let lesion = try lesion(id: id) else { throw RecordError("no lesion with id \(id)") }
        var text = RecordSample.csvHeader + "\n"
        for sample in try samples(lesion: id) {
            text += sample.api(startedMicroseconds: lesion.startedMicroseconds).csvLine
            text += "\n"
        }
        return text
    }

    /// A lesion as one JSON document (`RecordDocument`), as the API writes it: snake_case keys,
    /// unknown values `null`.
    public func exportJSON(lesion id: Int64) throws -> Data {
        try APIJSON.encode(try document(lesion: id), encoder: APIJSON.encoder())
    }

    static func lesion(_ row: Row) -> LesionRecord {
        LesionRecord(
            id: row["id"],
            profile: row["profile"],
            level: row["level"],
            operatorUID: UInt32(row["operatorUID"] as Int64),
            startedMicroseconds: row["startedMicroseconds"],
            endedMicroseconds: row["endedMicroseconds"],
            outcome: row["outcome"],
            endReason: row["endReason"],
            holdSeconds: row["holdSeconds"],
            energyJoules: row["energyJoules"],
            peakCelsius: row["peakCelsius"],
            doseCEM43Minutes: row["doseCEM43Minutes"],
            diameterMillimetres: row["diameterMillimetres"],
            complete: row["complete"],
            shortfall: row["shortfall"],
            profileParameters: profile(row),
            generator: (row["generatorModel"] as String?).map {
                GeneratorIdentity(
                    model: $0,
                    serialNumber: row["generatorSerial"] ?? "",
                    firmware: row["generatorFirmware"] ?? ""
                )
            },
            daemonVersion: row["daemonVersion"],
            session: row["sessionID"]
        )
    }

    /// The profile as a lesion used it; nil for a lesion recorded before it was kept.
    private static func profile(_ row: Row) -> TreatmentProfile? {
        guard let setPoint = row["setPointCelsius"] as Double? else { return nil }
        return TreatmentProfile(
            name: row["profile"],
            setPointCelsius: setPoint,
            rampCelsiusPerSecond: row["rampCelsiusPerSecond"] ?? 0,
            holdSeconds: row["holdTargetSeconds"] ?? 0,
            holdBandCelsius: row["holdBandCelsius"] ?? 0,
            powerLimitWatts: row["powerLimitWatts"] ?? 0,
            energyCapJoules: row["energyCapJoules"] ?? 0,
            minimumDoseCEM43Minutes: row["minimumDoseCEM43Minutes"] ?? 0,
            mode: (row["controlMode"] as String?).flatMap(ControlMode.init(rawValue:)) ?? .temperature
        )
    }
}

// MARK: - Procedure sessions

extension RecordStore {
    /// Opens a procedure session.
    /// - Returns: its record.
    public func openProcedure(
        _ params: SessionOpenParams,
        operatorUID: UInt32,
        at microseconds: Int64
    ) throws
        -> ProcedureRecord
    {
        try database.write { db in
            // One open session at a time: the API's session logic keeps it so, and the store
            // refuses rather than trusts it.
            if let open = try Int64.fetchOne(db, sql: "SELECT id FROM procedure WHERE closedMicroseconds IS NULL") {
                throw RecordError("session \(open) is open")
            }
            try db.execute(
                sql: """
                    INSERT INTO procedure (patientRef, procedure, levels, allowRepeats, operatorUID, openedMicroseconds)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    params.patientRef, params.procedure, params.levels.joined(separator: ","),
                    params.allowRepeats ?? false, Int64(operatorUID), microseconds,
                ]
            )
            return ProcedureRecord(
                id: db.lastInsertedRowID,
                patientRef: params.patientRef,
                procedure: params.procedure,
                levels: params.levels,
                allowRepeats: params.allowRepeats ?? false,
                operatorUID: operatorUID,
                openedMicroseconds: microseconds,
                closedMicroseconds: nil
            )
        }
    }

    /// Closes the open session `id`.
    public func closeProcedure(_ id: Int64, at microseconds: Int64) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE procedure SET closedMicroseconds = ? WHERE id = ? AND closedMicroseconds IS NULL",
                arguments: [microseconds, id]
            )
            guard db.changesCount == 1 else { throw RecordError("session \(id) is not open") }
        }
    }

    /// The open session, if any: the daemon restores it on start.
    public func openProcedure() throws -> ProcedureRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM procedure WHERE closedMicroseconds IS NULL ORDER BY id DESC")
                .map(Self.procedure)
        }
    }

    public func procedure(id: Int64) throws -> ProcedureRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM procedure WHERE id = ?", arguments: [id]).map(Self.procedure)
        }
    }

    /// A page of sessions, newest first.
    public func procedures(limit: Int, beforeID: Int64?) throws -> [ProcedureRecord] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM procedure WHERE id < ? ORDER BY id DESC LIMIT ?",
                arguments: [beforeID ?? Int64.max, limit]
            ).map(Self.procedure)
        }
    }

    /// The lesions of a session, oldest first.
    public func lesions(procedure id: Int64) throws -> [LesionRecord] {
        try lesions(where: "sessionID = ? ORDER BY id", [id])
    }

    /// A session as the API shows it: each planned level with every attempt at it.
    public func procedureInfo(id: Int64) throws -> SessionInfo? {
        guard let procedure = try procedure(id: id) else { return nil }
        return procedure.info(lesions: try lesions(procedure: id))
    }

    private static func procedure(_ row: Row) -> ProcedureRecord {
        ProcedureRecord(
            id: row["id"],
            patientRef: row["patientRef"],
            procedure: row["procedure"],
            levels: (row["levels"] as String).split(separator: ",").map(String.init),
            allowRepeats: row["allowRepeats"],
            operatorUID: UInt32(truncatingIfNeeded: row["operatorUID"] as Int64),
            openedMicroseconds: row["openedMicroseconds"],
            closedMicroseconds: row["closedMicroseconds"]
        )
    }
}

extension ProcedureRecord {
    /// The session as the API shows it, from its lesions (oldest first): each planned level with
    /// its attempts, complete when one of them is.
    public func info(lesions: [LesionRecord]) -> SessionInfo {
        let levels = levels.map { level in
            let attempts = lesions.filter { $0.level == level }.map {
                SessionAttempt(
                    recordId: $0.id,
                    outcome: $0.outcome,
                    complete: $0.complete,
                    incompleteReason: $0.shortfall,
                    startedUs: $0.startedMicroseconds
                )
            }
            return SessionLevel(level: level, attempts: attempts, complete: attempts.contains { $0.complete == true })
        }
        return SessionInfo(
            id: id,
            patientRef: patientRef,
            procedure: procedure,
            state: closedMicroseconds == nil ? "open" : "closed",
            plannedLevels: self.levels,
            allowRepeats: allowRepeats,
            operatorUid: operatorUID,
            openedUs: openedMicroseconds,
            closedUs: closedMicroseconds,
            levels: levels
        )
    }
}

/// A records request that cannot be served, in words.
public struct RecordError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension LesionRecord {
    /// The record as the API shows it.
    public var summary: RecordSummary {
        var summary = RecordSummary(
            id: id,
            profile: profile,
            level: level,
            operatorUid: operatorUID,
            startedUs: startedMicroseconds,
            endedUs: endedMicroseconds,
            outcome: outcome,
            endReason: endReason,
            holdS: holdSeconds,
            energyJ: energyJoules,
            peakC: peakCelsius
        )
        summary.startedUtc = UTCTime.iso8601(microseconds: startedMicroseconds)
        summary.endedUtc = endedMicroseconds.map(UTCTime.iso8601(microseconds:))
        summary.doseCem43Min = doseCEM43Minutes
        summary.diameterMm = diameterMillimetres
        summary.complete = complete
        summary.incompleteReason = shortfall
        summary.profileParameters = profileParameters?.info
        summary.generator = generator.map {
            GeneratorInfo(model: $0.model, serial: $0.serialNumber, firmware: $0.firmware)
        }
        summary.daemonVersion = daemonVersion
        summary.sessionId = session
        return summary
    }
}

extension TreatmentProfile {
    /// The profile as the API shows it.
    public var info: ProfileInfo {
        ProfileInfo(
            name: name,
            targetC: setPointCelsius,
            rampCPerS: rampCelsiusPerSecond,
            holdS: holdSeconds,
            holdBandC: holdBandCelsius,
            powerLimitW: powerLimitWatts,
            energyCapJ: energyCapJoules,
            minDoseCem43Min: minimumDoseCEM43Minutes,
            mode: mode.rawValue
        )
    }
}

extension LesionAlarm {
    /// The alarm as the API shows it.
    public var api: RecordAlarm {
        RecordAlarm(wallUs: microseconds, cause: interlock, priority: priority, detail: detail)
    }
}

extension LesionSample {
    /// The sample in the API's units: °C, W, Ω, seconds since the lesion's start.
    public func api(startedMicroseconds: Int64) -> RecordSample {
        RecordSample(
            wallUs: microseconds,
            elapsedS: Double(microseconds - startedMicroseconds) / 1e6,
            phase: phase?.rawValue,
            tipTempC: tipCentiCelsius.map { Double($0) / 100 },
            secondTempC: secondCentiCelsius.map { Double($0) / 100 },
            setpointC: targetCelsius.map { ($0 * 100).rounded() / 100 },
            powerW: Double(powerMilliwatts) / 1000,
            setpointW: Double(setPointMilliwatts) / 1000,
            impedanceOhm: impedanceDeciohms.map { Double($0) / 10 },
            rfOn: rfOn,
            doseCem43Min: doseCEM43Minutes,
            diameterMm: diameterMillimetres
        )
    }
}
