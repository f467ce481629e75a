// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
/// Compiled against the static Foundation's modules, so the link brings in what they need (ICU).
let staticInRelease: [SwiftSetting] = [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]

let package = Package(
    name: "HubLedger",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hubledger", targets: ["hubledger"]),
        .executable(name: "hubledger-webhook", targets: ["hubledger-webhook"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "Projections", targets: ["Projections"]),
    ],
    targets: [
        // Bytes, files, locks and hashes. Knows nothing of referrals.
        .target(name: "EventStore", dependencies: ["CHashAccel"], path: "EventStore", exclude: ["CAccel"], swiftSettings: strict),
        // The CPU's SHA-256 and CRC-32C instructions, used when present (pure-Swift fallback in EventStore/Hashing).
        .target(name: "CHashAccel", path: "EventStore/CAccel"),
        // What a hub's events mean, and the rules that keep the record trustworthy.
        .target(name: "HubDomain", dependencies: ["EventStore"], path: "Sources/HubDomain", swiftSettings: strict),
        // Pure folds of the log into read models. Never opens a file.
        .target(name: "Projections", dependencies: ["HubDomain", "EventStore"], path: "Projections", swiftSettings: strict),
        // Parses arguments, calls one library function, prints. Depends on the webhook sender only so
        // that building hubledger builds it too (it is run, never linked). A release build on Linux
        // carries the Swift runtime and Foundation inside it: loading and binding them as shared
        // libraries took ~6 of the ~10 ms a command spends starting, most of a `history`'s cost.
        // (lld, which the toolchain ships, because gold warns about a libc call inside Foundation.)
        .executableTarget(name: "hubledger", dependencies: ["EventStore", "HubDomain", "Projections", "hubledger-webhook"],
                          path: "Sources/hubledger", swiftSettings: strict + staticInRelease,
                          linkerSettings: [.unsafeFlags(["-static-stdlib", "-use-ld=lld"], .when(platforms: [.linux], configuration: .release))]),
        // One webhook POST per run, for `watch --webhook`: the HTTP client stays out of hubledger's start-up.
        .executableTarget(name: "hubledger-webhook", path: "Sources/hubledger-webhook", swiftSettings: strict),
        // Speed is measured here, in a release build, never in tests (bench/run).
        .executableTarget(name: "hubledger-bench", dependencies: ["EventStore", "HubDomain", "Projections"],
                          path: "bench/HubLedgerBench", swiftSettings: strict),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "TestSupport"], path: "Tests/EventStoreTests"),
        .testTarget(name: "HubDomainTests", dependencies: ["HubDomain", "EventStore", "TestSupport"], path: "Tests/HubDomainTests"),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "HubDomain", "EventStore"], path: "Tests/ProjectionsTests"),
        // What several test targets share: finding and spawning the binary, reading a segment to damage it.
        .target(name: "TestSupport", dependencies: ["EventStore"], path: "Tests/TestSupport"),
        .testTarget(name: "CLITests", dependencies: ["EventStore", "TestSupport"], path: "Tests/CLITests"),
        .testTarget(name: "ReliabilityTests", dependencies: ["EventStore", "TestSupport"], path: "Tests/ReliabilityTests"),
    ],
    swiftLanguageModes: [.v6]
)
