import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// What a periodic thread can ask of Linux to wake on time (`shared/SWIFT-NOTES.md`, "Timing"):
/// a 1 ns timer slack instead of 50 µs, and SCHED_FIFO where the system grants it.
public enum RealTime {
    /// Prepares the calling thread for a periodic loop.
    /// - Parameters:
    ///   - fifoPriority: SCHED_FIFO priority to ask for (1-99), or nil for none.
    ///   - cpu: the one CPU the thread is to run on (`ControlCPU`), or nil to let the scheduler
    ///     move it.
    /// - Returns: one line saying what was granted, for the log; an ungranted request is said,
    ///   never silently ignored.
    public static func prepareCurrentThread(fifoPriority: Int32?, cpu: Int? = nil) -> String {
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
        if let cpu {
            let error = rfgen_pin_current_thread(Int32(clamping: cpu))
            granted.append(
                error == 0
                    ? "on CPU \(cpu) only"
                    : "not pinned to CPU \(cpu) (errno \(error)); the scheduler places it"
            )
        }
        return granted.joined(separator: ", ")
    }

    /// The CPUs this process may run on now, ascending (its affinity, as systemd's
    /// CPUAffinity= or taskset left it); empty when the kernel would not say.
    public static func allowedCPUs() -> [Int] {
        // 1024: CPU_SETSIZE, the most CPUs the fixed set sched_getaffinity fills can name.
        var cpus = [Int32](repeating: 0, count: 1024)
        let count = cpus.withUnsafeMutableBufferPointer { rfgen_allowed_cpus($0.baseAddress, Int32($0.count)) }
        return count > 0 ? cpus[..<Int(count)].map(Int.init) : []
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

/// Where the control thread runs: on one CPU, or wherever the scheduler puts it.
///
/// Pinned, the tick's timer fires on the CPU the thread sleeps on and it wakes there, as
/// cyclictest's threads do (`-S` pins one a CPU). Left to move, a wake-up that finds its CPU busy
/// with a thread of the same priority is sent to the other CPU, and waking an idle virtual CPU
/// costs the hypervisor's round trip: at 1 kHz on a 2-CPU virtual machine the tick's p99 was
/// 1.37 and 1.39 times cyclictest's beside it unpinned and 1.04-1.17 times pinned, in 10 s
/// windows in the same minutes (two unpinned, four pinned; Benchmarks/README.md, issue 19).
/// Pure: the shell reads the allowed CPUs.
public enum ControlCPU: Equatable, Sendable {
    /// Not pinned: the scheduler places it.
    case scheduler
    /// This CPU only.
    case cpu(Int)

    /// The placement a setting asks for, among the CPUs the daemon may use.
    /// - Parameters:
    ///   - setting: nil for the default, the highest-numbered allowed CPU (the one least likely
    ///     to take the machine's interrupts and housekeeping, which Linux starts on CPU 0; and
    ///     the one an administrator who isolates CPUs conventionally isolates); "none" for the
    ///     scheduler; or a CPU's number, which must be allowed.
    ///   - allowed: the CPUs the daemon may run on, ascending. With one (or none known) there
    ///     is nothing to choose: the default leaves it to the scheduler.
    /// - Returns: the placement, or why the setting cannot be honoured.
    public static func choose(_ setting: String?, allowed: [Int]) -> Result<ControlCPU, ControlCPUError> {
        guard let setting else {
            return .success(allowed.count >= 2 ? .cpu(allowed.max()!) : .scheduler)
        }
        if setting == "none" { return .success(.scheduler) }
        guard let cpu = Int(setting), cpu >= 0 else {
            return .failure(ControlCPUError("control CPU must be a CPU's number or none; got \"\(setting)\""))
        }
        guard allowed.contains(cpu) else {
            let list = allowed.isEmpty ? "unknown" : allowed.map(String.init).joined(separator: ", ")
            return .failure(ControlCPUError("control CPU \(cpu) is not one rfgend may run on (allowed: \(list))"))
        }
        return .success(.cpu(cpu))
    }

    /// The CPU to pin to, or nil.
    public var pinned: Int? {
        if case .cpu(let cpu) = self { return cpu }
        return nil
    }
}

/// A control CPU setting that cannot be honoured, and why.
public struct ControlCPUError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
