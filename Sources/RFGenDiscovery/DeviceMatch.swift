/// A serial device as udev describes it: enough to tell our generator from any other USB-serial
/// adapter on the machine.
public struct SerialDeviceDescription: Hashable, Sendable {
    /// The device node, e.g. /dev/ttyACM0.
    public var devnode: String
    /// The USB parent's `idVendor` and `idProduct` sysattrs (four lower-case hex digits), and its
    /// `serial`; nil for a tty without a USB parent (a UART on the board).
    public var usbVendor: String?
    public var usbProduct: String?
    public var usbSerial: String?

    public init(devnode: String, usbVendor: String?, usbProduct: String?, usbSerial: String?) {
        self.devnode = devnode
        self.usbVendor = usbVendor
        self.usbProduct = usbProduct
        self.usbSerial = usbSerial
    }
}

/// Which device is the generator. Vendor and product alone are not enough: generic USB-serial
/// chips are common (an FTDI in a barcode scanner has the same IDs), so a serial number, when
/// configured, must match too; and more than one candidate is an error, never a guess.
public struct DeviceMatch: Hashable, Sendable, CustomStringConvertible {
    public var vendor: String
    public var product: String
    public var serial: String?

    /// - Parameters:
    ///   - vendor: USB vendor ID, four hex digits (any case).
    ///   - product: USB product ID, four hex digits.
    ///   - serial: the generator's USB serial number, when known.
    public init(vendor: String, product: String, serial: String? = nil) throws(DiscoveryError) {
        func hex4(_ value: String, _ what: String) throws(DiscoveryError) -> String {
            let lower = value.lowercased()
            guard lower.count == 4, lower.allSatisfy({ $0.isHexDigit }) else {
                throw DiscoveryError("\(what) must be four hex digits, got \(value)")
            }
            return lower
        }
        self.vendor = try hex4(vendor, "USB vendor ID")
        self.product = try hex4(product, "USB product ID")
        if let serial, serial.isEmpty { throw DiscoveryError("USB serial number must not be empty") }
        self.serial = serial
    }

    public func matches(_ device: SerialDeviceDescription) -> Bool {
        guard device.usbVendor?.lowercased() == vendor, device.usbProduct?.lowercased() == product else { return false }
        if let serial { return device.usbSerial == serial }
        return true
    }

    /// The one device that matches.
    /// - Throws: `DiscoveryError` when none or several match, naming them.
    public func select(from devices: [SerialDeviceDescription]) throws(DiscoveryError) -> SerialDeviceDescription {
        let candidates = devices.filter(matches)
        guard let first = candidates.first else { throw DiscoveryError("no generator found (\(self))") }
        guard candidates.count == 1 else {
            throw DiscoveryError(
                "\(candidates.count) devices match \(self): \(candidates.map(\.devnode).joined(separator: ", ")); configure the serial number"
            )
        }
        return first
    }

    public var description: String {
        "USB \(vendor):\(product)" + (serial.map { " serial \($0)" } ?? "")
    }
}

/// A discovery failure, in words.
public struct DiscoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
