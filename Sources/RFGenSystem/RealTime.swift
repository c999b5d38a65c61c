import CLinuxShims

/// What a periodic thread can ask of Linux to wake on time (`shared/SWIFT-NOTES.md`, "Timing"):
/// a 1 ns timer slack instead of 50 µs, and SCHED_FIFO where the system grants it.
public enum RealTime {
    /// Prepares the calling thread for a periodic loop.
    /// - Parameter fifoPriority: SCHED_FIFO priority to ask for (1-99), or nil for none.
    /// - Returns: one line saying what was granted, for the log; an ungranted request is said,
    ///   never silently ignored.
    public static func prepareCurrentThread(fifoPriority: Int32?) -> String {
        var granted: [String] = []
        granted.append(rfgen_set_timer_slack_ns(1) == 0 ? "timer slack 1 ns" : "timer slack unchanged (prctl failed)")
        if let fifoPriority {
            let error = rfgen_set_fifo_priority(fifoPriority)
            granted.append(
                error == 0
                    ? "SCHED_FIFO priority \(fifoPriority)"
                    : "SCHED_FIFO \(fifoPriority) not granted (errno \(error)); running at normal priority"
            )
        }
        return granted.joined(separator: ", ")
    }
}
