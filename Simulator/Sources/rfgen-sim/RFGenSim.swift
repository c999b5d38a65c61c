import ArgumentParser
import RFGenSystem

/// `rfgen-sim`: the simulated RF generator, and a small reader for its line.
@main
struct RFGenSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfgen-sim",
        abstract: "A simulated RF generator with a tissue model, served on a pseudo-terminal.",
        discussion: """
            `serve` (the default) prints the device path on the first line of standard output and \
            streams telemetry there at 100 Hz. Fault-injection commands are read from standard input \
            and from --control; see Simulator/README.md.
            """,
        version: RFGenVersion.current,
        subcommands: [Serve.self, Dump.self],
        defaultSubcommand: Serve.self
    )
}

/// A failure at run time (a device that cannot be opened, a path that must not be replaced):
/// reported as one line, without the usage text that a `ValidationError` would add.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
