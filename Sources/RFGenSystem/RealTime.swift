import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

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

    /// Asks the kernel to keep CPU wake-up latency at 0 µs for the life of the process by holding
    /// /dev/cpu_dma_latency open with 0 written (what cyclictest does). It costs idle power, which a
    /// generator's controller can afford; without it the VM's idle exits dominate lateness.
    /// - Returns: a line for the log.
    public static func holdCPUWakeLatencyAtZero() -> String {
        let fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return "/dev/cpu_dma_latency not available (errno \(errno)); CPU idle states unchanged" }
        var zero: Int32 = 0
        guard write(fd, &zero, 4) == 4 else {
            close(fd)
            return "/dev/cpu_dma_latency not writable (errno \(errno)); CPU idle states unchanged"
        }
        // Deliberately never closed: the request lasts as long as the descriptor.
        return "/dev/cpu_dma_latency held at 0 µs"
    }
}
