import ArgumentParser
import Foundation
import RFGenSystem

/// `rfctl`: the operator's and the test rig's command line to rfgend.
@main
struct RFCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfctl",
        abstract: "Talk to rfgend: status, start, stop, emergency stop, acknowledge, records.",
        discussion: """
            Exit status: 0 done; 1 the daemon refused (the reason is printed); 3 the daemon could not \
            be reached; 64 bad usage.
            """,
        subcommands: [Status.self, Start.self, Stop.self, EStop.self, Ack.self, Records.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "rfgend's API socket.")
        var socket: String = "/run/rfgend/api.sock"

        /// Sends one request; the daemon's `error: …` replies become exit status 1.
        func ask(_ request: String) throws -> String {
            let reply: String
            do {
                reply = try LineSocketClient.request(path: socket, request)
            } catch {
                FileHandle.standardError.write(Data("rfctl: \(error)\n".utf8))
                throw ExitCode(3)
            }
            if reply.hasPrefix("error: ") {
                FileHandle.standardError.write(Data("rfctl: \(reply.dropFirst(7))\n".utf8))
                throw ExitCode(1)
            }
            return reply
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the daemon's state.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print one JSON object (the stable form for scripts; see README).")
        var json = false

        func run() throws {
            let line = try connection.ask("status")
            print(json ? StatusJSON(line: line).text : line)
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a lesion: the only way RF comes on.")
        @OptionGroup var connection: Connection
        @Option(help: "Treatment profile.") var profile: String = "bvn"
        @Option(help: "Vertebral level, e.g. L4.") var level: String
        @Option(help: "Shorter hold time in seconds, for tests and demonstrations (the profile's limits apply).")
        var holdS: Int?

        func run() throws {
            print(try connection.ask("start \(profile) \(level)" + (holdS.map { " \($0)" } ?? "")))
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End the lesion, RF off.")
        @OptionGroup var connection: Connection
        func run() throws { print(try connection.ask("stop")) }
    }

    struct EStop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "estop",
            abstract: "Emergency stop: RF off, high alarm."
        )
        @OptionGroup var connection: Connection
        func run() throws { print(try connection.ask("estop")) }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge the latched alarms once their conditions cleared."
        )
        @OptionGroup var connection: Connection
        @Argument(help: "The alarm's id from status (all latched alarms are acknowledged together for now).")
        var id: Int?
        func run() throws { print(try connection.ask("ack")) }
    }

    struct Records: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the treatment records, newest first.")
        @OptionGroup var connection: Connection
        func run() throws {
            for record in try connection.ask("records").split(separator: " ; ") { print(record) }
        }
    }
}

/// The status line as the stable JSON object of the README: `state`, `rf_on`, `link`,
/// `tip_temp_c`, `power_w`, `impedance_ohm`, `alarms`.
struct StatusJSON {
    let text: String

    init(line: String) {
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        func number(_ key: String, scale: Double) -> Any {
            guard let raw = fields[key], let value = Double(raw), value >= 0 || key == "tip_cC" else { return NSNull() }
            return value / scale
        }
        var alarms: [[String: Any]] = []
        if let list = fields["alarms"], list != "none" {
            for (index, entry) in list.split(separator: ",").enumerated() {
                let parts = entry.split(separator: ":")
                alarms.append([
                    "id": index + 1, "priority": parts.first.map(String.init) ?? "",
                    "cause": parts.last.map(String.init) ?? "",
                    "latched": true,
                ])
            }
        }
        let object: [String: Any] = [
            "state": fields["phase"] ?? "unknown",
            "rf_on": fields["rf"] == "on",
            "link": fields["link"] == "ready" ? "up" : "down",
            "tip_temp_c": fields["tip_cC"] == nil ? NSNull() : number("tip_cC", scale: 100),
            "power_w": fields["power_mW"] == nil ? NSNull() : number("power_mW", scale: 1000),
            "impedance_ohm": fields["impedance_dOhm"] == nil ? NSNull() : number("impedance_dOhm", scale: 10),
            "alarms": alarms,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        text = String(decoding: data, as: UTF8.self)
    }
}
