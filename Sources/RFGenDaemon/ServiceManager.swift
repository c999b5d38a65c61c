import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's side of systemd through libsystemd: readiness, status, watchdog and stopping
/// (`sd_notify`), and a listening socket handed over by socket activation (`sd_listen_fds`).
/// Without systemd (no `NOTIFY_SOCKET`, no `LISTEN_FDS`) each call does nothing.
enum ServiceManager {
    /// Sends `state` (e.g. "READY=1\nSTATUS=…") to the service manager, if there is one.
    static func notify(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// The watchdog period systemd expects pings within (WatchdogSec=), microseconds; nil when
    /// it expects none.
    static func watchdogMicroseconds() -> UInt64? {
        var microseconds: UInt64 = 0
        return sd_watchdog_enabled(0, &microseconds) > 0 && microseconds > 0 ? microseconds : nil
    }

    /// The listening Unix stream socket passed by socket activation, or nil when none was passed.
    /// Clears the `LISTEN_*` variables, so that no child inherits them.
    static func activatedSocket() throws(ServiceManagerError) -> Int32? {
        let count = sd_listen_fds(1)
        if count < 0 { throw ServiceManagerError("sd_listen_fds: \(String(cString: strerror(-count)))") }
        if count == 0 { return nil }
        guard count == 1 else {
            throw ServiceManagerError(
                "socket activation passed \(count) sockets; rfgend takes exactly one (the API socket)"
            )
        }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
            throw ServiceManagerError("the socket passed by socket activation is not a listening Unix stream socket")
        }
        return fd
    }
}

public struct ServiceManagerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Whether the control loop is keeping its deadlines, judged from its tick count between two
/// looks: the watchdog is fed only while it is. Pure.
struct LoopWatch {
    private var last: (ticks: UInt64, at: Int64)?

    /// - Parameters:
    ///   - ticks: the loop's tick count now.
    ///   - now: monotonic microseconds.
    ///   - tickRateHz: the loop's rate.
    /// - Returns: true when the loop made at least half the ticks its rate promises since the
    ///   last look (the first look only records).
    mutating func healthy(ticks: UInt64, now: Int64, tickRateHz: Int) -> Bool {
        defer { last = (ticks, now) }
        guard let last else { return ticks > 0 }
        let expected = Double(now - last.at) * Double(tickRateHz) / 1_000_000
        return Double(ticks &- last.ticks) >= max(1, expected / 2)
    }
}

/// The one-line state systemd shows (`systemctl status`): link, treatment, alarms.
func serviceStatusLine(_ status: DaemonStatus) -> String {
    var parts = ["link \(status.linkUp ? "up" : "down")"]
    if status.phase.isActive {
        let remaining = status.profile.map { max(0, $0.holdSeconds - status.holdSeconds) } ?? 0
        parts.append(
            "\(status.phase.rawValue) \(status.level ?? "") \(status.profile?.name ?? ""), RF \(status.telemetry?.rfState == .on ? "on" : "off"), \(Int(remaining.rounded())) s to go"
        )
    } else {
        parts.append("\(status.phase.rawValue), RF off")
    }
    parts.append(
        status.alarms.isEmpty
            ? "no alarms"
            : "alarms: " + status.alarms.map { "\($0.priority) \($0.interlock.rawValue)" }.joined(separator: ", ")
    )
    return parts.joined(separator: "; ")
}
