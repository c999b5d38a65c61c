import ArgumentParser
import RFGenAPI
import RFGenDaemon
import RFGenDiscovery
import RFGenSystem

#if canImport(Glibc)
import Glibc
#endif

/// `rfgend`: the RF generator daemon.
@main
struct RFGenD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rfgend",
        abstract: "Controls an RF lesion generator: closed-loop temperature control with safety interlocks.",
        discussion:
            "RF is off at start-up and after any reconnect; it goes on only by an operator's `start` on the API socket (protocol/API.md)."
    )

    @Option(help: "The generator's serial device, e.g. /dev/ttyACM0 or the path given to rfgen-sim --link.")
    var device: String?

    @Option(help: "Find the generator through udev by USB vendor ID (four hex digits) instead of --device.")
    var usbVendor: String?

    @Option(help: "USB product ID for discovery.")
    var usbProduct: String?

    @Option(help: "USB serial number for discovery: needed when more than one device has these IDs.")
    var usbSerial: String?

    @Option(help: "Where to serve the API (a Unix stream socket).")
    var socket: String = "/run/rfgend/api.sock"

    @Option(help: "Directory for the treatment records (records.sqlite); none are kept without it.")
    var stateDir: String?

    @Option(
        help: ArgumentHelp(
            "A group (name or number) whose members are API operators: start, stop, acknowledge. Repeatable.",
            discussion: "Root and the daemon's own user are always operators."
        )
    )
    var operatorGroup: [String] = []

    @Option(
        help:
            "A group whose members are API observers (read and subscribe). Repeatable; without any, every peer the socket's mode lets in is an observer."
    )
    var observerGroup: [String] = []

    @Option(help: "Give the API socket to this group (mode 0660), so that its members can connect.")
    var socketGroup: String?

    @Option(
        name: .customLong("inject-control-stall-ms"),
        help: .hidden
    )
    var injectControlStallMilliseconds: Int64?

    @Option(help: "Serial line speed.")
    var baud: Int = 115_200

    @Option(help: "Control tick rate, 10-1000 Hz.")
    var tickRate: Int = 100

    @Option(help: "SCHED_FIFO priority of the control thread, 1-99; 0 for normal scheduling.")
    var rtPriority: Int32 = 80

    func validate() throws {
        switch (device, usbVendor, usbProduct) {
        case (.some, nil, nil): break
        case (nil, .some(let vendor), .some(let product)):
            _ = try DeviceMatch(vendor: vendor, product: product, serial: usbSerial)
        default:
            throw ValidationError("give either --device PATH, or --usb-vendor and --usb-product (and --usb-serial)")
        }
        guard (0...99).contains(rtPriority) else { throw ValidationError("--rt-priority must be 0-99") }
        guard DaemonLimits.tickRateHz.contains(tickRate) else { throw ValidationError("--tick-rate must be 10-1000") }
        guard [9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600].contains(baud) else {
            throw ValidationError("--baud must be a standard rate from 9600 to 921600")
        }
    }

    func run() throws {
        let source: DeviceSource =
            if let device {
                .path(device)
            } else {
                .usb(try DeviceMatch(vendor: usbVendor ?? "", product: usbProduct ?? "", serial: usbSerial))
            }
        var configuration = DaemonConfiguration(device: source, socketPath: socket)
        configuration.baud = baud
        configuration.tickRateHz = tickRate
        configuration.stateDirectory = stateDir
        configuration.fifoPriority = rtPriority == 0 ? nil : rtPriority
        configuration.roles = RolePolicy(
            operatorGroups: Set(try operatorGroup.map(Self.group)),
            observerGroups: Set(try observerGroup.map(Self.group)),
            operatorUsers: [0, getuid()]
        )
        configuration.socketGroup = try socketGroup.map(Self.group)
        configuration.injectControlStallMicroseconds = injectControlStallMilliseconds.map { $0 * 1000 }
        try Daemon(configuration: configuration).run()
    }

    static func group(_ name: String) throws -> UInt32 {
        guard let id = Accounts.groupID(name) else { throw ValidationError("no group \(name)") }
        return id
    }
}
