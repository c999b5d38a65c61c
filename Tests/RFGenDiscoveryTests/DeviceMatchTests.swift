import RFGenDiscovery
import Testing

struct DeviceMatchTests {
    static let generator = SerialDeviceDescription(
        devnode: "/dev/ttyACM0",
        usbVendor: "1209",
        usbProduct: "a7f0",
        usbSerial: "RFG-00042"
    )
    static let sameChipElsewhere = SerialDeviceDescription(
        devnode: "/dev/ttyACM1",
        usbVendor: "1209",
        usbProduct: "A7F0",
        usbSerial: "SCANNER-7"
    )
    static let boardUART = SerialDeviceDescription(
        devnode: "/dev/ttyS0",
        usbVendor: nil,
        usbProduct: nil,
        usbSerial: nil
    )
    static let devices = [boardUART, generator, sameChipElsewhere]

    @Test("With a serial number, only that generator matches, whatever the case of the IDs")
    func serialSelects() throws {
        let match = try DeviceMatch(vendor: "1209", product: "A7F0", serial: "RFG-00042")
        #expect(try match.select(from: Self.devices) == Self.generator)
        #expect(!match.matches(Self.sameChipElsewhere))
        #expect(!match.matches(Self.boardUART))
    }

    @Test("Vendor and product alone matching two devices is an error naming both, never a guess")
    func ambiguousIsRefused() throws {
        let match = try DeviceMatch(vendor: "1209", product: "a7f0")
        #expect {
            try match.select(from: Self.devices)
        } throws: { error in
            "\(error)".contains("2 devices match") && "\(error)".contains("/dev/ttyACM0, /dev/ttyACM1")
        }
    }

    @Test("No match, and malformed IDs, are clear errors")
    func errors() throws {
        let match = try DeviceMatch(vendor: "0403", product: "6001")
        #expect(throws: DiscoveryError("no generator found (USB 0403:6001)")) { try match.select(from: Self.devices) }
        #expect(throws: DiscoveryError("USB vendor ID must be four hex digits, got 12G9")) {
            try DeviceMatch(vendor: "12G9", product: "a7f0")
        }
        #expect(throws: DiscoveryError.self) { try DeviceMatch(vendor: "1209", product: "a7f0", serial: "") }
    }

    @Test("A real udev enumeration runs on this machine and describes every tty it finds")
    func enumerationSmoke() throws {
        let devices = try Udev().serialDevices()
        #expect(devices.allSatisfy { $0.devnode.hasPrefix("/dev/") })
        // Every machine has at least the console's tty.
        #expect(!devices.isEmpty)
    }
}
