// swift-tools-version: 6.2
//
// Benchmarks live in a package of their own so that `swift build` and `swift test` of the
// project do not build the benchmark harness. Run them all, with the process-level ones, and
// write the results table: scripts/bench. Only these: cd Benchmarks && swift package benchmark

import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between checkouts: look it up.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "rfgen-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RFGenBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RFGenProtocol", package: root),
                .product(name: "RFGenCore", package: root),
                .product(name: "RFGenLink", package: root),
                .product(name: "RFGenMachine", package: root),
                .product(name: "RFGenAPI", package: root),
                .product(name: "RFGenSimulator", package: root),
                .product(name: "RFGenSystem", package: root),
                .product(name: "RFGenTestSupport", package: root),
            ],
            path: "RFGenBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
