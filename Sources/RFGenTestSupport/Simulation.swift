// Deterministic simulation of the daemon's safety invariants, after FoundationDB's simulator and
// TigerBeetle's VOPR: one seed drives a whole run (tissue, operator, faults, line noise, clock
// faults) of the control core, the link engine, the real codec and the simulated generator on a
// virtual clock, in one thread. After every tick the invariants are checked (README,
// "Deterministic simulation"), among them the treatment record built from the same entries the
// daemon's record thread writes; the first violation ends the run with the seed, so that
// `Simulation.run(seed:)` reproduces it exactly.

import RFGenAPI
import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol
import RFGenSimulator

/// What one seed's run did.
public struct SimulationReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// The first invariant violated, with the virtual time; nil when all held.
    public var violation: String?
    public var ticks = 0
    /// Whether the run was fault-free, and then whether its lesion completed (liveness).
    public var faultFree = false
    /// Whether the simulated generator ran without its own protection (watchdog, set-point
    /// validity, its monitor), so that only the daemon's core stood between a fault and the tissue.
    public var unprotected = false
    public var completed = false
    /// The faults and operator actions, in order, for reading a failure.
    public var script: [String] = []
    /// A sensor seed (`Simulation.sensorRun`): its thermocouple fault, named for grouping.
    public var sensorFault: String?
    /// The simulator's true tip at its hottest while RF was on, °C.
    public var peakWhileRFOn = 0.0
    /// From the sensor fault to the output stage's last switch off, by the generator's record, µs.
    public var faultToRFOffMicroseconds: Int64?
    /// Every alarm raised, by cause, in order.
    public var alarms: [String] = []

    public var description: String {
        "seed \(seed)\(unprotected ? " (generator without self-protection)" : ""): " + (violation ?? "ok")
            + " after \(ticks) ticks; " + script.joined(separator: "; ")
    }
}

/// The invariants' margins, in one place.
public enum SimulationLimits {
    /// The tip may pass the 95 °C interlock by this much at most (the reading lags the tissue,
    /// and heat already deposited keeps spreading after RF off), °C.
    public static let temperatureMarginCelsius = 3.0
    /// A run's virtual length with faults, seconds.
    public static let faultRunSeconds = 8.0
    /// A fault-free run's hold time and the most it may take to complete, seconds.
    public static let livenessHoldSeconds = 3.0
    public static let livenessLimitSeconds = 120.0
    /// The record's energy and the generator's own account may differ by this fraction plus 1 J
    /// (the core integrates the generator's reported power a tick at a time).
    public static let energyTolerance = 0.05
    /// The record's time at temperature and the simulator's (the true tip within the hold band,
    /// from when it first reached it) may differ by this fraction plus this many seconds: the
    /// thermocouple lags the tissue by its time constant (0.25 s).
    public static let holdTimeTolerance = 0.02
    public static let holdTimeToleranceSeconds = 1.0
    /// Operators' clients in a mixed seed, each with its own uid and level.
    public static let clients = 3
    /// One seed in this many is fault-free and must complete its lesion.
    public static let faultFreeEvery: UInt64 = 50
    /// Sensor seeds: a thermocouple fault somewhere in the first this many seconds of a bvn lesion
    /// (RF on, the ramp, the first half-minute of the hold), then this long to watch the tissue.
    public static let sensorFaultWithinSeconds = 90.0
    public static let sensorWatchSeconds = 30.0
    /// The slowest common-mode drift a sensor seed draws, °C/s: the slowest that the plausibility
    /// interlock catches before 95 °C at every moment (docs/INTERLOCKS.md; PlausibilityTests).
    public static let sensorSlowestDrift = 3.0
    /// Odd seeds run the generator without its own protection, and draw only faults that leave
    /// the link sound (sensors, load, power, overruns, operator actions): there, RF_OFF must come
    /// from the core within a tick, with no generator timeout to fall back on.
    public static func unprotected(seed: UInt64) -> Bool { seed % 2 == 1 }
}

public enum Simulation {
    static let tick: Int64 = 10_000

    /// Runs one seed. Deterministic: the same seed gives the same run, violation included.
    public static func run(seed: UInt64) -> SimulationReport {
        var world = World(seed: seed)
        return world.run()
    }

    /// One sensor seed: a bvn lesion on the seed's tissue with one thermocouple fault (short,
    /// stuck, open, a step either way, a drift low) on the tip, the second channel or both, at a
    /// random moment from RF on to the hold. Besides every invariant of `run`, the true tip must
    /// stay below the 95 °C cap while RF is on.
    public static func sensorRun(seed: UInt64) -> SimulationReport {
        var world = World(seed: seed, kind: .sensor)
        return world.run()
    }

    /// One fault-free lesion with the given hold, under the same invariants: what the benchmark of
    /// virtual-time speed runs (a whole 15-minute treatment of the daemon's core, link and codec
    /// against the simulated generator).
    public static func lesion(seed: UInt64, holdSeconds: Double) -> SimulationReport {
        var world = World(seed: seed, kind: .lesion(holdSeconds: holdSeconds))
        return world.run()
    }
}

/// One run's whole state.
struct World {
    /// What a seed runs.
    enum Kind {
        /// Faults, line noise and operator actions over a short run (`Simulation.run`).
        case mixed
        /// One fault-free lesion with this hold.
        case lesion(holdSeconds: Double)
        /// One thermocouple fault in a lesion (`Simulation.sensorRun`).
        case sensor
    }
    let kind: Kind
    var random: SeededRandom
    var report: SimulationReport
    /// The clients' sessions (the API's session logic) and the daemon's machine, link engine and
    /// codec against the simulated generator.
    var api: VirtualAPI
    var now: Int64 { api.rig.now }
    var core: TreatmentCore { api.rig.core }
    /// The API's number of each simulated operator, and the id of each one's next request.
    var clients: [UInt64] = []
    var nextRequestID: [Int64] = []
    /// Request ids sent and not yet answered, per client, with whether each is a command for the
    /// tick (answered with its outcome) or answered at once.
    var unanswered: [UInt64: [Int64: Bool]] = [:]

    // The script: what happens when.
    var events: [(at: Int64, what: Action)] = []
    enum Action: CustomStringConvertible {
        /// An operator's request, from one of `SimulationLimits.clients` clients.
        case request(client: Int, Operation)
        case fault(InjectedFault)
        case pullCable, plugCable
        /// The control loop does not run for this many ticks (starved or hung); the generator and
        /// the link thread go on.
        case stall(ticks: Int)

        var description: String {
            switch self {
            case .request(let client, let operation):
                "client \(client) (uid \(Operator.uid(client)), \(Operator.level(client))): \(operation)"
            case .fault(let fault): "fault \(fault)"
            case .pullCable: "cable pulled"
            case .plugCable: "cable back"
            case .stall(let ticks): "control loop stalled for \(ticks) ticks"
            }
        }
    }
    enum Operation: CustomStringConvertible {
        /// A start, taking the lease first; `handover`: its holder releases it in the same tick.
        case start(hold: Double, handover: Bool = false)
        case stop, estop, ack

        var description: String {
            switch self {
            case .start(let hold, let handover): "start (hold \(hold) s\(handover ? ", lease handed over" : ""))"
            case .stop: "stop"
            case .estop: "estop"
            case .ack: "ack"
            }
        }
    }
    /// Who the simulated operators are: each names its own level, so that the record shows whose
    /// start was carried out.
    enum Operator {
        static func uid(_ client: Int) -> UInt32 { 1000 + UInt32(client) }
        static func level(_ client: Int) -> String { ["L3", "L4", "L5", "S1"][client % 4] }
    }

    // What the invariants track.
    /// A start the core accepted, and no alarm or end since: the only state RF may be on in.
    var armed = false
    /// Since when it has not been (nil while armed).
    var disarmedAt: Int64?
    /// When the latest alarm was raised.
    var alarmAt: Int64?
    /// Since when the link has been impaired (commands may not arrive; the generator's own
    /// watchdog then ends RF), and whether the output stage is stuck on (beyond software).
    var impaired = false
    var stuckOn = false
    var powerFaulted = false
    /// Ticks the control loop has yet to miss (`Action.stall`).
    var stalledTicks = 0
    /// The last step the loop missed.
    var lastStalledAt: Int64?
    /// The generator's delivered energy by its own account, J, since the lesion's start.
    var deliveredJoules: Double { api.rig.generator.deliveredEnergyJoules - energyAtStart }
    var energyAtStart = 0.0
    /// The simulator's time at temperature in the lesion: the true tip within the hold band, from
    /// when it first reached the band's floor.
    var trueHoldSeconds = 0.0
    var trueBandReached = false
    var alarmsRaised: [Alarm] = []
    /// The treatment record as the daemon's record thread would write it, from the same entries.
    var record: [RecordedLesion] = []
    var router = RecordRouter()
    struct RecordedLesion {
        var level = ""
        var uid: UInt32 = 0
        var alarms: [LesionAlarm] = []
        var summary: LesionSummary?
        var outcome: String?
    }
    /// A fault-free run's hold, seconds.
    var holdSeconds = SimulationLimits.livenessHoldSeconds
    /// Whether the core has been idle since the last lesion began (see `keepRecord`).
    var passedIdleSinceLesion = false
    /// A sensor seed's fault time and the end of its run.
    var sensorFaultAt: Int64?
    var sensorEnd: Int64?

    init(seed: UInt64, kind: Kind = .mixed) {
        self.kind = kind
        var lesionHoldSeconds: Double?
        if case .lesion(let hold) = kind { lesionHoldSeconds = hold }
        // splitmix64's finaliser: neighbouring seeds get unrelated scripts.
        var mixed = seed &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        random = SeededRandom(seed: mixed ^ (mixed >> 31))
        report = SimulationReport(seed: seed)
        var configuration = GeneratorConfiguration()
        configuration.seed = seed
        configuration.tissue = [TissueParameters.normal, .sclerotic, .highPerfusion][Int(seed % 3)]
        report.unprotected = kind.isMixed && SimulationLimits.unprotected(seed: seed)
        configuration.selfProtection = !report.unprotected
        api = VirtualAPI(configuration: configuration)
        api.keepsHistory = false
        for client in 0..<SimulationLimits.clients {
            let (id, refusal) = api.connect(uid: Operator.uid(client), role: .operator)
            precondition(refusal == nil, "the simulation's operators are admitted")
            clients.append(id)
            nextRequestID.append(1)
        }
        report.script.append(
            "tissue \(["normal", "sclerotic", "high perfusion"][Int(seed % 3)]); generator "
                + (report.unprotected ? "without its own protection" : "with its own protection")
        )
        report.faultFree = lesionHoldSeconds != nil || (kind.isMixed && seed % SimulationLimits.faultFreeEvery == 0)
        if let lesionHoldSeconds { holdSeconds = lesionHoldSeconds }
        script()
    }

    /// Draws the run's script from the seed.
    mutating func script() {
        let t0 = now
        func at(_ seconds: Double) -> Int64 { t0 + Int64(seconds * 1_000_000) }
        if report.faultFree {
            events.append((at(0.1), .request(client: 0, .start(hold: holdSeconds))))
            return
        }
        if case .sensor = kind {
            sensorScript(start: t0)
            return
        }
        // The first start; now and then raced by another client's start in the same tick (the
        // record must name the one carried out).
        let first = at(Double.random(in: 0...0.5, using: &random))
        operators(at: first, .start(hold: 30))
        if Int.random(in: 0..<4, using: &random) == 0 {
            operators(at: first, .start(hold: 30, handover: Bool.random(using: &random)))
        }
        let faults = Int.random(in: 1...3, using: &random)
        for _ in 0..<faults {
            let when = Double.random(in: 0.5...(SimulationLimits.faultRunSeconds - 1), using: &random)
            let channel = Int.random(in: 0...1, using: &random)
            let action: Action
            // Without the generator's protection, only faults that leave the way to the generator
            // sound (a telemetry stall stops only telemetry): a lost RF_OFF is not the core's fault.
            let kind =
                report.unprotected
                ? [0, 1, 2, 3, 4, 5, 7, 12, 13, 14][Int.random(in: 0..<10, using: &random)]
                : Int.random(in: 0..<15, using: &random)
            switch kind {
            case 0: action = .fault(.thermocouple(channel: channel, .open))
            case 1: action = .fault(.thermocouple(channel: channel, .shorted))
            case 2:
                action = .fault(
                    .thermocouple(
                        channel: channel,
                        .drifting(celsiusPerSecond: Double.random(in: -20...(-2), using: &random))
                    )
                )
            case 3: action = .fault(.thermocouple(channel: channel, .stuck))
            case 4:
                action = .fault(.impedance([.short, .open, .step(ohms: 2000)][Int.random(in: 0...2, using: &random)]))
            case 5: action = .fault(.powerMismatch(factor: [0.3, 1.6, 3.0][Int.random(in: 0...2, using: &random)]))
            case 6: action = .fault(.rfStuckOn(true))
            case 7: action = .fault(.telemetryStall(true))
            case 8: action = .fault(.bitErrors(probability: Double.random(in: 0.0001...0.01, using: &random)))
            case 9: action = .fault(.garbage(bytes: Int.random(in: 1...300, using: &random)))
            case 10: action = .fault(.reboot)
            case 11: action = .pullCable
            case 12: action = .stall(ticks: Int.random(in: 1...8, using: &random))
            case 14:
                // A step in one reading: over the cap, too fast a rise or a disagreement, at once.
                action = .fault(
                    .thermocouple(channel: channel, .offset(celsius: Double.random(in: 10...70, using: &random)))
                )
            default:
                // An operator's stop, estop or ack; half the time, others act in the same tick.
                let operation = [Operation.stop, .estop, .ack][Int.random(in: 0...2, using: &random)]
                operators(at: at(when), operation)
                if Bool.random(using: &random) { race(at: at(when)) }
                if case .stop = operation, Bool.random(using: &random) {
                    // A stop is followed, half the time, by an emergency stop after the lesion's
                    // end: the record must follow the daemon from stopped to faulted.
                    operators(at: at(when + Double.random(in: 0.05...1, using: &random)), .estop)
                }
                continue
            }
            events.append((at(when), action))
            if case .pullCable = action {
                events.append((at(when + Double.random(in: 0.05...1.5, using: &random)), .plugCable))
            }
        }
        // An operator who acknowledges and starts again, whatever happened; sometimes raced.
        let again = Double.random(in: 2...(SimulationLimits.faultRunSeconds - 0.5), using: &random)
        operators(at: at(again), .ack)
        if Bool.random(using: &random) { race(at: at(again)) }
        operators(at: at(again + 0.05), .start(hold: 30, handover: Bool.random(using: &random)))
        if Bool.random(using: &random) { race(at: at(again + 0.05)) }
        // In time order; events of one instant keep the order they were drawn in.
        events = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// One operator's request at `time`, from a client drawn from the seed.
    mutating func operators(at time: Int64, _ operation: Operation) {
        let client = Int.random(in: 0..<SimulationLimits.clients, using: &random)
        events.append((time, .request(client: client, operation)))
    }

    /// One to three more requests in the same tick, from any clients: two stops, two starts, an
    /// estop racing a start, an ack racing a stop. Each must get its own outcome.
    mutating func race(at time: Int64) {
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let operation = [
                Operation.start(hold: 30, handover: Bool.random(using: &random)), .stop, .estop, .ack,
            ][Int.random(in: 0...3, using: &random)]
            operators(at: time, operation)
        }
    }

    /// A sensor seed's script: the start, then one thermocouple fault.
    mutating func sensorScript(start t0: Int64) {
        events.append((t0 + 100_000, .request(client: 0, .start(hold: 120))))
        let when = Double.random(in: 0...SimulationLimits.sensorFaultWithinSeconds, using: &random)
        let fault: ThermocoupleFault
        switch Int.random(in: 0..<6, using: &random) {
        case 0: fault = .shorted
        case 1: fault = .stuck
        case 2: fault = .open
        case 3: fault = .offset(celsius: -Double.random(in: 3...30, using: &random))
        case 4: fault = .offset(celsius: Double.random(in: 3...30, using: &random))
        default:
            fault = .drifting(
                celsiusPerSecond: -Double.random(in: SimulationLimits.sensorSlowestDrift...5, using: &random)
            )
        }
        let channels = [[0], [1], [0, 1]][Int.random(in: 0...2, using: &random)]
        report.sensorFault = "\(fault) on \(channels == [0, 1] ? "both channels" : "channel \(channels[0])")"
        let at = t0 + 100_000 + Int64(when * 1e6)
        for channel in channels { events.append((at, .fault(.thermocouple(channel: channel, fault)))) }
        sensorFaultAt = at
        sensorEnd = at + Int64(SimulationLimits.sensorWatchSeconds * 1e6)
    }

    mutating func run() -> SimulationReport {
        // A longer hold than the liveness runs' gets that much longer to complete.
        let limit =
            report.faultFree
            ? SimulationLimits.livenessLimitSeconds + holdSeconds - SimulationLimits.livenessHoldSeconds
            : SimulationLimits.faultRunSeconds
        let end = sensorEnd ?? now + Int64(limit * 1_000_000)
        while now < end && report.violation == nil {
            while let next = events.first, next.at <= now {
                events.removeFirst()
                report.script.append("\(Double(now) / 1e6) s: \(next.what)")
                switch next.what {
                case .request(let client, let operation):
                    send(client, operation)
                case .fault(let fault):
                    api.rig.generator.inject(fault)
                    switch fault {
                    case .rfStuckOn: stuckOn = true
                    case .bitErrors, .garbage, .reboot: impaired = true
                    // Commands still reach the generator, and RF must go off when the readings
                    // stop; the stale-telemetry invariant below allows for the 50 ms limit.
                    case .telemetryStall: impaired = !report.unprotected
                    case .powerMismatch: powerFaulted = true
                    default: break
                    }
                case .pullCable:
                    api.rig.pullCable()
                    impaired = true
                case .plugCable:
                    api.rig.plugCable()
                case .stall(let ticks):
                    stalledTicks = ticks
                }
            }
            step()
            if report.faultFree && core.phase == .done { break }
        }
        if let at = sensorFaultAt {
            report.faultToRFOffMicroseconds = api.rig.generator.recorder.edges.last.flatMap {
                !$0.on && $0.microseconds >= at ? $0.microseconds - at : nil
            }
        }
        report.alarms = alarmsRaised.map(\.interlock.rawValue)
        if report.violation == nil && report.faultFree {
            report.completed = core.phase == .done
            if !report.completed {
                report.violation =
                    "liveness: a fault-free lesion did not complete in \(limit) s (phase \(core.phase.rawValue), alarms \(core.alarms))"
            } else if !alarmsRaised.isEmpty {
                report.violation = "liveness: a fault-free lesion raised \(alarmsRaised)"
            } else if record.count != 1 || record.last?.outcome != "done" {
                report.violation = "the record of a completed lesion reads \(record.map { $0.outcome ?? "running" })"
            }
        }
        return report
    }

    /// One control tick, the time to the next with every frame checked on arrival, and the
    /// invariants after them.
    mutating func step() {
        let raisedBefore = alarmsRaised.count
        // A stalled loop: no tick, no request taken; the generator and the link thread go on.
        let stalled = stalledTicks > 0
        if stalled {
            stalledTicks -= 1
            lastStalledAt = now
        } else {
            let (requests, out) = api.decide()
            checkOutcomes(of: requests, out)
            checkAnswers(of: requests, out)
            absorb(out, at: now)
            if core.phase.isActive, let profile = core.profile {
                let tip = api.rig.generator.tipTemperature
                if tip >= profile.setPointCelsius - profile.holdBandCelsius { trueBandReached = true }
                if trueBandReached && abs(tip - profile.setPointCelsius) <= profile.holdBandCelsius {
                    trueHoldSeconds += Double(Simulation.tick) / 1e6
                }
            }
        }
        for reaction in api.advance() {
            absorb(reaction.output, at: reaction.microseconds)
            // The reaction per frame: an RF_OFF decided on a frame's arrival has switched the
            // output stage off by the time the generator took it, with no tick in between.
            if reaction.output.generator.contains(.rfOff) && reaction.outputEnabledAfter && !stuckOn && !impaired {
                fail("RF_OFF decided on a frame's arrival left the generator's output on")
            }
        }
        // Every alarm is in the record: in the lesion under way, or the last one ended (which
        // may be the one before the last, when a start followed the alarm in the same tick).
        if !record.isEmpty {
            for alarm in alarmsRaised[raisedBefore...]
            where !record.suffix(2).contains(where: { lesion in
                lesion.alarms.contains { $0.interlock == alarm.interlock.rawValue && $0.detail == alarm.detail }
            }) {
                fail("alarm \(alarm) is not in the treatment record")
            }
        }
        if !stalled { report.ticks += 1 }
        check(telemetryAt: api.rig.engine.snapshot.telemetryReceivedAt.microseconds)
    }

    /// What the invariants track, from one output of the machine (a tick's or an arrival's).
    mutating func absorb(_ out: MachineOutput, at time: Int64) {
        for action in out.actions {
            switch action {
            case .generator: break
            case .alarm(let alarm):
                alarmsRaised.append(alarm)
                alarmAt = time
                armed = false
            case .refused: break
            case .phaseChanged(let from, let to):
                if to.beginsLesion(from: from) {
                    energyAtStart = api.rig.generator.deliveredEnergyJoules
                    trueHoldSeconds = 0
                    trueBandReached = false
                    // A lesion began: by an accepted start (checked in `checkOutcomes`).
                    armed = true
                }
                if !to.isActive { armed = false }
                // An alarm after the acknowledgement belongs to the last lesion's record but is
                // not its outcome: the daemon went through idle.
                if to == .idle { passedIdleSinceLesion = true }
                if to == .impedanceCheck { passedIdleSinceLesion = false }
            }
        }
        if !armed && disarmedAt == nil { disarmedAt = time }
        if armed { disarmedAt = nil }
        keepRecord(out.records)
    }

    /// One simulated operator's action, as request lines on its connection: a start takes the
    /// lease first (after the holder hands it over, when the script says so, in the same tick).
    mutating func send(_ client: Int, _ operation: Operation) {
        let id = clients[client]
        switch operation {
        case .start(let hold, let handover):
            if handover, let holder = api.sessions.leaseHolder, holder != id,
                let index = clients.firstIndex(of: holder)
            {
                sendLine(index, "lease.release")
            }
            if api.sessions.leaseHolder != id { sendLine(client, "lease.acquire") }
            sendLine(client, "start", #"{"level":"\#(Operator.level(client))","hold_s":\#(hold)}"#)
        case .stop: sendLine(client, "stop")
        case .estop: sendLine(client, "estop")
        case .ack: sendLine(client, "ack")
        }
    }

    /// One request line from a simulated client, noted as waiting for its answer; answers that
    /// come at once (the lease, refusals before the tick) are taken now.
    mutating func sendLine(_ client: Int, _ method: String, _ params: String? = nil) {
        let id = clients[client]
        let request = nextRequestID[client]
        nextRequestID[client] += 1
        let command = ["start", "stop", "estop", "ack"].contains(method)
        // A start from a client without the lease never reaches the tick: answered at once.
        let reachesTick = command && (method != "start" || api.sessions.leaseHolder == id)
        unanswered[id, default: [:]][request] = reachesTick
        let text =
            params.map { #"{"id":\#(request),"method":"\#(method)","params":\#($0)}"# }
            ?? #"{"id":\#(request),"method":"\#(method)"}"#
        api.send(id, text)
        takeAnswers(client: id)
    }

    /// Files a client's answers against what it sent: each request answered once, by its id.
    mutating func takeAnswers(client id: UInt64) {
        for answer in api.takeAnswers(id) {
            if case .failure(let error) = answer.reply {
                report.script.append(
                    "\(Double(now) / 1e6) s: client \(clients.firstIndex(of: id) ?? -1) told \(error.code.rawValue)"
                )
            }
            guard case .number(let request) = answer.id, unanswered[id]?[request] != nil else {
                return fail(
                    "client \(id) got an answer to \(answer.id.map { "\($0)" } ?? "no id") that it was not waiting for: \(answer.reply)"
                )
            }
            unanswered[id]?[request] = nil
        }
    }

    /// After the tick: every request sent before it has its answer (the tick takes every queued
    /// command), and each command's answer is its outcome: a client has as many `{}` answers to
    /// its commands as the tick accepted of its requests.
    mutating func checkAnswers(of requests: [OperatorRequest], _ out: MachineOutput) {
        for id in clients {
            let waiting = unanswered[id] ?? [:]
            let answers = api.takeAnswers(id)
            var done = 0
            for answer in answers {
                guard case .number(let request) = answer.id, waiting[request] == true else {
                    return fail(
                        "client \(id)'s answer at the tick is to a request that was not to reach the tick "
                            + "(a start without the lease) or was never sent: \(answer)"
                    )
                }
                unanswered[id]?[request] = nil
                if answer.reply == .empty { done += 1 }
                let told = if case .failure(let error) = answer.reply { "refused: \(error.message)" } else { "done" }
                report.script.append(
                    "\(Double(now) / 1e6) s: client \(clients.firstIndex(of: id) ?? -1)'s request \(request) \(told)"
                )
            }
            if let left = unanswered[id], !left.isEmpty {
                return fail("client \(id)'s requests \(left.keys.sorted()) have no answer after the tick")
            }
            let accepted = zip(requests, out.outcomes).filter { $0.0.client == id && $0.1.accepted }.count
            if done != accepted {
                fail("client \(id) was answered done \(done) times; the tick accepted \(accepted) of its requests")
            }
        }
    }

    /// Each request's outcome against what the tick did: one outcome per request under its own
    /// ticket; as many accepted starts as lesions begun (with the record naming that start's level
    /// and uid), every stop done with RF_OFF and no more lesions stopped than stops, accepted
    /// acknowledgements as alarms cleared; every emergency stop accepted; and the API's command events saying the same.
    mutating func checkOutcomes(of requests: [OperatorRequest], _ out: MachineOutput) {
        guard out.outcomes.map(\.ticket) == requests.map(\.ticket) else {
            return fail("outcomes \(out.outcomes.map(\.ticket)) for requests \(requests.map(\.ticket))")
        }
        var began = 0
        var stopped = 0
        var cleared = 0
        for case .phaseChanged(let from, let to) in out.actions {
            if to.beginsLesion(from: from) { began += 1 }
            if to == .stopped { stopped += 1 }
            if from == .faulted && to == .idle { cleared += 1 }
        }
        func accepted(_ matches: (OperatorCommand) -> Bool) -> [OperatorRequest] {
            zip(requests, out.outcomes).filter { matches($0.0.command) && $0.1.accepted }.map(\.0)
        }
        let starts = accepted { if case .start = $0 { true } else { false } }
        let stops = accepted { $0 == .stop }
        let acks = accepted { $0 == .acknowledge }
        let estops = requests.filter { $0.command == .emergencyStop }
        if starts.count != began { fail("\(starts.count) starts accepted in a tick that began \(began) lesions") }
        // A stop is idempotent: always done, ending the lesion that runs (at most one a stop), and
        // RF_OFF goes out for it even with nothing running.
        if stops.count != requests.filter({ $0.command == .stop }).count { fail("a stop was refused") }
        if stopped > stops.count { fail("\(stops.count) stops accepted in a tick that stopped \(stopped) lesions") }
        if !stops.isEmpty && !out.generator.contains(.rfOff) { fail("a stop was done without RF_OFF") }
        if acks.count != cleared { fail("\(acks.count) acknowledgements accepted in a tick that cleared \(cleared)") }
        if accepted({ $0 == .emergencyStop }).count != estops.count { fail("an emergency stop was refused") }
        for case .began(let begun) in out.records {
            if let start = starts.first, begun.level != start.level || begun.operatorUID != start.uid {
                fail(
                    "the record names \(begun.level) uid \(begun.operatorUID); "
                        + "the start carried out was \(start.level) uid \(start.uid)"
                )
            }
        }
        let told = out.events.compactMap { if case .command(let c) = $0 { c } else { nil } }
        let expected = zip(requests, out.outcomes).map {
            CommandOutcome(
                command: $0.0.command.name,
                uid: $0.0.uid,
                client: $0.0.client,
                accepted: $0.1.accepted,
                reason: $0.1.refusal
            )
        }
        if told != expected { fail("the API was told \(told), the outcomes were \(expected)") }
    }

    /// Files one output's record entries as the record thread does (`RecordRouter`, as
    /// `RecordWriter` follows it). Then checks that the record's outcome follows the daemon.
    mutating func keepRecord(_ entries: [RecordEntry]) {
        for entry in entries {
            switch (entry, router.route(entry)) {
            case (.began(let begun), .newLesion(let number)):
                if number != record.count { fail("lesion \(number) begun after \(record.count)") }
                record.append(RecordedLesion(level: begun.level, uid: begun.operatorUID))
            case (.sample(_, let summary), .lesion(let number)):
                record[number].summary = summary
            case (.alarm(let alarm), .lesion(let number)), (.alarm(let alarm), .afterEnd(let number)):
                record[number].alarms.append(alarm)
            case (.ended(let end), .lesion(let number)):
                record[number].summary = end.summary
                record[number].outcome = end.outcome
                checkEnded(end.summary)
            case (.amended(let outcome, _), .afterEnd(let number)):
                record[number].outcome = outcome
            case (.alarm, .nowhere):
                break
            case (let entry, let destination):
                fail("record entry \(entry) went to \(destination)")
            }
        }
        // The record says what the daemon ended in: after a lesion's end, until the operator's
        // acknowledgement or the next start, the core's phase and the record's outcome agree.
        if let lesion = record.last, let outcome = lesion.outcome,
            [.done, .stopped, .faulted].contains(core.phase), outcome != core.phase.rawValue,
            !passedIdleSinceLesion
        {
            fail("the record's outcome is \(outcome) while the daemon is \(core.phase.rawValue)")
        }
    }

    /// At a lesion's end: its recorded energy and time at temperature against the simulator's own.
    mutating func checkEnded(_ summary: LesionSummary) {
        if !powerFaulted && !stuckOn && !impaired {
            let difference = abs(summary.energyJoules - deliveredJoules)
            if difference > deliveredJoules * SimulationLimits.energyTolerance + 1 {
                fail("the record's energy is \(summary.energyJoules) J, the generator delivered \(deliveredJoules) J")
            }
        }
        // Time at temperature only where the readings are true: a fault-free lesion.
        if report.faultFree {
            let tolerance =
                trueHoldSeconds * SimulationLimits.holdTimeTolerance + SimulationLimits.holdTimeToleranceSeconds
            if abs(summary.holdSeconds - trueHoldSeconds) > tolerance {
                fail(
                    "the record's time at temperature is \(summary.holdSeconds) s, the simulator's \(trueHoldSeconds) s"
                )
            }
        }
    }

    mutating func fail(_ text: String) {
        if report.violation == nil { report.violation = "\(Double(now) / 1e6) s: \(text)" }
    }

    /// The invariants, after every tick.
    mutating func check(telemetryAt: Int64) {
        let rfOn = api.rig.generator.isOutputEnabled && api.rig.generator.deliveredPower > 0.05
        // Commands reach the generator within a tick on a sound link; on an impaired one the
        // generator's own watchdog (100 ms) and set-point expiry end RF.
        // RF_OFF goes out in the tick that decides it, so on a sound link the generator is off
        // by the next look: one tick.
        let grace = Simulation.tick + (impaired ? 150_000 : 0)
        if rfOn && !stuckOn {
            // RF is on only in a treatment an operator started, and off within the grace of any
            // alarm or end, until the next accepted start.
            if !armed, let since = disarmedAt, now - since >= grace {
                let cause = alarmAt.map { at in "alarm \(core.alarms.last.map { "\($0)" } ?? "") \(now - at) µs ago" }
                fail("RF on \(now - since) µs after the treatment ended (\(cause ?? "phase \(core.phase.rawValue)"))")
            }
            // A stalled loop decides nothing, and with telemetry stalled too no frame arrives for
            // the link thread to check: for a hung host it is the generator's watchdog and
            // set-point expiry that end RF, and an unprotected generator has neither. The core
            // answers for stale telemetry from its first tick after a stall (the million-seed
            // campaign found 4 seeds in 10^5 that held it to account while it was stalled).
            let acting = lastStalledAt.map { now - $0 > grace } ?? true
            if acting && now - telemetryAt > InterlockLimits.staleMicroseconds + grace {
                fail("RF on with telemetry \(now - telemetryAt) µs old")
            }
        }
        if rfOn && !stuckOn {
            report.peakWhileRFOn = max(report.peakWhileRFOn, api.rig.generator.tipTemperature)
            // The cap itself, by the truth: no sensor fault may let RF heat the tip to it.
            if api.rig.generator.tipTemperature >= InterlockLimits.maxTemperatureCelsius {
                fail(
                    "the true tip is at \(api.rig.generator.tipTemperature) °C with RF on (cap \(InterlockLimits.maxTemperatureCelsius) °C; "
                        + "readings \(api.rig.generator.samples.map { "\($0.celsius) \($0.status)" }))"
                )
            }
        }
        if !stuckOn
            && api.rig.generator.tipTemperature > InterlockLimits.maxTemperatureCelsius
                + SimulationLimits.temperatureMarginCelsius
        {
            fail(
                "tip at \(api.rig.generator.tipTemperature) °C, over the \(InterlockLimits.maxTemperatureCelsius) °C cap by more than the margin"
            )
        }
        for alarm in alarmsRaised.suffix(1) where core.phase == .faulted {
            if !core.alarms.contains(where: { $0.id == alarm.id }) {
                fail("alarm \(alarm) is not latched in the core's record")
            }
        }
        if core.phase.isActive && !powerFaulted && !stuckOn && !impaired, let recorded = record.last?.summary {
            let difference = abs(recorded.energyJoules - deliveredJoules)
            if difference > deliveredJoules * SimulationLimits.energyTolerance + 1 {
                fail("the record's energy is \(recorded.energyJoules) J, the generator delivered \(deliveredJoules) J")
            }
        }
    }
}

extension World.Kind {
    var isMixed: Bool { if case .mixed = self { true } else { false } }
}
