#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Synchronization
import Testing

// A small copy of what the CLI tests use to run the real `hubledger` binary (a test target cannot
// import another's helpers): posix_spawn with stdout/stderr to files, SIGKILL, bounded waits.

/// Every scenario runs in this suite, one test at a time: the kill schedules are timed against the
/// machine's speed, and two of them at once on a 2-core machine would only add noise.
@Suite(.serialized) enum Reliability {}

// MARK: - Knobs

/// Sizes and seeds, raised for a soak with environment variables.
enum Knobs {
    static func int(_ name: String, default value: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment[name], let n = Int(text), n >= 0 else { return value }
        return n
    }

    /// Total SIGKILLs across the crash scenarios (split 1/3 import, 1/2 record, 1/6 watch).
    static var kills: Int { int("HUBLEDGER_KILLS", default: 300) }
    /// Bad-input cases for the import fuzz (argv and claims cases are derived from it).
    static var fuzzCases: Int { int("HUBLEDGER_FUZZ_CASES", default: 10_000) }

    /// The seed of every random choice in the suite; printed, and replayed with HUBLEDGER_SEED.
    static var seed: UInt64 {
        if let text = ProcessInfo.processInfo.environment["HUBLEDGER_SEED"] {
            if let n = UInt64(text) { return n }
            if text.hasPrefix("0x"), let n = UInt64(text.dropFirst(2), radix: 16) { return n }
        }
        return 0x4855_424C_4544_4752   // "HUBLEDGR"
    }
}

/// SplitMix64: small, seeded, reproducible.
struct Rng: RandomNumberGenerator {
    var base: SplitMix64
    /// Independent streams from one seed, so adding draws to one scenario leaves the others as they were.
    init(_ seed: UInt64, stream: UInt64 = 0) { base = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03)) }
    mutating func next() -> UInt64 { base.next() }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    /// A deterministic UUID (version 4 layout).
    mutating func uuid() -> String {
        func hex(_ v: UInt64) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: 16 - h.count) + h }
        let chars = Array(hex(next()) + hex(next()))
        func s(_ r: Range<Int>) -> String { String(chars[r]) }
        return "\(s(0..<8))-\(s(8..<12))-4\(s(13..<16))-a\(s(17..<20))-\(s(20..<32))"
    }
}

// MARK: - Running the binary

/// How one process ended, and one still running (shared with the CLI tests).
typealias Outcome = ProcessOutcome
typealias Child = RunningProcess

/// Runs the real `hubledger` in a temporary directory of its own, removed by `cleanup()`.
final class Hub: @unchecked Sendable {
    let binary: String
    let root: String
    private let io: String
    private let counter = Atomic(0)

    init() throws {
        binary = try Hub.locateBinary()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("hubledger-reliability-\(UUID().uuidString)").path
        io = root + "/.io"
        try FileManager.default.createDirectory(atPath: io, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: root) }

    func path(_ name: String) -> String { root + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, lines: [String]) throws -> String {
        try write(name, Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Replaces `destination` with a copy of the store at `source`.
    func copyStore(_ source: String, to destination: String) throws {
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    static func locateBinary() throws -> String { try locateHubledgerBinary() }

    /// Starts `hubledger arguments…` with HUBLEDGER_STORE=`store`, stdin from `stdin` (bytes) or /dev/null,
    /// and the working directory set to this hub's root. With `shell`, runs
    /// `/bin/sh -c '<shell>; exec hubledger "$@"'` (e.g. `ulimit -f 100`).
    func start(_ arguments: [String], store: String?, stdin: [UInt8]? = nil, shell: String? = nil,
               environment overrides: [String: String] = [:]) throws -> Child {
        let n = counter.add(1, ordering: .relaxed).newValue
        let base = "\(io)/\(getpid())-\(n)"
        let outPath = base + ".out", errPath = base + ".err"
        var inPath = "/dev/null"
        if let stdin {
            inPath = base + ".in"
            try Data(stdin).write(to: URL(fileURLWithPath: inPath))
        }
        defer { if inPath != "/dev/null" { unlink(inPath) } }

        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HUBLEDGER_ACTOR")
        environment["HUBLEDGER_STORE"] = store ?? ""
        for (key, value) in overrides { environment[key] = value }

        let executable: String
        let argv: [String]
        if let shell {
            executable = "/bin/sh"
            argv = ["-c", "\(shell); exec \"$0\" \"$@\"", binary] + arguments
        } else {
            executable = binary
            argv = arguments
        }
        // Relative paths a command is given land in the scratch directory.
        let pid = try spawnChild(executable, argv, environment: environment, stdin: inPath, stdout: outPath, stderr: errPath,
                                 workingDirectory: root)
        return Child(pid: pid, arguments: arguments, stdoutPath: outPath, stderrPath: errPath)
    }

    /// Runs to completion (bounded: a hang is an error).
    @discardableResult
    func run(_ arguments: [String], store: String?, stdin: [UInt8]? = nil, shell: String? = nil,
             environment: [String: String] = [:], timeout: Double = 60) throws -> Outcome {
        try start(arguments, store: store, stdin: stdin, shell: shell, environment: environment).wait(timeout: timeout)
    }
}

/// Runs `body` with a fresh hub and removes its files afterwards.
func withHub(_ body: (Hub) throws -> Void) throws {
    let hub = try Hub()
    defer { hub.cleanup() }
    try body(hub)
}

// MARK: - Looking at a store through the binary

extension Hub {
    /// `verify --json`, parsed: (outcome, ok, "POSITION:HASH" head or nil, error position or nil, tornTail).
    func verify(_ store: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (outcome: Outcome, ok: Bool, head: String?, errorPosition: Int64?, torn: Bool) {
        let result = try run(["verify", "--json"], store: store)
        let line = try #require(result.lines.first, "verify printed nothing: \(result)", sourceLocation: sourceLocation)
        let report = try #require(try JSONParser.parse(line).objectValue, sourceLocation: sourceLocation)
        var head: String?
        if let h = report["head"]?.objectValue, let p = h["position"]?.intValue, let hash = h["hash"]?.stringValue { head = "\(p):\(hash)" }
        return (result, report["ok"]?.boolValue == true, head, report["error"]?.objectValue?["position"]?.intValue,
                report["tornTail"]?.boolValue == true)
    }

    /// `verify --json` must pass; returns the head.
    @discardableResult
    func expectVerified(_ store: String, _ context: @autoclosure () -> String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        let v = try verify(store, sourceLocation: sourceLocation)
        #expect(v.outcome.status == 0 && v.ok, "verify failed \(context()): \(v.outcome)", sourceLocation: sourceLocation)
        return v.head
    }

    /// `log --json`, parsed.
    func logEvents(_ store: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [JSONObject] {
        let result = try run(["log", "--json"], store: store)
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        return try result.lines.map { try #require(try JSONParser.parse($0).objectValue, sourceLocation: sourceLocation) }
    }

    /// Catch-up equals rebuild: `audit --json` and `referrals --json --now T` computed from the existing
    /// checkpoints are byte-identical to the same commands after `rebuild`.
    func expectCatchUpEqualsRebuild(_ store: String, now: String, _ context: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reads = [["audit", "--json"], ["referrals", "--json", "--now", now], ["review", "--json", "--now", now]]
        let before = try reads.map { try run($0, store: store) }
        for r in before { #expect(r.succeeded, "\(context): \(r)", sourceLocation: sourceLocation) }
        let rebuilt = try run(["rebuild"], store: store)
        #expect(rebuilt.succeeded, "\(context): \(rebuilt)", sourceLocation: sourceLocation)
        let after = try reads.map { try run($0, store: store) }
        for (b, a) in zip(before, after) {
            #expect(b.stdout == a.stdout, "\(context): `\(b.arguments.joined(separator: " "))` from checkpoints differs from a rebuild:\n  caught up: \(b.stdout.prefix(600))\n  rebuilt:   \(a.stdout.prefix(600))",
                    sourceLocation: sourceLocation)
        }
    }
}
