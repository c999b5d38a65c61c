import RFGenCore
import RFGenLink
import RFGenMachine
import RFGenSystem
import Synchronization

/// The daemon's one `DaemonMachine`, and the carrying out of what it decides. Two threads step it:
/// the control thread every tick, the link thread on every telemetry frame (RF off on arrival).
/// Each step and its carrying out happen under one lock, with the clock read inside it, so that
/// the machine's instants never go back and the API's events keep the machine's order. Nothing
/// here decides anything: it copies in and carries out.
final class MachineHost: Sendable {
    private let machine: Mutex<DaemonMachine>
    private let shared: Shared
    private let line: GeneratorLine
    private let records: RecordWriter?

    init(tickSeconds: Double, shared: Shared, line: GeneratorLine, records: RecordWriter?) {
        machine = Mutex(DaemonMachine(tickSeconds: tickSeconds))
        self.shared = shared
        self.line = line
        self.records = records
    }

    /// One tick: the link's newest snapshot and the queued requests in, everything decided out.
    /// The generator commands are written at once, under the machine's lock (`GeneratorLine`);
    /// returns the snapshot the tick read.
    func tick(lateMicroseconds: Int64) -> LinkSnapshot {
        let requests = shared.operators.withLock { exchange in
            defer { exchange.queue.removeAll(keepingCapacity: true) }
            return exchange.queue
        }
        return machine.withLock { machine in
            // Read under the machine's lock: the link thread publishes a frame before it checks
            // it on arrival, so the tick never sees a frame older than one already checked.
            let (link, linkState) = shared.link.withLock { ($0.snapshot, $0.state) }
            let input = TickInput(
                now: MonotonicInstant(microseconds: MonotonicClock.microseconds()),
                wall: WallInstant(microsecondsSinceEpoch: wallClockMicroseconds()),
                link: link,
                linkState: linkState,
                lateMicroseconds: lateMicroseconds,
                requests: requests,
                recordedStarts: shared.recordedStarts.load(ordering: .acquiring)
            )
            let out = machine.tick(input)
            line.send(out.generator, now: input.now.microseconds)
            if !out.outcomes.isEmpty {
                shared.operators.withLock { exchange in
                    for outcome in out.outcomes { exchange.outcomes[outcome.ticket] = outcome.refusal }
                }
            }
            carryOut(out, status: machine.status, wall: input.wall)
            return link
        }
    }

    /// A telemetry frame has arrived (the link thread). When a check trips, `send` gets the
    /// generator commands (RF_OFF first) before anything else is carried out, still under the
    /// lock: the wire first, then the record, the events and the status, in the machine's order.
    func telemetryArrived(
        link: LinkSnapshot,
        linkState: LinkEngine.State,
        send: ([GeneratorCommand]) -> Void
    ) {
        machine.withLock { machine in
            let now = MonotonicInstant(microseconds: MonotonicClock.microseconds())
            let wall = WallInstant(microsecondsSinceEpoch: wallClockMicroseconds())
            let out = machine.telemetryArrived(now: now, wall: wall, link: link, linkState: linkState)
            guard !out.actions.isEmpty else { return }
            send(out.generator)
            carryOut(out, status: machine.status, wall: wall)
        }
    }

    private func carryOut(_ out: MachineOutput, status: MachineStatus, wall: WallInstant) {
        records?.post(out.records)
        for event in out.events {
            shared.bus.publish(event, wallUs: wall.microsecondsSinceEpoch)
        }
        shared.status.withLock { $0.machine = status }
    }
}
