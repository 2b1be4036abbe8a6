// swift-tools-version:6.0
//
// Faultline: call crash-prone native code and get back an exact, typed outcome.
// See README.md, section ARCHITECTURE, for how the targets fit together.

import PackageDescription

/// One executable target per numbered experiment, under `Experiments/NN-name`.
let experiments = [
    "01-direct-call",
    "02-pool-map-hang",
    "03-signal-handler-returns",
    "04-timeout-per-call",
    "05-inprocess-guard",
    "06-fork-per-call",
    "07-supervised-pool",
    "08-why-inprocess-is-unsafe",
    "09-python-peers",
    "10-hostile-callees",
    "11-real-library",
    "12-python-and-dask",
    "13-triage",
]

/// What an experiment needs beyond Faultline, FaultlineHarness and ExperimentKit.
let labTargets: [String: [Target.Dependency]] = [
    "03-signal-handler-returns": ["CFaultlineLab"],
]

/// The tests, one target per room: the guard and signatures, fork, the pool,
/// the command line and bench, the lab (experiments and their harness).
let testRooms = ["CoreTests", "ForkTests", "PoolTests", "CLITests", "LabTests"]

let package = Package(
    name: "Faultline",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Faultline", targets: ["Faultline"]),
        .library(name: "FaultlineVictims", type: .dynamic, targets: ["FaultlineVictims"]),
        .library(name: "FaultlineSimulator", type: .dynamic, targets: ["FaultlineSimulator"]),
        .library(name: "FaultlineBugs", type: .dynamic, targets: ["FaultlineBugs"]),
        .executable(name: "faultline", targets: ["FaultlineCLI"]),
        .executable(name: "faultline-helper", targets: ["faultline-helper"]),
    ] + experiments.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Everything that runs in a signal handler, jumps, or runs between fork() and _exit().
        .target(
            name: "CFaultline",
            cSettings: [.headerSearchPath("."), .define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread"), .linkedLibrary("ffi")]
        ),
        // The lab's C, never linked by a user: the bench's timing loops, experiment 03's
        // returning handler, the tests' probes. Uses CFaultline's public header only.
        .target(
            name: "CFaultlineLab",
            dependencies: ["CFaultline"],
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // Keeps a C-only product free of the Swift runtime the Swift driver links into
        // everything (c_only.c). Never a dependency of a target with Swift code.
        .target(name: "CFaultlineCOnly", linkerSettings: [.linkedLibrary("dl")]),
        // Native functions that misbehave on purpose: the zoo every test and experiment uses.
        // Without the Swift runtime, like the C libraries it stands for.
        .target(
            name: "FaultlineVictims",
            dependencies: ["CFaultlineCOnly"],
            cSettings: [.define("_GNU_SOURCE"), .unsafeFlags(["-O2", "-g", "-fno-omit-frame-pointer"])],
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        // A small C++ library behind extern "C" functions, with real-looking bugs (experiment 11).
        .target(
            name: "FaultlineSimulator",
            cxxSettings: [.unsafeFlags(["-O2", "-g", "-fno-omit-frame-pointer"])]
        ),
        // A C++ record parser behind extern "C" with six real-looking bugs, and a shim that hands
        // zlib a bad destination (experiment 13: triage). With DWARF; without the Swift runtime.
        .target(
            name: "FaultlineBugs",
            dependencies: ["CFaultlineCOnly"],
            cxxSettings: [.unsafeFlags(["-g", "-O2", "-fno-omit-frame-pointer"])]
        ),
        // Source-level names of code addresses through elfutils' libdwfl, for crash reports. Loads
        // libdw.so.1 with dlopen on first use (libdw.c); builds with libdw-dev's headers. A dependency
        // of the Swift `Faultline` only (never of the helper or the victims).
        .target(
            name: "CFaultlineSymbols",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        // The public Swift API: outcomes, strategies, the worker pool.
        .target(name: "Faultline", dependencies: ["CFaultline", "CFaultlineSymbols"]),
        // The lab's process harness: children under a deadline, /proc views. Used by the
        // tests, the experiments and the bench; not part of the library's API.
        .target(name: "FaultlineHarness", dependencies: ["Faultline", "CFaultline"]),
        // The figures of one `faultline bench` run as Codable types: written by the bench,
        // read by the report. No dependencies, so that the report does not link the bench.
        .target(name: "FaultlineBenchResult"),
        // `faultline bench`: strategies against the C floors and the Python peers, targets judged.
        .target(name: "FaultlineBench", dependencies: ["Faultline", "CFaultline", "CFaultlineLab", "FaultlineHarness", "FaultlineBenchResult"]),
        // Shared plumbing of the numbered experiments and the report.
        .target(name: "ExperimentKit", dependencies: ["Faultline", "FaultlineHarness", "FaultlineBenchResult"],
                path: "Experiments/ExperimentKit"),
        // `faultline-helper`: the small image a pool's helper runs (found beside the executable).
        .executableTarget(name: "faultline-helper", dependencies: ["CFaultline", "CFaultlineCOnly"], path: "Sources/FaultlineHelper",
                          cSettings: [.define("_GNU_SOURCE")]),
        // `faultline-floors`: the floors at the limit of the machine, measured in a minimal C process.
        .executableTarget(name: "faultline-floors", dependencies: ["CFaultlineCOnly"], path: "Sources/FaultlineFloors",
                         cSettings: [.define("_GNU_SOURCE")]),
        // The `faultline` command.
        .executableTarget(
            name: "FaultlineCLI",
            dependencies: [
                "Faultline",
                "FaultlineBench",
                "FaultlineHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What every test room shares: where the build put the victims and `faultline`.
        .target(name: "FaultlineTestSupport", dependencies: ["Faultline"], path: "Tests/FaultlineTestSupport"),
    ] + testRooms.map { room in
        .testTarget(name: room, dependencies: ["Faultline", "CFaultline", "CFaultlineLab", "FaultlineHarness", "FaultlineBenchResult",
                                               "ExperimentKit", "FaultlineBench", "FaultlineTestSupport"],
                    path: "Tests/\(room)", exclude: room == "CLITests" ? ["Fixtures/post_program.py"] : [])
    } + experiments.map {
        .executableTarget(name: $0, dependencies: ["Faultline", "FaultlineHarness", "ExperimentKit"] + (labTargets[$0] ?? []), path: "Experiments/\($0)",
                          exclude: ["09-python-peers": ["peers.py"], "11-real-library": ["peers11.py"], "12-python-and-dask": ["dask12.py"], "13-triage": ["peers13.py"]][$0] ?? [])
    }
)
