import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenProtocol
import RFGenSimulator
import RFGenTestSupport

/// The daemon's machine against the simulated generator in virtual time (`VirtualDaemon`: the link
/// engine, the real codec, every frame checked on arrival), with a record of what it decided.
/// Ticks are 10 ms unless given.
struct CoreHarness {
    var rig: VirtualDaemon
    /// Every action the machine returned, on a tick or on a frame's arrival, with its time.
    var actions: [(microseconds: Int64, action: CoreAction)] = []
    /// Every tick's outputs, with their time.
    var outputs: [(microseconds: Int64, output: MachineOutput)] = []
    /// Every record entry the machine made, on ticks and on arrivals, in order.
    var records: [RecordEntry] = []
    static let tick: Int64 = 10_000

    var generator: SimulatedGenerator {
        get { rig.generator }
        set { rig.generator = newValue }
    }
    var core: TreatmentCore { rig.core }
    var engine: LinkEngine { rig.engine }
    var now: Int64 { rig.now }
    var dropCommands: Bool {
        get { rig.dropCommands }
        set { rig.dropCommands = newValue }
    }
    var dropTypes: Set<MessageType> {
        get { rig.dropTypes }
        set { rig.dropTypes = newValue }
    }

    /// What the machine sees.
    var link: LinkSnapshot { rig.engine.snapshot }

    /// - Parameter tickMicroseconds: the control period (10 ms, as rfgend's default 100 Hz).
    init(configuration: GeneratorConfiguration = GeneratorConfiguration(), tickMicroseconds: Int64 = Self.tick) {
        rig = VirtualDaemon(configuration: configuration, tickMicroseconds: tickMicroseconds)
    }

    /// One control tick: the machine decides, its commands go out through the link, 10 ms pass
    /// (frames checked as they arrive). Returns the tick's own actions.
    @discardableResult
    mutating func tick(_ commands: [OperatorCommand] = []) -> [CoreAction] {
        tick(requests: commands.map { rig.request($0) }).actions
    }

    /// One control tick with these requests; its whole output.
    @discardableResult
    mutating func tick(requests: [OperatorRequest]) -> MachineOutput {
        let out = rig.tick(requests)
        let at = now
        outputs.append((at, out))
        records += out.records
        for action in out.actions { actions.append((at, action)) }
        pass(microseconds: rig.tickMicroseconds)
        return out
    }

    /// Time passes with no control tick (a stalled or starved loop): the generator goes on, and
    /// the link thread still checks every frame on arrival.
    mutating func pass(microseconds: Int64) {
        rig.exchange(advancing: microseconds)
        for reaction in rig.takeArrivals() {
            records += reaction.output.records
            for action in reaction.output.actions { actions.append((reaction.microseconds, action)) }
        }
    }

    /// A request with the next ticket.
    mutating func request(
        _ command: OperatorCommand,
        level: String = "",
        uid: UInt32 = 0,
        client: UInt64 = 0
    )
        -> OperatorRequest
    {
        rig.request(command, level: level, uid: uid, client: client)
    }

    mutating func pullCable() { rig.pullCable() }
    mutating func plugCable() { rig.plugCable() }

    /// Ticks for `seconds`, or until `until` holds.
    mutating func run(seconds: Double, until: (CoreHarness) -> Bool = { _ in false }) {
        let end = now + Int64(seconds * 1e6)
        while now < end && !until(self) { tick() }
    }

    /// Starts a bvn lesion and runs until it holds at temperature.
    mutating func startAndReachHold(_ profile: TreatmentProfile = .bvn) {
        tick([.start(profile)])
        run(seconds: 300) { $0.core.phase == .hold || $0.core.phase == .faulted }
    }

    /// The alarms the machine raised.
    var alarms: [Alarm] { actions.compactMap { if case .alarm(let a) = $0.action { a } else { nil } } }

    /// When the generator's output stage last switched off, by its own record.
    var rfOffAt: Int64? { generator.recorder.lastOffMicroseconds }
}
