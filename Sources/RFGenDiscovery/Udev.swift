import CUdev

/// Serial devices as udev sees them, and a monitor for hotplug. Without udevd (as on the
/// project's build machines) the USB parent's sysattrs are still there; the monitor listens on
/// the "udev" netlink group in production (rules applied by then), which delivers nothing without
/// udevd, so hotplug is tested through the simulator's disconnect instead.
public final class Udev: @unchecked Sendable {
    // @unchecked: used from one thread (the link thread) at a time.
    private let context: OpaquePointer
    private var monitor: OpaquePointer?

    public init() throws(DiscoveryError) {
        guard let context = udev_new() else { throw DiscoveryError("udev_new failed") }
        self.context = context
    }

    deinit {
        if let monitor { udev_monitor_unref(monitor) }
        udev_unref(context)
    }

    /// Every tty device with its USB parent's identity where it has one.
    public func serialDevices() throws(DiscoveryError) -> [SerialDeviceDescription] {
        guard let enumerate = udev_enumerate_new(context) else { throw DiscoveryError("udev_enumerate_new failed") }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, "tty")
        guard udev_enumerate_scan_devices(enumerate) >= 0 else { throw DiscoveryError("udev scan failed") }
        var devices: [SerialDeviceDescription] = []
        // udev_list_entry_foreach is a macro Swift cannot import: walk the list by hand.
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let path = udev_list_entry_get_name(current),
                let device = udev_device_new_from_syspath(context, path)
            {
                if let description = Self.describe(device) { devices.append(description) }
                udev_device_unref(device)
            }
            entry = udev_list_entry_get_next(current)
        }
        return devices
    }

    /// Starts listening for tty add and remove events.
    /// - Returns: a descriptor that becomes readable when an event is waiting.
    public func startMonitor(group: String = "udev") throws(DiscoveryError) -> Int32 {
        guard let monitor = udev_monitor_new_from_netlink(context, group) else {
            throw DiscoveryError("udev monitor on \(group) failed")
        }
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "tty", nil)
        guard udev_monitor_enable_receiving(monitor) >= 0 else { throw DiscoveryError("udev monitor not receiving") }
        self.monitor = monitor
        return udev_monitor_get_fd(monitor)
    }

    /// The waiting hotplug event, if any: its action ("add", "remove") and device.
    public func receiveEvent() -> (action: String, device: SerialDeviceDescription)? {
        guard let monitor, let device = udev_monitor_receive_device(monitor) else { return nil }
        defer { udev_device_unref(device) }
        guard let action = udev_device_get_action(device), let description = Self.describe(device) else { return nil }
        return (String(cString: action), description)
    }

    private static func describe(_ device: OpaquePointer) -> SerialDeviceDescription? {
        guard let node = udev_device_get_devnode(device) else { return nil }
        let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device")
        func attribute(_ name: String) -> String? {
            guard let usb, let value = udev_device_get_sysattr_value(usb, name) else { return nil }
            return String(cString: value)
        }
        return SerialDeviceDescription(
            devnode: String(cString: node),
            usbVendor: attribute("idVendor"),
            usbProduct: attribute("idProduct"),
            usbSerial: attribute("serial")
        )
    }
}
