import Foundation
import RFGenAPI
import RFGenCore
import RFGenMachine
import RFGenProtocol
import RFGenRecords
import RFGenReplay
import RFGenSimulator
import Testing

/// The replay corpus: recorded simulated lesions (each tissue preset, each fault kind), kept in
/// Tests/ReplayCorpus as the JSON exports a site would make, replayed through this build. A change
/// that alters a decision fails here until the corpus is recorded again on purpose:
///
///     RFGEN_RERECORD=1 swift test --filter ReplayCorpusTests
@Suite(.serialized)
struct ReplayCorpusTests {
    static let directory =
        "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/Tests/ReplayCorpus"

    /// A short lesion: 50 °C reached at 2 °C/s and held 5 s, so that a lesion is a few hundred
    /// ticks and the corpus stays small.
    static let profile = TreatmentProfile(
        name: "corpus",
        setPointCelsius: 50,
        rampCelsiusPerSecond: 2,
        holdSeconds: 5,
        holdBandCelsius: 2,
        powerLimitWatts: 15,
        energyCapJoules: 2000,
        minimumDoseCEM43Minutes: 0
    )

    /// What happens to a lesion, and when.
    enum Event {
        case inject(InjectedFault)
        case command(OperatorCommand)
        case pullCable
        /// The control loop does not run for this long, microseconds.
        case stall(Int64)
        case dropCommands
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var tissue: TissueParameters = .normal
        /// Thermocouple channels: one, where a second would disagree before the interlock shown.
        var channels = 2
        var profile: TreatmentProfile = ReplayCorpusTests.profile
        /// Seconds after the start, and what happens then (nil: before the start).
        var at: Double? = 4
        var event: Event? = nil
        /// Generator commands that never arrive (a generator that ignores RF_ON).
        var dropTypes: Set<MessageType> = []
        /// The record never makes the start durable.
        var noRecord = false
        /// A generator without its own protection (no set-point expiry), where the host's own
        /// judgement is what ends the lesion.
        var selfProtection = true
        var testDescription: String { name }
    }

    /// Each preset completing, then each fault kind the daemon's machine decides on from
    /// telemetry, link and time. Not here: a stuck output stage (decided after the lesion's end,
    /// when the record keeps no samples to replay) and the treatment time cap (ten minutes of
    /// ticks for one file).
    static let scenarios: [Scenario] = [
        Scenario(name: "normal-complete"),
        Scenario(name: "sclerotic-complete", tissue: .sclerotic),
        Scenario(name: "high-perfusion-complete", tissue: .highPerfusion),
        Scenario(name: "operator-stop", event: .command(.stop)),
        Scenario(name: "emergency-stop", event: .command(.emergencyStop)),
        Scenario(name: "thermocouple-open", event: .inject(.thermocouple(channel: 1, .open))),
        Scenario(name: "thermocouple-shorted", event: .inject(.thermocouple(channel: 0, .shorted))),
        Scenario(name: "thermocouple-stuck", event: .inject(.thermocouple(channel: 0, .stuck))),
        Scenario(name: "thermocouple-offset", event: .inject(.thermocouple(channel: 0, .offset(celsius: -6)))),
        Scenario(
            name: "thermocouple-drift",
            event: .inject(.thermocouple(channel: 1, .drifting(celsiusPerSecond: -3)))
        ),
        Scenario(
            name: "shorted-before-start",
            channels: 1,
            at: nil,
            event: .inject(.thermocouple(channel: 0, .shorted))
        ),
        // A tissue whose conductivity does not follow temperature gives the plausibility check no
        // impedance evidence: no_temperature_rise's own threshold ends it (InterlockTests.noRise).
        Scenario(
            name: "no-temperature-rise",
            tissue: {
                var tissue = TissueParameters.normal
                tissue.electricalConductivityPerKelvin = 0
                return tissue
            }(),
            channels: 1,
            at: nil,
            event: .inject(.thermocouple(channel: 0, .shorted))
        ),
        Scenario(
            name: "thermocouple-runaway",
            channels: 1,
            event: .inject(.thermocouple(channel: 0, .drifting(celsiusPerSecond: 10)))
        ),
        Scenario(name: "over-temperature", event: .inject(.thermocouple(channel: 0, .offset(celsius: 55)))),
        Scenario(name: "impedance-out-of-range", event: .inject(.impedance(.step(ohms: 1450)))),
        Scenario(name: "generator-impedance-fault", event: .inject(.impedance(.step(ohms: 2000)))),
        Scenario(name: "impedance-rise", at: 8, event: .inject(.impedance(.step(ohms: 900)))),
        Scenario(name: "impedance-check-open", at: nil, event: .inject(.impedance(.open))),
        Scenario(name: "power-above-setpoint", event: .inject(.powerMismatch(factor: 2))),
        Scenario(name: "power-below-setpoint", at: 8, event: .inject(.powerMismatch(factor: 0.3))),
        Scenario(name: "telemetry-stall", event: .inject(.telemetryStall(true))),
        Scenario(name: "generator-reboot", event: .inject(.reboot)),
        Scenario(name: "link-lost", event: .pullCable),
        Scenario(name: "generator-fault", event: .dropCommands),
        Scenario(name: "control-loop-overrun", event: .stall(80_000), selfProtection: false),
        Scenario(name: "rf-dropped-by-generator", dropTypes: [.rfOn]),
        Scenario(
            name: "energy-cap",
            profile: TreatmentProfile(
                name: "capped",
                setPointCelsius: 50,
                rampCelsiusPerSecond: 2,
                holdSeconds: 5,
                holdBandCelsius: 2,
                powerLimitWatts: 15,
                energyCapJoules: 10,
                minimumDoseCEM43Minutes: 0
            )
        ),
        Scenario(name: "record-unavailable", noRecord: true),
    ]

    /// Runs a scenario's lesion against the simulator and returns its record as a site would
    /// export it: through a records database (`RecordStore`), in the API's JSON.
    static func record(_ scenario: Scenario) throws -> RecordDocument {
        var configuration = GeneratorConfiguration()
        configuration.tissue = scenario.tissue
        configuration.temperatureChannels = scenario.channels
        configuration.selfProtection = scenario.selfProtection
        var h = CoreHarness(configuration: configuration)
        h.dropTypes = scenario.dropTypes
        if scenario.noRecord { h.rig.recordedStarts = 0 }
        func happen(_ event: Event) {
            switch event {
            case .inject(let fault): h.generator.inject(fault)
            case .command(let command): h.tick([command])
            case .pullCable: h.pullCable()
            case .stall(let microseconds): h.pass(microseconds: microseconds)
            case .dropCommands: h.dropCommands = true
            }
        }
        if scenario.at == nil, let event = scenario.event { happen(event) }
        h.tick(requests: [h.request(.start(scenario.profile), level: "L4")])
        let started = h.now
        var happened = scenario.at == nil
        while h.core.phase.isActive && h.now - started < 60_000_000 {
            if !happened, let at = scenario.at, h.now - started >= Int64(at * 1e6), let event = scenario.event {
                happened = true
                happen(event)
                continue
            }
            h.tick()
        }
        h.run(seconds: 0.3)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString).sqlite")
            .path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let store = try RecordStore(path: path)
        var router = RecordRouter()
        var id: Int64?
        for entry in h.records {
            switch (entry, router.route(entry)) {
            case (.began(let start), .newLesion):
                id = try store.begin(start, daemonVersion: "corpus")
            case (.sample(let sample, let summary), .lesion):
                try store.append(lesion: try #require(id), samples: [sample], alarms: [], summary: summary)
            case (.alarm(let alarm), .lesion), (.alarm(let alarm), .afterEnd):
                try store.append(lesion: try #require(id), samples: [], alarms: [alarm], summary: nil)
            case (.ended(let end), .lesion):
                try store.finish(lesion: try #require(id), end)
            case (.amended(let outcome, let reason), .afterEnd):
                try store.amend(lesion: try #require(id), outcome: outcome, reason: reason)
            default:
                break
            }
        }
        return try store.document(lesion: try #require(id))
    }

    static func path(_ scenario: Scenario) -> String { directory + "/\(scenario.name).json" }

    @Test("Every recorded lesion of the corpus replays with the decisions it recorded", arguments: scenarios)
    func corpusReplays(_ scenario: Scenario) throws {
        if ProcessInfo.processInfo.environment["RFGEN_RERECORD"] != nil {
            let document = try Self.record(scenario)
            try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
            try APIJSON.encode(document, encoder: APIJSON.encoder()).write(
                to: URL(fileURLWithPath: Self.path(scenario))
            )
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path(scenario)))
        let document = try APIJSON.decoder().decode(RecordDocument.self, from: data)
        let report = try Replay.run(document)
        #expect(report.identical, "\(report.text)")
        #expect(report.decisions > 20)
    }

    @Test("The corpus covers each preset and each fault kind: every interlock it can show ends some lesion")
    func corpusCovers() throws {
        var causes: Set<String> = []
        for scenario in Self.scenarios {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.path(scenario)))
            causes.formUnion(try APIJSON.decoder().decode(RecordDocument.self, from: data).alarms.map(\.cause))
        }
        let notShown: Set<Interlock> = [.rfOnWhileCommandedOff, .treatmentTimeCap]
        for interlock in Interlock.allCases where !notShown.contains(interlock) {
            #expect(causes.contains(interlock.rawValue), "no lesion of the corpus ends in \(interlock.rawValue)")
        }
    }

    @Test("Fault bits are read back from an alarm by their names, or from the mask older records wrote")
    func faultBitsFromDetail() {
        #expect(
            Replay.faultBits(in: "the generator reports faults: setpoint_expired, watchdog") == [
                .setPointExpired, .watchdog,
            ]
        )
        #expect(Replay.faultBits(in: "the generator reports faults: bit_12") == FaultBits(rawValue: 1 << 12))
        #expect(Replay.faultBits(in: "the generator reports faults 0x00000004") == .setPointExpired)
        #expect(Replay.faultBits(in: "the generator reports faults: nonsense") == nil)
        #expect(FaultBits(rawValue: 0x1004).names == ["setpoint_expired", "bit_12"])
        #expect(FaultBits().names.isEmpty)
    }

    @Test("A changed decision fails the replay, and the first difference says what the machine saw")
    func changedDecisionCaught() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path(Self.scenarios[0])))
        let document = try APIJSON.decoder().decode(RecordDocument.self, from: data)
        // The same lesion decided with a set point 1 °C higher: the ramp's power commands differ.
        var hotter = Self.profile
        hotter.setPointCelsius += 1
        let report = try Replay.run(document, profile: hotter)
        #expect(!report.identical)
        let first = try #require(report.differences.first)
        #expect(first.kind == .powerCommand || first.kind == .phase, "\(first)")
        #expect(first.context.contains("tip") && first.context.contains("set point"), "\(first)")
        #expect(report.text.contains("the first:"), "\(report.text)")
    }
}
