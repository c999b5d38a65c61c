import CSystemd
import Logging
import RFGenAPI
import RFGenSystem

#if canImport(Glibc)
import Glibc
#endif

/// Where rfgend's log goes: to the journal, with fields, when its standard error is connected to
/// the journal (`JOURNAL_STREAM` names that stream); otherwise readable lines on standard error.
///
/// Handlers only format; the writing happens on a thread of its own (`BackgroundWriter`), so that
/// a stalled journald or a full pipe can delay no thread that matters: the link thread that
/// carries RF_OFF, the control tick, the API's event loop that takes an emergency stop.
public enum DaemonLogging {
    /// One message, formatted, waiting to be written.
    enum Entry: Sendable {
        /// The journal's fields, `NAME=value` each.
        case journal([String])
        /// One line for standard error.
        case line(String)
    }

    /// Whether standard error is the journal's stream: decides the handler and the format.
    static let toJournal = standardErrorIsJournal()

    /// The writer every handler submits to, started on first use; nil where its thread could not
    /// start (then handlers write directly, as before).
    static let writer: BackgroundWriter<Entry>? = try? BackgroundWriter<Entry>(
        name: "rfgend-log",
        capacity: DaemonLimits.logQueue,
        write: write,
        dropped: { count in
            let message = "\(count) log messages dropped: the log did not keep up"
            return toJournal
                ? .journal(["MESSAGE=\(message)", "PRIORITY=4", "SYSLOG_IDENTIFIER=rfgend"])
                : .line(timestamp() + " rfgend: WARNING \(message)")
        }
    )

    /// Now, as ISO 8601 UTC with milliseconds: `2026-12-01T20:25:01.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900,
            parts.tm_mon + 1,
            parts.tm_mday,
            parts.tm_hour,
            parts.tm_min,
            parts.tm_sec,
            Int(now.tv_nsec / 1_000_000)
        )
    }

    /// Installs the handler for every Logger in the process; call once, first thing.
    public static func bootstrap() {
        _ = writer
        let journal = toJournal
        LoggingSystem.bootstrap { label in
            journal ? JournalLogHandler(label: label) as any LogHandler : StandardErrorLogHandler(label: label)
        }
    }

    /// Writes what is still queued, waiting at most `DaemonLimits.logFlushMicroseconds`: for the
    /// last lines before rfgend exits.
    public static func flush() {
        writer?.flush(timeoutMicroseconds: DaemonLimits.logFlushMicroseconds)
    }

    static func submit(_ entry: Entry) {
        if let writer { writer.submit(entry) } else { write(entry) }
    }

    /// The text with every control character written as `\u{1B}`: what a client sent (a request
    /// line, a method name) reaches the log through messages, and an escape sequence or a
    /// carriage return there could rewrite what a terminal shows (a fake "treatment done").
    /// Each message is one line: newlines are escaped too.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// C0 controls, DEL and C1 controls (where the terminals' 8-bit CSI lives).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// On the writer's thread: the calls that may block.
    @Sendable static func write(_ entry: Entry) {
        switch entry {
        case .line(let line): writeStandardError(line)
        case .journal(let fields): sendToJournal(fields)
        }
    }

    /// One journal entry through `sd_journal_sendv`, each field in a buffer of its own that lives
    /// until the call returns.
    static func sendToJournal(_ fields: [String]) {
        let buffers = fields.map { field -> UnsafeMutableRawBufferPointer in
            let bytes = Array(field.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            buffer.copyBytes(from: bytes)
            return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var vectors = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        _ = sd_journal_sendv(&vectors, Int32(vectors.count))
    }

    /// Whether standard error is the stream systemd connected to the journal (systemd.exec(5),
    /// `JOURNAL_STREAM=DEVICE:INODE`).
    static func standardErrorIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// syslog's priorities, as the journal files them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// A handler that keeps its metadata in a dictionary, as both of rfgend's do.
protocol MetadataStoringLogHandler: LogHandler {
    var metadata: Logger.Metadata { get set }
}

extension MetadataStoringLogHandler {
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

/// One journal entry per message through `sd_journal_sendv`: MESSAGE, PRIORITY,
/// SYSLOG_IDENTIFIER, and each metadata key as a field `RFGEN_KEY` (e.g. RFGEN_ALARM_ID).
struct JournalLogHandler: MetadataStoringLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    func log(event: LogEvent) {
        var fields = [
            "MESSAGE=\(DaemonLogging.printable("\(event.message)"))",
            "PRIORITY=\(DaemonLogging.priority(event.level))",
            "SYSLOG_IDENTIFIER=rfgend",
        ]
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            let name = key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            fields.append("RFGEN_\(String(name))=\(DaemonLogging.printable("\(value)"))")
        }
        DaemonLogging.submit(.journal(fields))
    }
}

/// `2026-12-01T20:25:01.123Z rfgend: message key=value …`, with the level in capitals above info,
/// one line each. The time is UTC to the millisecond: outside journald (a terminal, a file, a test
/// rig's log) nothing else says when a line was written.
struct StandardErrorLogHandler: MetadataStoringLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let level = event.level > .info ? "\(event.level)".uppercased() + " " : ""
        let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = DaemonLogging.printable("rfgend: \(level)\(event.message)\(fields)")
        DaemonLogging.submit(.line(DaemonLogging.timestamp() + " " + line))
    }
}

/// The record's notable events in the log, at a priority a night-shift technician notices:
/// alarms by their own priority (high: critical, medium: error, low: warning), every RF edge and a
/// lost link at warning, phase changes and accepted commands at notice. Fed by the API's event
/// loop, never by the control thread.
struct EventJournal {
    let logger: Logger
    private var rfOn: Bool?
    /// The treatment under way: the sequence number of the event that started it (unique across
    /// restarts), with its profile and level.
    private var treatment: (seq: UInt64, profile: String, level: String)?

    init(logger: Logger) { self.logger = logger }

    /// The treatment under way, as the metadata of each line filed with it.
    private func treatmentContext() -> Logger.Metadata {
        guard let treatment else { return [:] }
        return ["treatment": "\(treatment.seq)", "profile": "\(treatment.profile)", "level": "\(treatment.level)"]
    }

    mutating func record(_ event: Event) {
        // Telemetry, every tick, is journaled only when RF changes: nothing is built for the rest
        // (the treatment's metadata, a dictionary, took about 5,000 instructions a tick; issue 19).
        if case .telemetry(let data) = event.body {
            if rfOn != nil && rfOn != data.rfOn {
                logger.warning(
                    data.rfOn ? "RF ON" : "RF OFF",
                    metadata: treatmentContext().merging(["state": "\(data.state)"]) { $1 }
                )
            }
            rfOn = data.rfOn
            return
        }
        var context = treatmentContext()
        switch event.body {
        case .telemetry:
            break  // above
        case .alarmRaised(let alarm):
            let level: Logger.Level =
                switch alarm.priority {
                case "high": .critical
                case "medium": .error
                default: .warning
                }
            logger.log(
                level: level,
                "ALARM \(alarm.priority) \(alarm.cause): \(alarm.detail)",
                metadata: context.merging([
                    "alarm_id": "\(alarm.id)", "alarm_priority": "\(alarm.priority)", "alarm_cause": "\(alarm.cause)",
                ]) { $1 }
            )
        case .alarmsAcknowledged(let ack):
            logger.notice(
                "alarms \(ack.ids.map(String.init).joined(separator: ", ")) acknowledged by uid \(ack.uid)",
                metadata: ["uid": "\(ack.uid)"]
            )
        case .phaseChanged(let change):
            if change.from == "idle" || change.from == "done" || change.from == "stopped" {
                if change.to == "impedance_check" {
                    treatment = (event.seq, change.profile ?? "", change.level ?? "")
                    context = [
                        "treatment": "\(event.seq)", "profile": "\(change.profile ?? "")",
                        "level": "\(change.level ?? "")",
                    ]
                }
            }
            logger.notice("treatment \(change.from) → \(change.to)", metadata: context)
            // Kept through the end of the lesion, so that the RF OFF that follows is filed with it.
            if change.to == "idle" { treatment = nil }
        case .command(let command):
            let words = "\(command.command) by uid \(command.uid) (client \(command.client))"
            if command.accepted {
                logger.notice("\(words): accepted", metadata: context.merging(["uid": "\(command.uid)"]) { $1 })
            } else {
                logger.warning(
                    "\(words): refused, \(command.reason ?? "")",
                    metadata: context.merging(["uid": "\(command.uid)"]) { $1 }
                )
            }
        case .records(let health):
            // Loud: lesions that are not written have no record for the patient's file.
            if health.writing {
                logger.notice("records written again; \(health.samplesLost) samples lost since rfgend started")
            } else {
                logger.critical(
                    "RECORDS NOT WRITTEN: \(health.problem ?? "unknown"); \(health.pending) entries waiting",
                    metadata: context
                )
            }
        case .link(let link):
            if link.link == "up" {
                logger.notice("generator link up")
            } else {
                logger.warning("generator link down (\(link.linkState))")
            }
        case .lease(let lease):
            logger.info(
                lease.held
                    ? "control lease taken by client \(lease.client ?? 0) (uid \(lease.uid ?? 0))"
                    : "control lease free"
            )
        case .daemonStarted, .daemonStopping:
            break
        }
    }
}
