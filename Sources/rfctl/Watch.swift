import ArgumentParser
import Foundation
import RFGenAPI

#if canImport(Glibc)
import Glibc
#endif

/// `rfctl watch`: the live view of a lesion, redrawn at most 10 times a second from the
/// telemetry stream; reconnects by itself when the daemon restarts.
struct Watch: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "Live view: state, temperatures, power, impedance, time with a progress bar, alarms, link health.",
        discussion: "With --json, prints every event as one JSON line instead. Ctrl-C ends it."
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Flag(help: "Draw once, after the first telemetry, and exit.") var once = false
    @Flag(help: "No colours (also when NO_COLOR is set or the output is not a terminal).") var noColor = false
    @Flag(help: "No bell when a high-priority alarm is raised (the bell rings only on a terminal).") var noBell = false

    func run() throws {
        // Not a terminal (a pipe, a file, a log): plain lines, no escapes, no bell.
        let terminal = isatty(1) == 1
        let color = !noColor && ProcessInfo.processInfo.environment["NO_COLOR"] == nil && terminal
        var view = WatchView(color: color)
        var printedNotes = 0
        var lastSeq: UInt64?
        while true {
            do {
                let api = try APIConnection(path: socket)
                view.connected(try api.call("status", as: StatusResult.self))
                let subscription = try api.call(
                    "subscribe",
                    SubscribeParams(fromSeq: lastSeq.map { $0 + 1 }),
                    as: SubscribeResult.self
                )
                lastSeq = subscription.nextSeq - 1
                var drawn = Date.distantPast
                var polled = Date()
                while true {
                    guard let line = try api.nextLine(timeoutMilliseconds: 200) else { continue }
                    if common.json {
                        FileHandle.standardOutput.write(Data(line + [UInt8(ascii: "\n")]))
                        if once { return }
                        continue
                    }
                    if let head = try? api.decoder.decode(LineHead.self, from: Data(line)), head.type == "event",
                        let event = try? api.decoder.decode(Event.self, from: Data(line))
                    {
                        lastSeq = event.seq
                        if view.apply(event), terminal, !noBell {
                            FileHandle.standardOutput.write(Data("\u{07}".utf8))
                        }
                    } else if let gap = try? api.decoder.decode(Gap.self, from: Data(line)) {
                        view.note("missed events \(gap.fromSeq)-\(gap.toSeq) (\(gap.reason))", at: nil)
                    }
                    // The link's counters are not in the stream: ask once a second.
                    if Date().timeIntervalSince(polled) >= 1 {
                        polled = Date()
                        view.connected(try api.call("status", as: StatusResult.self))
                    }
                    guard view.telemetry != nil else { continue }
                    if !terminal {
                        // A line for each event as it comes, and the readings once a second.
                        printedNotes = printLines(view, printedNotes: printedNotes)
                        if Date().timeIntervalSince(drawn) >= 1 {
                            drawn = Date()
                            FileHandle.standardOutput.write(Data((view.summaryLine() + "\n").utf8))
                            if once { return }
                        }
                    } else if Date().timeIntervalSince(drawn) >= 0.1 {
                        drawn = Date()
                        draw(view.render(width: Self.terminalWidth()))
                        if once { return }
                    }
                }
            } catch .unreachable(let reason) {
                if once { fail(.unreachable(reason)) }
                view.disconnected(reason)
                if common.json {
                } else if terminal {
                    draw(view.render())
                } else {
                    printedNotes = printLines(view, printedNotes: printedNotes)
                    FileHandle.standardOutput.write(Data((view.problem.map { $0 + "\n" } ?? "").utf8))
                }
                Thread.sleep(forTimeInterval: 1)
            } catch {
                fail(error)
            }
        }
    }

    /// The terminal's width, so that the progress bar fills it; 80 when not a terminal.
    static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Plain output: the notes not printed yet, one line each; returns how many are printed.
    private func printLines(_ view: WatchView, printedNotes: Int) -> Int {
        let fresh = view.noteCount - printedNotes
        guard fresh > 0 else { return printedNotes }
        let lines = view.notes.suffix(min(fresh, view.notes.count)).map { view.noteLine($0) }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        return view.noteCount
    }

    private func draw(_ lines: [String]) {
        // Home, then each line over the old one with the rest of it cleared, then clear below:
        // no flicker from clearing the whole screen first.
        let text =
            once
            ? lines.joined(separator: "\n") + "\n"
            : "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func run(on api: APIConnection) throws(APIConnection.Failure) {}
}

/// What the live view shows, built from the status and the event stream. Pure: tested without a terminal.
struct WatchView {
    var color: Bool
    var telemetry: TelemetryData?
    var status: StatusResult?
    var alarms: [UInt64: AlarmInfo] = [:]
    var bell = AlarmBell()
    /// The newest events in words, each with the wall time it happened (µs since the epoch).
    var notes: [(wallUs: Int64?, text: String)] = []
    /// Notes made since the view began (more than `notes` keeps): plain output prints new ones.
    var noteCount = 0
    var problem: String?

    init(color: Bool) { self.color = color }

    mutating func connected(_ status: StatusResult) {
        self.status = status
        problem = nil
        alarms = Dictionary(uniqueKeysWithValues: status.alarms.map { ($0.id, $0) })
        bell.statusRead(alarms: status.alarms.map(\.id))
    }

    mutating func disconnected(_ reason: String) {
        problem = "daemon unreachable: \(reason); reconnecting"
    }

    mutating func note(_ text: String, at wallUs: Int64?) {
        notes.append((wallUs, text))
        noteCount += 1
        if notes.count > 5 { notes.removeFirst() }
    }

    /// A note as shown: its local time of day, then the words.
    func noteLine(_ note: (wallUs: Int64?, text: String)) -> String {
        (note.wallUs.map { Self.clock($0) } ?? "--:--:--") + "  " + note.text
    }

    /// Local time of day, HH:MM:SS.
    static func clock(_ wallUs: Int64) -> String {
        var seconds = time_t(wallUs / 1_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// Whether the phase is a lesion's (its time and progress are current).
    var lesionRunning: Bool {
        ["impedance_check", "ramp", "hold"].contains(telemetry?.state ?? status?.state ?? "")
    }

    /// Takes an event in; true when it raised a new high-priority alarm (the bell rings).
    @discardableResult
    mutating func apply(_ event: Event) -> Bool {
        var ring = false
        func note(_ text: String) { self.note(text, at: event.wallUs) }
        switch event.body {
        case .telemetry(let data):
            telemetry = data
            alarms = alarms.filter { data.alarms.contains($0.key) }
        case .alarmRaised(let alarm):
            ring = bell.raised(id: alarm.id, priority: alarm.priority)
            alarms[alarm.id] = alarm
            note("alarm \(alarm.id) \(alarm.priority) \(alarm.cause)")
        case .alarmsAcknowledged(let ack):
            for id in ack.ids { alarms[id] = nil }
            note("alarms \(ack.ids.map(String.init).joined(separator: ", ")) acknowledged by uid \(ack.uid)")
        case .phaseChanged(let change):
            note("\(change.from) → \(change.to)")
        case .command(let command):
            note(
                "\(command.command) by uid \(command.uid): "
                    + (command.accepted ? "accepted" : "refused, \(command.reason ?? "")")
            )
        case .link(let link):
            note("link \(link.link) (\(link.linkState))")
        case .lease(let lease):
            note(
                lease.held
                    ? "control lease taken by client \(lease.client ?? 0) (uid \(lease.uid ?? 0))"
                    : "control lease free"
            )
        case .daemonStarted(let started):
            note("daemon started (\(started.version))")
        case .daemonStopping:
            note("daemon stopping")
        case .records(let health):
            status?.records = health
            note(
                health.writing
                    ? "records written again (\(health.samplesLost) samples lost in all)"
                    : "RECORDS NOT WRITTEN: \(health.problem ?? "unknown")"
            )
        }
        return ring
    }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// The screen, line by line.
    func render(width: Int = 80) -> [String] {
        var lines: [String] = []
        let t = telemetry
        let state = t?.state ?? status?.state ?? "unknown"
        let rf = t?.rfOn == true ? paint(" RF ON ", "1;37;41") : " RF off "
        lines.append("rfgend  \(paint(state.uppercased(), "1"))  \(rf)  link \(t?.link ?? status?.link ?? "?")")
        let running = lesionRunning
        // After a lesion has ended its time, energy and dose are the last lesion's, not current.
        let last = running ? "" : "last lesion: "
        if let profile = status?.profile {
            lines.append(
                "\(running ? "" : "last lesion ")profile \(profile.name) \(status?.level ?? "")  "
                    + "target \(Text.number(profile.targetC, "°C"))"
            )
        }
        lines.append(
            "tip \(Text.number(t?.tipTempC, "°C"))   set point \(Text.number(t?.setpointC, "°C"))   "
                + "channels " + (t?.temperaturesC.map { Text.number($0, "°C") }.joined(separator: " ") ?? "--")
        )
        lines.append(
            "power \(Text.number(t?.powerW, "W", digits: 2)) of \(Text.number(t?.setpointW, "W", digits: 2))   "
                + "impedance \(Text.number(t?.impedanceOhm, "Ω"))"
        )
        let hold = t?.holdS ?? 0
        if running {
            lines.append("energy \(Text.number(t?.energyJ, "J", digits: 0))")
            if let dose = t?.doseCem43Min {
                lines.append(
                    "dose \(Scientific.text(dose)) CEM43 min   lesion about \(Text.number(t?.diameterMm, "mm")) (estimated)"
                )
            }
            let remaining = t?.remainingS
            let total = remaining.map { $0 + hold } ?? 0
            let fraction = total > 0 ? min(1, hold / total) : 0
            let barWidth = max(10, width - 30)
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            lines.append(
                "elapsed \(Text.duration(t?.elapsedS ?? 0))  at temperature \(Text.duration(hold))"
                    + (remaining.map { "  remaining \(Text.duration($0))" } ?? "")
            )
            lines.append(
                "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "] "
                    + "\(Int((fraction * 100).rounded(.down)))%"
            )
        } else if (t?.elapsedS ?? 0) > 0 {
            // Idle is idle: no remaining time and no progress bar for a lesion that has ended.
            lines.append(
                last + "elapsed \(Text.duration(t?.elapsedS ?? 0))  at temperature \(Text.duration(hold))  "
                    + "energy \(Text.number(t?.energyJ, "J", digits: 0))"
                    + (t?.doseCem43Min.map { "  dose \(Scientific.text($0)) CEM43 min" } ?? "")
                    + (t?.diameterMm.map { "  about \(Text.number($0, "mm")) (estimated)" } ?? "")
            )
        } else {
            lines.append("no lesion since the daemon started")
        }
        if let s = status {
            // The link's rates are only news while it is up; down, the last second's are history.
            let up = (t?.link ?? s.link) == "up"
            let second = up ? s.linkStats.lastSecond : nil
            lines.append(
                "link  "
                    + (up
                        ? second.map {
                            "\($0.frames) frames/s, \($0.crcErrors) crc errors, \($0.telemetryLost) lost, "
                                + "\($0.retries) retries, rtt max \($0.rttMaxUs) µs"
                        } ?? "no traffic"
                        : "down (\(s.linkState)): no traffic")
            )
            lines.append(
                "loop  \(s.loop.tickHz) Hz  late p99 \(s.loop.lateP99Us) µs  max \(s.loop.lateMaxUs) µs  overruns \(s.loop.overruns)"
                    + (t.map { "  reading \(Int(($0.ageMs ?? 0).rounded())) ms old" } ?? "")
            )
        }
        if alarms.isEmpty {
            lines.append("alarms: none")
        } else {
            for alarm in alarms.values.sorted(by: { ($0.priorityRank, $0.id) > ($1.priorityRank, $1.id) }) {
                let code =
                    switch alarm.priority {
                    case "high": "1;37;41"
                    case "medium": "30;43"
                    default: "30;46"
                    }
                lines.append(
                    paint("ALARM \(alarm.id) \(alarm.priority.uppercased()) \(alarm.cause)", code) + ": \(alarm.detail)"
                )
            }
        }
        if let records = status?.records, records.kept, !records.writing {
            lines.append(
                paint("RECORDS NOT WRITTEN: \(records.problem ?? "unknown") (\(records.pending) waiting)", "1;37;41")
            )
        }
        if let problem { lines.append(paint(problem, "1;33")) }
        lines += notes.map { "  " + noteLine($0) }
        return lines
    }

    /// One plain line of the readings, for output that is not a terminal.
    func summaryLine() -> String {
        let t = telemetry
        let state = t?.state ?? status?.state ?? "unknown"
        let running = lesionRunning
        return Self.clock(Int64(Date().timeIntervalSince1970 * 1_000_000))
            + "  \(state)  RF \(t?.rfOn == true ? "ON" : "off")  link \(t?.link ?? status?.link ?? "?")"
            + "  tip \(Text.number(t?.tipTempC, "°C"))  power \(Text.number(t?.powerW, "W", digits: 2))"
            + "  impedance \(Text.number(t?.impedanceOhm, "Ω"))"
            + (running
                ? "  at temperature \(Text.duration(t?.holdS ?? 0))"
                    + (t?.remainingS.map { "  remaining \(Text.duration($0))" } ?? "")
                : "")
            + "  alarms " + (alarms.isEmpty ? "none" : alarms.values.map(\.cause).sorted().joined(separator: ","))
    }
}

extension AlarmInfo {
    var priorityRank: Int {
        switch priority {
        case "high": 3
        case "medium": 2
        default: 1
        }
    }
}

/// When the live view rings: once for each high-priority alarm raised while it watches. The
/// alarms the first status lists were raised before it began and do not ring. A later status
/// does not count as having seen an alarm: its reply can be read before the events that came
/// ahead of it on the socket (the connection holds those until the reply is taken), and an
/// alarm that such a status lists first must still ring when its event is applied.
struct AlarmBell {
    private var announced: Set<UInt64> = []
    private var began = false

    mutating func statusRead(alarms ids: [UInt64]) {
        guard !began else { return }
        began = true
        announced.formUnion(ids)
    }

    /// An `alarm_raised`: true when the bell rings for it.
    mutating func raised(id: UInt64, priority: String) -> Bool {
        announced.insert(id).inserted && priority == "high"
    }
}
