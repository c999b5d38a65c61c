import Foundation
import RFGenSystem
import Testing

/// Where the control thread runs (`ControlCPU`, issue 19): the choice, and the thread's own
/// affinity in a running daemon.
struct ControlCPUTests {
    typealias P = RFGenDProcessTests

    @Test(
        "By default the control thread gets the highest-numbered allowed CPU; with one CPU the scheduler places it",
        arguments: [
            ([0, 1], ControlCPU.cpu(1)),
            ([0, 1, 2, 3], .cpu(3)),
            ([2, 5], .cpu(5)),
            ([0], .scheduler),
            ([], .scheduler),
        ]
    )
    func defaults(allowed: [Int], expected: ControlCPU) {
        #expect(ControlCPU.choose(nil, allowed: allowed) == .success(expected))
    }

    @Test("A setting names an allowed CPU or none; anything else is refused, naming the allowed CPUs")
    func settings() {
        #expect(ControlCPU.choose("none", allowed: [0, 1]) == .success(.scheduler))
        #expect(ControlCPU.choose("0", allowed: [0, 1]) == .success(.cpu(0)))
        #expect(ControlCPU.choose("3", allowed: [2, 3]) == .success(.cpu(3)))
        #expect(
            ControlCPU.choose("7", allowed: [0, 1])
                == .failure(ControlCPUError("control CPU 7 is not one rfgend may run on (allowed: 0, 1)"))
        )
        #expect(
            ControlCPU.choose("fast", allowed: [0, 1])
                == .failure(ControlCPUError("control CPU must be a CPU's number or none; got \"fast\""))
        )
        #expect(
            ControlCPU.choose("-1", allowed: [0, 1])
                == .failure(ControlCPUError("control CPU must be a CPU's number or none; got \"-1\""))
        )
        #expect(
            ControlCPU.choose(" 1", allowed: [0, 1])
                == .failure(ControlCPUError("control CPU must be a CPU's number or none; got \" 1\"")),
            "no guessing at what was meant"
        )
    }

    /// The CPUs a running thread may use, as the kernel lists them (`Cpus_allowed_list`).
    static func allowedList(pid: Int32, thread name: String) -> String? {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? ""
            guard comm.trimmingCharacters(in: .whitespacesAndNewlines) == name else { continue }
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
                .map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    @Test("The running daemon's control thread is on the CPU the setting names, and on all of them with none")
    func running() throws {
        let allowed = RealTime.allowedCPUs()
        try #require(!allowed.isEmpty, "the test's own CPUs")
        for (setting, expected) in [("\(allowed.last!)", "\(allowed.last!)"), ("none", nil)] {
            let pair = try P.start(daemonArguments: ["--control-cpu", setting])
            defer { pair.stop() }
            // Ticks counted: the control thread has run, and pinned itself first.
            let ticking = P.reaches(pair.api) { status in
                ((status["loop"] as? [String: Any])?["ticks"] as? Int).map { $0 > 0 } == true
            }
            #expect(ticking, "\(pair.diagnosis)")
            let list = Self.allowedList(pid: pair.daemon.processIdentifier, thread: "rfgend-control")
            #expect(list != nil, "no rfgend-control thread")
            if let expected {
                #expect(list == expected, "--control-cpu \(setting)")
            } else {
                // Unpinned: the same CPUs as the daemon's main thread.
                #expect(list == Self.allowedList(pid: pair.daemon.processIdentifier, thread: "rfgend"), "none")
            }
        }
    }
}
