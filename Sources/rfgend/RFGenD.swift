import ArgumentParser
import RFGenAPI
import RFGenCore
import RFGenDaemon
import RFGenDiscovery
import RFGenLink
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
            "RF is off at start-up and after any reconnect; it goes on only by an operator's `start` on the API socket (protocol/API.md).",
        version: RFGenVersion.current
    )

    @Option(
        help:
            "A configuration file (YAML; every setting is documented in the installed rfgend.yaml). Options given here override it."
    )
    var config: String?

    @Option(help: "The generator's serial device, e.g. /dev/ttyACM0 or the path given to rfgen-sim --link.")
    var device: String?

    @Option(help: "Find the generator through udev by USB vendor ID (four hex digits) instead of --device.")
    var usbVendor: String?

    @Option(help: "USB product ID for discovery.")
    var usbProduct: String?

    @Option(help: "USB serial number for discovery: needed when more than one device has these IDs.")
    var usbSerial: String?

    @Option(
        help:
            "Where to serve the API (a Unix stream socket; default /run/rfgend/api.sock). Ignored under socket activation."
    )
    var socket: String?

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

    @Option(
        help:
            "Serial line speed, a standard rate up to 921600 (default 115200) that carries the tick's traffic: 115200 up to a 300 Hz tick, 230400 up to 1 kHz."
    )
    var baud: Int?

    @Option(help: "Control tick rate, 10-1000 Hz (default 100).")
    var tickRate: Int?

    @Option(
        help:
            "SCHED_FIFO priority of the control thread, 1-99, the link thread one below; 0 for normal scheduling (default 80)."
    )
    var rtPriority: Int32?

    @Option(
        name: .customLong("control-cpu"),
        help:
            "The one CPU the control thread runs on, or none to let the scheduler move it (default: the highest-numbered CPU rfgend may run on, when it may run on more than one)."
    )
    var controlCPU: String?

    @Option(help: "Clients the API serves at once, 1-\(APILimits.clientsCeiling) (default \(APILimits.clients)).")
    var maxClients: Int?

    /// The file's settings with the command line's on top.
    func settings() throws -> Settings {
        var merged = try config.map { path throws(SettingsError) in try Settings.load(path: path) } ?? Settings()
        if device != nil || usbVendor != nil || usbProduct != nil {
            // A device named on the command line replaces the file's, whichever way it is named.
            merged.device = device
            merged.usbVendor = usbVendor
            merged.usbProduct = usbProduct
            merged.usbSerial = usbSerial
        }
        if let socket { merged.socket = socket }
        if let stateDir { merged.stateDir = stateDir }
        if !operatorGroup.isEmpty { merged.operatorGroups = operatorGroup }
        if !observerGroup.isEmpty { merged.observerGroups = observerGroup }
        if let socketGroup { merged.socketGroup = socketGroup }
        if let baud { merged.baud = baud }
        if let tickRate { merged.tickRate = tickRate }
        if let rtPriority { merged.rtPriority = rtPriority }
        if let controlCPU { merged.controlCPU = controlCPU }
        if let maxClients { merged.maxClients = maxClients }
        return merged
    }

    /// Starts from no blocked signal, whatever the parent left (`unblockInheritedSignals`): rfgend
    /// blocks SIGINT and SIGTERM itself for its signal descriptor, and a thread that must not die
    /// by them blocks them itself.
    static func main() {
        unblockInheritedSignals()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    func run() throws {
        DaemonLogging.bootstrap()
        defer { DaemonLogging.flush() }
        let settings: Settings
        do {
            settings = try self.settings()
        } catch {
            throw ValidationError("\(error)")
        }
        let source: DeviceSource
        switch (settings.device, settings.usbVendor, settings.usbProduct) {
        case (.some(let path), nil, nil):
            source = .path(path)
        case (nil, .some(let vendor), .some(let product)):
            source = .usb(try DeviceMatch(vendor: vendor, product: product, serial: settings.usbSerial))
        default:
            throw ValidationError(
                "give either a device path (--device, or device: in the file), or a USB vendor and product (--usb-vendor and --usb-product, or usb_vendor: and usb_product:)"
            )
        }
        let rtPriority = settings.rtPriority ?? 80
        let tickRate = settings.tickRate ?? 100
        let baud = settings.baud ?? 115_200
        let maxClients = settings.maxClients ?? APILimits.clients
        guard (1...APILimits.clientsCeiling).contains(maxClients) else {
            throw ValidationError("max clients must be 1-\(APILimits.clientsCeiling)")
        }
        // Every accepted client holds a descriptor: past the limit accept fails (EMFILE), later
        // clients hear nothing and the generator's device cannot be reopened after a link loss.
        let descriptors = DescriptorLimit.raiseToHard()
        let needed = DaemonLimits.descriptorsNeeded(maxClients: maxClients)
        guard needed <= descriptors else {
            throw ValidationError(
                "max clients \(maxClients) needs \(needed) descriptors (one a client, operators' reserved places "
                    + "included, and \(DaemonLimits.reservedDescriptors) for the device, the records and the daemon), but "
                    + "the limit is \(descriptors): lower max_clients or raise the limit (LimitNOFILE=, ulimit -n)"
            )
        }
        guard (0...99).contains(rtPriority) else { throw ValidationError("rt priority must be 0-99") }
        let controlCPU: ControlCPU
        switch ControlCPU.choose(settings.controlCPU, allowed: RealTime.allowedCPUs()) {
        case .success(let chosen): controlCPU = chosen
        case .failure(let error): throw ValidationError("\(error)")
        }
        guard DaemonLimits.tickRateHz.contains(tickRate) else { throw ValidationError("tick rate must be 10-1000 Hz") }
        guard Terminal.baudRates[baud] != nil else {
            throw ValidationError(
                "baud must be a standard rate: \(Terminal.baudRates.keys.sorted().map(String.init).joined(separator: ", "))"
            )
        }
        // A line that cannot carry the steady traffic queues it without end: readings go stale,
        // and set points and an RF_OFF wait behind a full output buffer (LinkConfiguration.
        // minimumBaud says what the traffic is).
        let neededBaud = LinkConfiguration.minimumBaud(
            telemetryRateHz: Int(LinkConfiguration().telemetryRateHz),
            tickRateHz: tickRate
        )
        guard baud >= neededBaud else {
            let standard = Terminal.baudRates.keys.sorted().first { $0 >= neededBaud } ?? neededBaud
            throw ValidationError(
                "baud \(baud) is too slow for a \(tickRate) Hz tick: 100 Hz telemetry from a 4-channel generator "
                    + "and an ACK a tick one way, a SET_POWER a tick the other, need \(neededBaud) "
                    + "(at most \(Int(LinkConfiguration.maxLineLoad * 100)) % of the line); use \(standard) or faster "
                    + "(USB generators ignore the rate: give the fastest)"
            )
        }
        var configuration = DaemonConfiguration(device: source, socketPath: settings.socket ?? "/run/rfgend/api.sock")
        configuration.baud = baud
        configuration.tickRateHz = tickRate
        configuration.maxClients = maxClients
        configuration.stateDirectory = settings.stateDir
        configuration.fifoPriority = rtPriority == 0 ? nil : rtPriority
        configuration.controlCPU = controlCPU.pinned
        configuration.roles = RolePolicy(
            operatorGroups: Set(try (settings.operatorGroups ?? []).map(Self.group)),
            observerGroups: Set(try (settings.observerGroups ?? []).map(Self.group)),
            operatorUsers: [0, getuid()]
        )
        configuration.socketGroup = try settings.socketGroup.map(Self.group)
        let configured: [TreatmentProfile]
        do {
            configured = try (settings.profiles ?? []).map { setting throws(SettingsError) in try setting.profile() }
        } catch {
            throw ValidationError("\(config ?? "the configuration"): \(error)")
        }
        switch TreatmentProfile.catalogue(adding: configured) {
        case .success(let profiles): configuration.profiles = profiles
        case .failure(let error): throw ValidationError("\(config ?? "the configuration"): \(error)")
        }
        configuration.injectControlStallMicroseconds = injectControlStallMilliseconds.map { $0 * 1000 }
        try Daemon(configuration: configuration).run()
    }

    static func group(_ name: String) throws -> UInt32 {
        guard let id = Accounts.groupID(name) else { throw ValidationError("no group \(name)") }
        return id
    }
}
