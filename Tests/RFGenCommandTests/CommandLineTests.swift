import Foundation
import RFGenSystem
import Testing

/// What the four programs have in common on the command line.
struct CommandLineTests {
    @Test("--version on rfgend, rfctl, rfgen-sim and rfgen-replay prints the package's version and exits 0")
    func versions() throws {
        for program in ["rfgend", "rfctl", "rfgen-sim", "rfgen-replay"] {
            let result = try runProcess(builtProgram(program), ["--version"])
            #expect(result.status == 0, "\(program): \(result.errors)")
            #expect(result.output == RFGenVersion.current + "\n", "\(program): \(result.output)")
        }
    }
}
