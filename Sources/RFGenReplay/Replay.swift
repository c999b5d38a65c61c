// Regression replay: a recorded lesion fed back through this build's daemon machine in virtual
// time, its decisions compared with the recorded ones. Pure: the record in, a report out.

import RFGenAPI
import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol

/// One place where this build decided otherwise than the recording.
public struct ReplayDifference: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case phase
        case powerCommand = "power_command"
        case alarm
        case rfOff = "rf_off"
    }

    public var kind: Kind
    /// Since the lesion's start, seconds.
    public var seconds: Double
    public var recorded: String
    public var replayed: String
    /// What the machine saw when it decided: the reading, the ramped set point, the load.
    public var context: String

    public var description: String {
        let time = (seconds * 100).rounded() / 100
        return "at \(time) s, \(kind.rawValue): recorded \(recorded), this build \(replayed) (\(context))"
    }
}

/// What a replay found.
public struct ReplayReport: Hashable, Sendable {
    /// Which lesion: its id, level and profile, as recorded.
    public var lesion: String
    /// Decisions compared: one phase and one power command a tick, and each alarm.
    public var decisions: Int
    /// Every difference, in time order; the first is the one to read.
    public var differences: [ReplayDifference]

    public var identical: Bool { differences.isEmpty }

    /// The report in words: the verdict, then the first difference and how many followed.
    public var text: String {
        guard let first = differences.first else {
            return "\(lesion): \(decisions) decisions, all as recorded"
        }
        return "\(lesion): \(differences.count) of \(decisions) decisions differ; the first:\n  \(first)"
            + (differences.count > 1 ? "\n  (later differences may follow from the first: replay is open-loop)" : "")
    }
}

/// Why a record cannot be replayed.
public struct ReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Replays records. A record keeps, each tick of an active lesion, the telemetry the tick acted on
/// (both channels, power, the generator's set point, impedance, RF state) and the phase; besides
/// them the profile as used, the alarms and the end. From these the replay rebuilds the machine's
/// inputs: each sample's frame arriving 1 ms before its tick, the start at the first tick, an
/// operator's stop or emergency stop where the record has one, the impedance check's result
/// before the first tick of the ramp, a generator fault or a lost link from the alarm that
/// reported it, and a stalled loop from the gap in the samples before its alarm (no tick fills it). The generator's answers are the recorded ones whatever this build
/// commands (open loop), so after a first difference later ones may only follow from it.
public enum Replay {
    /// The largest difference between a recorded and a replayed power command taken as equal,
    /// milliwatts: the record keeps watts to the milliwatt.
    public static let powerToleranceMilliwatts: UInt32 = 1
    /// How far apart in time a recorded and a replayed alarm may be and still be the same one:
    /// one tick and the 1 ms a frame's check may precede it.
    public static func alarmToleranceMicroseconds(tick: Int64) -> Int64 { tick + 1000 }

    /// Replays one lesion. `profile` replaces the recorded profile (a what-if: the decisions then
    /// differ from the recorded ones where the profile matters).
    public static func run(_ document: RecordDocument, profile override: TreatmentProfile? = nil) throws -> ReplayReport
    {
        let record = document.record
        let samples = document.samples
        guard samples.count >= 2 else { throw ReplayError("lesion \(record.id) has \(samples.count) samples; needs 2") }
        guard let parameters = record.profileParameters else {
            throw ReplayError("lesion \(record.id) does not record its profile's parameters (made before v3)")
        }
        guard samples.allSatisfy({ $0.phase != nil }) else {
            throw ReplayError("lesion \(record.id) does not record each sample's phase (made before v3)")
        }
        try Self.check(samples)
        let profile = try override ?? Self.profile(parameters)
        let t0 = samples[0].wallUs
        // The tick: the commonest spacing of samples (ticks are one apart while a lesion runs).
        let spacings = Dictionary(
            zip(samples.dropFirst(), samples).map { ($0.wallUs - $1.wallUs, 1) },
            uniquingKeysWith: +
        )
        let tick = spacings.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0
        guard (1_000...100_000).contains(tick) else { throw ReplayError("samples \(tick) µs apart: not one a tick") }
        let lesion = "lesion \(record.id) (\(record.level), \(record.profile))"
        let alarms = document.alarms.filter { $0.wallUs >= t0 }
        let end = record.endedUs ?? (samples.last!.wallUs + tick)
        let channels = samples.contains { $0.secondTempC != nil } ? 2 : 1

        // Events the record shows, as the machine's inputs.
        func alarmTime(_ cause: String) -> Int64? { alarms.first { $0.cause == cause }?.wallUs }
        let estopAt = alarmTime(Interlock.emergencyStop.rawValue)
        let stopAt = record.outcome == TreatmentPhase.stopped.rawValue && estopAt == nil ? end : nil
        let linkLostAt = alarmTime(Interlock.linkLost.rawValue)
        let overrunAt = alarmTime(Interlock.controlLoopOverrun.rawValue)
        let faultAt = alarms.first { $0.cause == Interlock.generatorFault.rawValue }
        let faultBits = faultAt.flatMap { Self.faultBits(in: $0.detail) } ?? FaultBits()
        let sensorStatus =
            alarms.first { $0.cause == Interlock.temperatureSensor.rawValue }
            .flatMap { alarm in TemperatureStatus.allCases.first { alarm.detail.hasSuffix(" \($0)") } } ?? .open
        let recordUnavailable = alarmTime(Interlock.recordUnavailable.rawValue) != nil
        let impedance = Self.impedanceResult(document, tick: tick)

        var machine = DaemonMachine(tickSeconds: Double(tick) / 1e6)
        var link = LinkSnapshot(connected: true, generatorMaxPowerWatts: profile.powerLimitWatts)
        // Per sample, the phase after its step and the power its tick commanded.
        var phases: [TreatmentPhase?] = Array(repeating: nil, count: samples.count)
        var commands: [UInt32?] = Array(repeating: nil, count: samples.count)
        var replayedAlarms: [Alarm] = []
        var rfOffAt: Int64?
        var commanded: UInt32?

        func collect(_ out: MachineOutput, at now: Int64) {
            for action in out.actions {
                if case .alarm(let alarm) = action { replayedAlarms.append(alarm) }
                if case .generator(.setPower(let milliwatts, _)) = action { commanded = milliwatts }
                if case .generator(.rfOff) = action, rfOffAt == nil, now > t0 { rfOffAt = now }
            }
        }
        func arrive(_ index: Int, at arrival: Int64) {
            let faulted = faultAt.map { arrival >= $0.wallUs } ?? false
            link.telemetry = Self.telemetry(
                samples[index],
                channels: channels,
                sensorStatus: sensorStatus,
                faults: faulted ? faultBits : FaultBits(),
                timestamp: UInt64(arrival - t0 + 1_000_000)
            )
            link.telemetryReceivedAt = MonotonicInstant(microseconds: arrival)
            update(at: arrival)
            collect(
                machine.telemetryArrived(
                    now: MonotonicInstant(microseconds: arrival),
                    wall: WallInstant(microsecondsSinceEpoch: arrival),
                    link: link,
                    linkState: link.connected ? .ready : .closed
                ),
                at: arrival
            )
        }
        func update(at now: Int64) {
            if let linkLostAt, now >= linkLostAt { link.connected = false }
            if let impedance, impedance.at <= now, link.impedanceResult == nil {
                link.impedanceResult = impedance.result
                link.impedanceResultReceivedAt = MonotonicInstant(microseconds: impedance.at)
            }
        }
        var ticket: UInt64 = 1
        var lastTick: Int64?
        func tickAt(_ now: Int64) throws {
            update(at: now)
            var requests: [OperatorRequest] = []
            func request(_ command: OperatorCommand) {
                requests.append(OperatorRequest(ticket: ticket, command: command, level: record.level))
                ticket += 1
            }
            // A request the record shows at some instant is taken by the first tick at or after it.
            func due(_ at: Int64?) -> Bool { at.map { now >= $0 && (lastTick ?? Int64.min) < $0 } ?? false }
            if now == t0 { request(.start(profile)) }
            if due(estopAt) { request(.emergencyStop) }
            if due(stopAt) { request(.stop) }
            let before = machine.core.phase
            commanded = nil
            let out = machine.tick(
                TickInput(
                    now: MonotonicInstant(microseconds: now),
                    wall: WallInstant(microsecondsSinceEpoch: now),
                    link: link,
                    linkState: link.connected ? .ready : .closed,
                    requests: requests,
                    recordedStarts: recordUnavailable ? 0 : Int.max
                )
            )
            if now == t0, machine.core.phase == before {
                let why = out.outcomes.first?.refusal ?? "no reason given"
                throw ReplayError("\(lesion): this build refuses the recorded start: \(why)")
            }
            collect(out, at: now)
            lastTick = now
        }

        // Each sample is a tick, its frame arriving 1 ms before it (a frame the generator had not
        // yet replaced arrives only once); the sample of the step that ended the lesion may be a
        // frame checked on arrival, so its frame arrives at its own instant. Between and after the
        // samples (telemetry stalled, the lesion over) ticks go on at the tick.
        // When frames arrive, relative to the ticks: a sample taken on a frame's arrival (the one
        // that ended the lesion) shows it; otherwise 1 ms before the tick, where the daemon's
        // phase lock keeps them.
        let arrivalAfterTick =
            samples.last.flatMap { last -> Int64? in
                let phase = last.phase.flatMap(TreatmentPhase.init(rawValue:))
                let offset = (last.wallUs - t0) % tick
                return phase?.isActive == false && offset != 0 ? offset : nil
            } ?? (tick - 1000)
        var now = t0
        var index = 0
        while now <= end + 2 * tick {
            guard index < samples.count, samples[index].wallUs <= now + tick / 2 else {
                // The loop that stalled before a recorded control_loop_overrun did not tick: the
                // gap the record shows is left as it was, for this build to judge.
                if let overrunAt, index < samples.count, now < overrunAt, samples[index].wallUs >= overrunAt {
                    now = samples[index].wallUs
                    continue
                }
                try tickAt(now)
                now += tick
                continue
            }
            let sample = samples[index]
            let active = sample.phase.flatMap(TreatmentPhase.init(rawValue:))?.isActive ?? true
            if index == 0 || !Self.sameFrame(samples[index - 1], sample) {
                arrive(index, at: active ? sample.wallUs - tick + arrivalAfterTick : sample.wallUs)
            }
            try tickAt(sample.wallUs)
            phases[index] = machine.core.phase
            commands[index] = commanded
            index += 1
            now = sample.wallUs + tick
        }

        // The comparison, one decision at a time.
        var differences: [ReplayDifference] = []
        func seconds(_ wall: Int64) -> Double { Double(wall - t0) / 1e6 }
        func context(_ k: Int) -> String {
            let s = samples[min(k, samples.count - 1)]
            let tip = s.tipTempC.map { "tip \($0) °C" } ?? "tip unknown"
            let target = s.setpointC.map { ", set point \(($0 * 100).rounded() / 100) °C" } ?? ""
            let load = s.impedanceOhm.map { ", \($0) Ω" } ?? ""
            return tip + target + load + ", \(s.powerW) W delivered"
        }
        var compared = 0
        for (k, sample) in samples.enumerated() {
            guard let recordedPhase = sample.phase, let replayedPhase = phases[k] else { continue }
            compared += 1
            if replayedPhase.rawValue != recordedPhase {
                differences.append(
                    ReplayDifference(
                        kind: .phase,
                        seconds: seconds(sample.wallUs),
                        recorded: recordedPhase,
                        replayed: replayedPhase.rawValue,
                        context: context(k)
                    )
                )
            }
            // The generator reports in each frame the set point it holds: the one the tick before
            // commanded. Compared while RF is on, where a command is a decision, only where the
            // next sample is a new frame, and only where its set point changed: an unchanged one
            // may be a command that never reached the generator.
            guard k + 1 < samples.count, samples[k + 1].rfOn, !Self.sameFrame(samples[k], samples[k + 1]),
                samples[k + 1].setpointW != samples[k].setpointW, let replayedMilliwatts = commands[k]
            else { continue }
            let recordedMilliwatts = UInt32((samples[k + 1].setpointW * 1000).rounded())
            compared += 1
            let gap = max(recordedMilliwatts, replayedMilliwatts) - min(recordedMilliwatts, replayedMilliwatts)
            if gap > Self.powerToleranceMilliwatts {
                differences.append(
                    ReplayDifference(
                        kind: .powerCommand,
                        seconds: seconds(sample.wallUs),
                        recorded: "\(Double(recordedMilliwatts) / 1000) W",
                        replayed: "\(Double(replayedMilliwatts) / 1000) W",
                        context: context(k)
                    )
                )
            }
        }
        let tolerance = Self.alarmToleranceMicroseconds(tick: tick)
        var unmatched = replayedAlarms
        for alarm in alarms {
            compared += 1
            if let match = unmatched.firstIndex(where: {
                $0.interlock.rawValue == alarm.cause && abs($0.raisedAt.microseconds - alarm.wallUs) <= tolerance
            }) {
                unmatched.remove(at: match)
            } else {
                let replayed = unmatched.first { $0.interlock.rawValue == alarm.cause }
                differences.append(
                    ReplayDifference(
                        kind: .alarm,
                        seconds: seconds(alarm.wallUs),
                        recorded: "\(alarm.cause) (\(alarm.detail))",
                        replayed: replayed.map { "it at \(seconds($0.raisedAt.microseconds)) s" } ?? "none",
                        context: context(samples.lastIndex { $0.wallUs <= alarm.wallUs } ?? 0)
                    )
                )
            }
        }
        for alarm in unmatched {
            differences.append(
                ReplayDifference(
                    kind: .alarm,
                    seconds: seconds(alarm.raisedAt.microseconds),
                    recorded: "none",
                    replayed: "\(alarm.interlock.rawValue) (\(alarm.detail))",
                    context: context(samples.lastIndex { $0.wallUs <= alarm.raisedAt.microseconds } ?? 0)
                )
            )
        }
        // RF off: when the recording's lesion ended, within the alarms' tolerance.
        if let endedUs = record.endedUs {
            compared += 1
            if rfOffAt.map({ abs($0 - endedUs) > tolerance }) ?? true {
                differences.append(
                    ReplayDifference(
                        kind: .rfOff,
                        seconds: seconds(endedUs),
                        recorded: "RF off as the lesion ended (\(record.outcome))",
                        replayed: rfOffAt.map { "RF off at \(seconds($0)) s" } ?? "RF never switched off",
                        context: context(samples.lastIndex { $0.wallUs <= endedUs } ?? 0)
                    )
                )
            }
        }
        differences.sort { $0.seconds < $1.seconds }
        return ReplayReport(lesion: lesion, decisions: compared, differences: differences)
    }

    /// Refuses samples that no frame could have carried (a file is input like any other): times
    /// going back, values that are not numbers or do not fit the wire's fields.
    static func check(_ samples: [RecordSample]) throws {
        for (k, s) in samples.enumerated() {
            func fits(_ value: Double?, _ range: ClosedRange<Double>, _ what: String) throws {
                guard let value else { return }
                guard value.isFinite, range.contains(value) else {
                    throw ReplayError("sample \(k): \(what) \(value) does not fit the telemetry frame (\(range))")
                }
            }
            try fits(s.tipTempC, -327...327, "tip_temp_c")
            try fits(s.secondTempC, -327...327, "second_temp_c")
            try fits(s.powerW, 0...4_000_000, "power_w")
            try fits(s.setpointW, 0...4_000_000, "setpoint_w")
            try fits(s.impedanceOhm, 0...400_000_000, "impedance_ohm")
            if k > 0, s.wallUs <= samples[k - 1].wallUs {
                throw ReplayError("sample \(k): wall_us \(s.wallUs) is not after the sample before it")
            }
        }
    }

    /// Whether two consecutive samples are one frame seen by two ticks: every reading equal. The
    /// generator's noise makes two frames' readings differ; a record does not keep the frame's
    /// own number.
    static func sameFrame(_ a: RecordSample, _ b: RecordSample) -> Bool {
        a.tipTempC == b.tipTempC && a.secondTempC == b.secondTempC && a.powerW == b.powerW
            && a.setpointW == b.setpointW && a.impedanceOhm == b.impedanceOhm && a.rfOn == b.rfOn
    }

    /// The profile as the record keeps it.
    static func profile(_ p: ProfileInfo) throws -> TreatmentProfile {
        let mode = try p.mode.map { name in
            guard let mode = ControlMode(rawValue: name) else { throw ReplayError("unknown control mode \(name)") }
            return mode
        }
        // The dose asked only flags a lesion incomplete, which is no decision of the machine's.
        return TreatmentProfile(
            name: p.name,
            setPointCelsius: p.targetC,
            rampCelsiusPerSecond: p.rampCPerS,
            holdSeconds: p.holdS,
            holdBandCelsius: p.holdBandC,
            powerLimitWatts: p.powerLimitW,
            energyCapJoules: p.energyCapJ,
            minimumDoseCEM43Minutes: p.minDoseCem43Min ?? 0,
            mode: mode ?? .temperature
        )
    }

    /// A sample as the frame it was: the channels (a missing one with the status the alarm named),
    /// power, the generator's set point, the load and RF.
    static func telemetry(
        _ s: RecordSample,
        channels: Int,
        sensorStatus: TemperatureStatus,
        faults: FaultBits,
        timestamp: UInt64
    ) -> Telemetry {
        func reading(_ celsius: Double?) -> TemperatureReading {
            celsius.map { TemperatureReading(centiCelsius: Int16(($0 * 100).rounded()), status: .ok) }
                ?? TemperatureReading(centiCelsius: 0, status: sensorStatus)
        }
        let temperatures = [reading(s.tipTempC), reading(s.secondTempC)].prefix(channels)
        return Telemetry(
            timestampMicroseconds: timestamp,
            rfState: s.rfOn ? .on : .off,
            faults: faults,
            setPointMilliwatts: UInt32((s.setpointW * 1000).rounded()),
            powerMilliwatts: UInt32((s.powerW * 1000).rounded()),
            voltageMillivolts: 0,
            currentMilliamps: 0,
            impedanceDeciohms: s.impedanceOhm.map { UInt32(($0 * 10).rounded()) } ?? 0,
            impedanceValid: s.impedanceOhm != nil,
            temperatures: TemperatureReadings(temperatures)
        )
    }

    /// The generator's fault bits from a `generator_fault` alarm's detail: by name ("... faults:
    /// setpoint_expired, watchdog"), or as the mask older records wrote ("... faults 0x00000004").
    public static func faultBits(in detail: String) -> FaultBits? {
        let characters = Array(detail)
        if let at = characters.indices.first(where: { characters[$0...].starts(with: ["0", "x"]) }) {
            let hex = String(characters[(at + 2)...].prefix { $0.isHexDigit })
            return UInt32(hex, radix: 16).map { FaultBits(rawValue: $0) }
        }
        guard let colon = detail.lastIndex(of: ":") else { return nil }
        var bits = FaultBits()
        for word in detail[detail.index(after: colon)...].split(separator: ",") {
            let name = String(word.filter { $0 != " " })
            if let named = FaultBits.names.first(where: { $0.1 == name }) {
                bits.insert(named.0)
            } else if name.hasPrefix("bit_"), let bit = UInt32(name.dropFirst(4)), bit < 32 {
                bits.insert(FaultBits(rawValue: 1 << bit))
            } else {
                return nil
            }
        }
        return bits.isEmpty ? nil : bits
    }

    /// The impedance check's result and its arrival, as the record shows it: passed before the
    /// first tick of the ramp; failed as the `impedance_check_failed` alarm says (none when it
    /// says no result came); passed once the check's time was up when the lesion waited in the
    /// check for its record.
    static func impedanceResult(_ document: RecordDocument, tick: Int64) -> (at: Int64, result: ImpedanceResult)? {
        let samples = document.samples
        func passed(at: Int64, before: Int64) -> (at: Int64, result: ImpedanceResult) {
            let ohms = samples.last { $0.wallUs < before && $0.impedanceOhm != nil }?.impedanceOhm ?? 1000
            return (at, ImpedanceResult(ackSequence: 0, outcome: .ok, impedanceDeciohms: UInt32((ohms * 10).rounded())))
        }
        if let ramp = samples.first(where: { $0.phase == TreatmentPhase.ramp.rawValue }) {
            return passed(at: ramp.wallUs - 1000, before: ramp.wallUs)
        }
        guard let failed = document.alarms.first(where: { $0.cause == Interlock.impedanceCheckFailed.rawValue })
        else {
            let checked = samples[0].wallUs + Int64(InterlockLimits.impedanceCheckMilliseconds) * 1000 + tick
            return passed(at: checked, before: checked)
        }
        guard failed.detail.hasPrefix("impedance check: ") else { return nil }
        let seen = failed.detail.dropFirst("impedance check: ".count).prefix { $0 != "," }
        let result: ImpedanceResult
        if seen.hasSuffix(" Ω"), let ohms = Double(seen.dropLast(2)) {
            result = ImpedanceResult(ackSequence: 0, outcome: .ok, impedanceDeciohms: UInt32((ohms * 10).rounded()))
        } else {
            let outcome = ImpedanceOutcome.allCases.first { "\($0)" == seen } ?? .outOfRange
            result = ImpedanceResult(ackSequence: 0, outcome: outcome, impedanceDeciohms: 0)
        }
        return (failed.wallUs - 1000, result)
    }
}
