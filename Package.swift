// swift-tools-version: 6.2
//
// rfgen: control software for the RF generator used in basivertebral nerve ablation.
//
// Modules follow the direction of dependency (see README.md, "The parts"):
//   RFGenProtocol   the generator wire codec: bytes in, messages out; no I/O, no Foundation
//   RFGenCore       the control core: controller, profiles (next: interlocks, state machine); pure
//   RFGenLink       the host's side of the generator link, sans-I/O: handshake, retries, keepalive, stats
//   RFGenSimulator  the simulated generator: tissue model + protocol engine on an injected clock
//   RFGenAPI        the socket API's requests, replies and events (Codable values, no I/O)
//   RFGenMachine    everything the control thread decides, as one pure value the daemon, the
//                   simulation and the harnesses all step
//   RFGenDaemon     the shell: serial port, link and control threads, the API on SwiftNIO; rfgend runs it
//   rfgen-sim       the simulator served on a pseudo-terminal (the only I/O in Simulator/)
//   RFGenDiscovery  finding the generator through libudev by USB vendor, product and serial; hotplug
//   RFGenRecords    durable treatment records in SQLite (GRDB, WAL)
//   RFGenSystem     thin wrappers of the system calls the daemon and the simulator share (termios, clock)
//   CLinuxShims     one-line C wrappers for Linux calls Swift cannot import (_GNU_SOURCE, variadic)
// The simulator depends on the codec only, never on the daemon.

import PackageDescription

/// Every target of ours builds in Swift 6 language mode with warnings treated as errors,
/// so a warning can never slip into main.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

/// The codec, the link engine, the simulator and the test fixtures are optimised in debug builds
/// as well. The unit tests drive whole lesions through them (the plausibility suite alone runs
/// some 150), and unoptimised they were most of those tests' time, copying structures and calling
/// unspecialised generics: `swift test --skip ProcessTests` took 364 s (706 s of CPU) on 2 cores,
/// and 155 s (294 s) with this (2026-12-02), every printed outcome identical. Nothing checked is
/// lost: -O keeps preconditions and overflow and bounds traps, and these four modules have one
/// `assert` among them (the tissue model's geometry). The core and the machine, whose `assert`s
/// state what must hold after each step, stay as debug builds them.
let optimisedInDebug: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "rfgen",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RFGenProtocol", targets: ["RFGenProtocol"]),
        .library(name: "RFGenCore", targets: ["RFGenCore"]),
        .library(name: "RFGenLink", targets: ["RFGenLink"]),
        .library(name: "RFGenAPI", targets: ["RFGenAPI"]),
        .library(name: "RFGenMachine", targets: ["RFGenMachine"]),
        .library(name: "RFGenSimulator", targets: ["RFGenSimulator"]),
        .library(name: "RFGenTestSupport", targets: ["RFGenTestSupport"]),
        .library(name: "RFGenSystem", targets: ["RFGenSystem"]),
        .executable(name: "rfgen-sim", targets: ["rfgen-sim"]),
        .executable(name: "rfgend", targets: ["rfgend"]),
        .executable(name: "rfctl", targets: ["rfctl"]),
        .executable(name: "rfgen-replay", targets: ["rfgen-replay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "RFGenProtocol",
            path: "Sources/RFGenProtocol",
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "RFGenCore",
            dependencies: ["RFGenProtocol"],
            path: "Sources/RFGenCore",
            swiftSettings: strict
        ),
        .target(
            name: "RFGenLink",
            dependencies: ["RFGenProtocol", "RFGenCore"],
            path: "Sources/RFGenLink",
            swiftSettings: optimisedInDebug
        ),
        .target(
            // Everything the control thread decides, as one pure value (issue 13): the daemon,
            // the simulation, the benchmarks and the harnesses step this same machine.
            name: "RFGenMachine",
            dependencies: ["RFGenAPI", "RFGenCore", "RFGenLink", "RFGenProtocol"],
            path: "Sources/RFGenMachine",
            swiftSettings: strict
        ),
        .target(
            // The socket API's requests, replies and events: Codable values, no I/O. rfgend and
            // rfctl share it.
            name: "RFGenAPI",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            path: "Sources/RFGenAPI",
            swiftSettings: strict
        ),
        .target(
            name: "RFGenDaemon",
            dependencies: [
                "RFGenAPI", "RFGenCore", "RFGenDiscovery", "RFGenLink", "RFGenMachine", "RFGenProtocol", "RFGenRecords",
                "RFGenSystem", "CLinuxShims", "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/RFGenDaemon",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rfgend",
            dependencies: [
                "RFGenAPI", "RFGenCore", "RFGenDaemon", "RFGenDiscovery", "RFGenLink", "RFGenSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/rfgend",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rfctl",
            dependencies: [
                "RFGenAPI", "RFGenReport", "RFGenSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The metrics exporter's HTTP server (`rfctl metrics --listen`).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // gzip of finished capture files (`rfctl capture --compress gzip`).
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Sources/rfctl",
            swiftSettings: strict
        ),
        .executableTarget(
            // libFuzzer targets (scripts/fuzz); built normally, replay tools for their inputs.
            name: "fuzz-frame-decoder",
            dependencies: ["RFGenProtocol", "RFGenSystem"],
            path: "Sources/fuzz-frame-decoder",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fuzz-api-request",
            dependencies: ["RFGenAPI", "RFGenSystem"],
            path: "Sources/fuzz-api-request",
            swiftSettings: strict
        ),
        .executableTarget(
            // The deterministic simulation for any number of seeds (issue 6).
            name: "rfgen-dst",
            dependencies: ["RFGenTestSupport", "RFGenSystem"],
            path: "Sources/rfgen-dst",
            swiftSettings: strict
        ),
        .target(
            // Regression replay: a recorded lesion through this build's machine (issue 17).
            name: "RFGenReplay",
            dependencies: ["RFGenAPI", "RFGenCore", "RFGenLink", "RFGenMachine", "RFGenProtocol"],
            path: "Sources/RFGenReplay",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rfgen-replay",
            dependencies: [
                "RFGenAPI", "RFGenRecords", "RFGenReplay", "RFGenSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/rfgen-replay",
            swiftSettings: strict
        ),
        .target(
            // Fixtures shared by tests and benchmarks: the controller against the simulator.
            name: "RFGenTestSupport",
            dependencies: ["RFGenAPI", "RFGenCore", "RFGenLink", "RFGenMachine", "RFGenProtocol", "RFGenSimulator"],
            path: "Sources/RFGenTestSupport",
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "RFGenRecords",
            dependencies: ["RFGenAPI", "RFGenCore", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/RFGenRecords",
            swiftSettings: strict
        ),
        .target(
            // Lesion reports as self-contained HTML with inline SVG, from exported records; pure.
            name: "RFGenReport",
            dependencies: ["RFGenAPI"],
            path: "Sources/RFGenReport",
            swiftSettings: strict
        ),
        .target(
            name: "RFGenSystem",
            dependencies: ["CLinuxShims", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/RFGenSystem",
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CUdev",
            path: "Sources/CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            path: "Sources/CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "RFGenDiscovery",
            dependencies: ["CUdev"],
            path: "Sources/RFGenDiscovery",
            swiftSettings: strict
        ),
        .target(
            name: "CLinuxShims",
            path: "Sources/CLinuxShims"
        ),
        .target(
            name: "RFGenSimulator",
            dependencies: ["RFGenProtocol"],
            path: "Simulator/Sources/RFGenSimulator",
            swiftSettings: optimisedInDebug
        ),
        .executableTarget(
            name: "rfgen-sim",
            dependencies: [
                "RFGenProtocol",
                "RFGenSimulator",
                "RFGenSystem",
                "CLinuxShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Simulator/Sources/rfgen-sim",
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenProtocolTests",
            dependencies: [
                "RFGenProtocol",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenSimulatorTests",
            dependencies: [
                // The core for the daemon's lesion estimate, judged against the simulator's truth.
                "RFGenCore",
                "RFGenProtocol",
                "RFGenSimulator",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            // The core is tested against the simulator library, in virtual time.
            name: "RFGenCoreTests",
            dependencies: [
                "RFGenAPI", "RFGenCore", "RFGenLink", "RFGenMachine", "RFGenProtocol", "RFGenRecords", "RFGenReplay",
                "RFGenSimulator", "RFGenSystem", "RFGenTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenDiscoveryTests",
            dependencies: ["RFGenDiscovery"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenAPITests",
            dependencies: ["RFGenAPI", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenReportTests",
            dependencies: ["RFGenAPI", "RFGenReport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenRecordsTests",
            dependencies: ["RFGenAPI", "RFGenCore", "RFGenRecords", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RFGenLinkTests",
            dependencies: ["RFGenLink", "RFGenCore", "RFGenProtocol", "RFGenSimulator"],
            swiftSettings: strict
        ),
        .testTarget(
            // Runs the built rfgen-sim and rfgend as processes; the dependencies make sure they are built.
            name: "RFGenCommandTests",
            dependencies: ["RFGenProtocol", "RFGenSystem", "rfgen-sim", "rfgend", "rfctl"],
            swiftSettings: strict
        ),
    ]
)
