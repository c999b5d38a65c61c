import RFGenCore
import RFGenLink
import Synchronization
import SystemPackage

/// The generator's line: the link engine (which numbers, sends, retries and reads frames) and
/// the open port, under one lock. Both threads that decide commands write them here themselves,
/// each while it holds the machine's lock: the control thread its tick's, the link thread an
/// arrival check's RF_OFF. So the wire carries commands in the order the machine decided them,
/// and a trip's RF_OFF is never followed by a command decided before it. Lock order: the
/// machine's, then this; the link thread never calls into the machine while it holds this.
///
/// A handed-over queue did both worse: an RF_ON a tick had queued could follow the RF_OFF of an
/// arrival check that tripped just after the tick, and each set point woke the link thread only
/// to write 15 bytes (100 wake-ups a second at 100 Hz, 1,000 at 1 kHz; issue 19).
final class GeneratorLine: Sendable {
    struct State {
        var engine: LinkEngine
        /// The open port; nil while there is none. Opened and closed by the link thread, under
        /// the lock, so no thread writes to a descriptor closed or reused.
        var port: FileDescriptor?
        /// Why a write failed, for the link thread to reopen the port; it clears this.
        var writeFailure: String?
    }

    private let state: Mutex<State>
    /// The link thread's wake-up: written when a write fails, or when a command other than a set
    /// point is sent, so that its retries are timed by the link thread's next deadline and not
    /// by the next frame. A set point needs no wake: its ACK wakes the link thread, and the
    /// next tick's supersedes it.
    let wake = Wakeup(for: "link thread")

    init(configuration: LinkConfiguration) {
        state = Mutex(State(engine: LinkEngine(configuration: configuration)))
    }

    /// Sends commands at once: into the engine, and its output onto the port. An RF_OFF is sent
    /// whatever the link's state; the engine counts and drops the rest when the link is not up.
    func send(_ commands: [GeneratorCommand], now: Int64) {
        guard !commands.isEmpty else { return }
        let wakeLink = state.withLock { state -> Bool in
            for command in commands { state.engine.send(command, now: now) }
            let wrote = Self.write(&state)
            return !wrote || commands.contains { if case .setPower = $0 { false } else { true } }
        }
        if wakeLink { wake.signal() }
    }

    /// The link thread's own work on the engine and the port, under the lock.
    func withState<R>(_ body: (inout State) -> R) -> R {
        state.withLock { body(&$0) }
    }

    /// Writes what the engine has to send; false when the write failed (recorded for the link
    /// thread, which reopens the port). With no port the output is dropped here: the next port's
    /// handshake begins with RF_OFF.
    @discardableResult
    static func write(_ state: inout State) -> Bool {
        let output = state.engine.takeOutput()
        guard let port = state.port, !output.isEmpty else { return true }
        do {
            _ = try port.writeAll(output)
            return true
        } catch {
            if state.writeFailure == nil { state.writeFailure = "write failed: \(error)" }
            return false
        }
    }
}
