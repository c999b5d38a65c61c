import RFGenCore
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// rfgend's settings, from the configuration file (`--config`, YAML) and the command line, which
/// overrides it. Every key is documented in systemd/rfgend.yaml, the installed default.
struct Settings: Decodable, Equatable {
    var device: String?
    var usbVendor: String?
    var usbProduct: String?
    var usbSerial: String?
    var socket: String?
    var socketGroup: String?
    var operatorGroups: [String]?
    var observerGroups: [String]?
    var stateDir: String?
    var baud: Int?
    var tickRate: Int?
    var rtPriority: Int32?
    /// A CPU's number or "none" (`ControlCPU`).
    var controlCPU: String?
    var maxClients: Int?
    /// A device maker's treatment profiles, beside the built-in `bvn`.
    var profiles: [ProfileSetting]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case device
        case usbVendor = "usb_vendor"
        case usbProduct = "usb_product"
        case usbSerial = "usb_serial"
        case socket
        case socketGroup = "socket_group"
        case operatorGroups = "operator_groups"
        case observerGroups = "observer_groups"
        case stateDir = "state_dir"
        case baud
        case tickRate = "tick_rate"
        case rtPriority = "rt_priority"
        case controlCPU = "control_cpu"
        case maxClients = "max_clients"
        case profiles
    }

    init() {}

    /// Reads a configuration file. A key it does not know is an error, so that a misspelt
    /// setting is never silently the default.
    static func load(path: String) throws(SettingsError) -> Settings {
        guard let file = fopen(path, "r") else {
            throw SettingsError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1_048_576 else { throw SettingsError("\(path) is larger than 1 MiB") }
        }
        return try parse(String(decoding: bytes, as: UTF8.self), name: path)
    }

    static func parse(_ text: String, name: String) throws(SettingsError) -> Settings {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError("\(name): not valid YAML: \(error)")
        }
        guard let node else { return Settings() }
        guard let mapping = node.mapping else { throw SettingsError("\(name): expected key: value lines") }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in mapping.keys {
            let name2 = key.string ?? "\(key)"
            guard known.contains(name2) else {
                throw SettingsError(
                    "\(name): unknown setting \"\(name2)\" (line \(key.mark?.line ?? 0)); settings: \(known.sorted().joined(separator: ", "))"
                )
            }
        }
        // Inside each profile too: a misspelt key must not leave a limit at its default.
        let profileKeys = Set(ProfileSetting.CodingKeys.allCases.map(\.rawValue))
        for profile in mapping["profiles"]?.sequence.map(Array.init) ?? [] {
            for key in profile.mapping.map({ Array($0.keys) }) ?? [] where !profileKeys.contains(key.string ?? "") {
                throw SettingsError(
                    "\(name): unknown profile key \"\(key.string ?? "\(key)")\" (line \(key.mark?.line ?? 0)); "
                        + "keys: \(profileKeys.sorted().joined(separator: ", "))"
                )
            }
        }
        do {
            return try YAMLDecoder().decode(Settings.self, from: node)
        } catch let error as DecodingError {
            switch error {
            case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
                let key = context.codingPath.map(\.stringValue).joined(separator: ".")
                let expected =
                    switch "\(type)" {
                    case "Int", "Int32": "a whole number"
                    case "Double": "a number"
                    case "String": "text"
                    case "Array<String>", "Sequence": "a list, e.g. [rfgen-operator]"
                    default: "\(type)"
                    }
                throw SettingsError("\(name): \(key) must be \(expected)")
            case .keyNotFound(let key, let context):
                let at = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined()
                throw SettingsError("\(name): \(at) needs \(key.stringValue)")
            case .dataCorrupted(let context):
                let key = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw SettingsError("\(name): \(key): \(context.debugDescription)")
            default:
                throw SettingsError("\(name): \(error)")
            }
        } catch {
            throw SettingsError("\(name): \(error)")
        }
    }
}

/// One profile in the configuration file, in the API's names and units (API.md, `profiles`).
struct ProfileSetting: Decodable, Equatable {
    var name: String
    var targetC: Double
    var rampCPerS: Double
    var holdS: Double
    var holdBandC: Double
    var powerLimitW: Double
    var energyCapJ: Double
    /// Default: the hold's dose at the band's lower edge, as `bvn` asks; none in power mode,
    /// whose hold is time at power whatever the temperature.
    var minDoseCem43Min: Double?
    /// `temperature` (default) or `power`.
    var mode: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case targetC = "target_c"
        case rampCPerS = "ramp_c_per_s"
        case holdS = "hold_s"
        case holdBandC = "hold_band_c"
        case powerLimitW = "power_limit_w"
        case energyCapJ = "energy_cap_j"
        case minDoseCem43Min = "min_dose_cem43_min"
        case mode
    }

    func profile() throws(SettingsError) -> TreatmentProfile {
        guard let mode = ControlMode(rawValue: mode ?? "temperature") else {
            throw SettingsError(
                "profile \(name): mode must be \(ControlMode.allCases.map(\.rawValue).joined(separator: " or ")); got \(mode ?? "")"
            )
        }
        return TreatmentProfile(
            name: name,
            setPointCelsius: targetC,
            rampCelsiusPerSecond: rampCPerS,
            holdSeconds: holdS,
            holdBandCelsius: holdBandC,
            powerLimitWatts: powerLimitW,
            energyCapJoules: energyCapJ,
            minimumDoseCEM43Minutes: minDoseCem43Min
                ?? (mode == .power ? 0 : CEM43.minutes(celsius: targetC - holdBandC, seconds: holdS)),
            mode: mode
        )
    }
}

struct SettingsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
