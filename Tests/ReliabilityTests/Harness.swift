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
    var state: UInt64
    init(_ seed: UInt64, stream: UInt64 = 0) { state = seed ^ (stream &* 0xD1B5_4A32_D192_ED03) }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
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

/// How one process ended.
struct Outcome: Sendable, CustomStringConvertible {
    var arguments: [String]
    var stdout: String
    var stderr: String
    var status: Int32?
    var signal: Int32?
    var seconds: Double

    var succeeded: Bool { status == 0 }
    var wasKilled: Bool { signal == SIGKILL }
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    /// Ended by a signal, or by a status a trap or abort leaves when run through a shell.
    var trapped: Bool { signal != nil || [132, 133, 134, 135, 136, 137, 139, 153].contains(status ?? 0) }

    var description: String {
        let end = status.map { "exit \($0)" } ?? "signal \(signal ?? -1)"
        let shown = arguments.map { $0.count > 120 ? String($0.prefix(120)) + "…(\($0.utf8.count) bytes)" : $0 }
        return "hubledger \(shown.joined(separator: " ")) → \(end) in \(String(format: "%.3f", seconds))s\n  stdout: \(stdout.prefix(1500))\n  stderr: \(stderr.prefix(1500))"
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// A child process the harness started and has not yet reaped (so its pid is still ours to signal).
final class Child: @unchecked Sendable {
    let pid: pid_t
    let arguments: [String]
    let stdoutPath: String
    let stderrPath: String
    let started = Date()
    private var finished: Outcome?

    init(pid: pid_t, arguments: [String], stdoutPath: String, stderrPath: String) {
        self.pid = pid; self.arguments = arguments; self.stdoutPath = stdoutPath; self.stderrPath = stderrPath
    }

    func send(_ signal: Int32) { if poll() == nil { _ = Glibc.kill(pid, signal) } }
    /// SIGKILL, unless already reaped (a zombie ignores it harmlessly).
    func kill() { if finished == nil { _ = Glibc.kill(pid, SIGKILL) } }

    func poll() -> Outcome? {
        if let finished { return finished }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return finish(status)
    }

    /// Waits at most `timeout` seconds; a child still running then is killed and reported as hung.
    func wait(timeout: Double) throws -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        var pause: useconds_t = 100
        while true {
            if let done = poll() { return done }
            if Date() > deadline {
                kill()
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                _ = finish(status)
                throw HarnessError(description: "hung: \(arguments.prefix(8).joined(separator: " ")) did not finish in \(timeout)s")
            }
            usleep(pause)
            pause = min(pause * 2, 5_000)
        }
    }

    /// Kills (if still running) and reaps; for `defer`.
    func stopAndReap() {
        kill()
        _ = try? wait(timeout: 10)
    }

    var stdoutSoFar: String {
        if let finished { return finished.stdout }
        return (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    /// Newline-terminated stdout lines written so far.
    var completeStdoutLines: [String] {
        let text = stdoutSoFar
        guard let last = text.lastIndex(of: "\n") else { return [] }
        return text[...last].split(separator: "\n").map(String.init)
    }

    private func finish(_ status: Int32) -> Outcome {
        let low = status & 0x7f
        let read = { (path: String) -> String in
            guard let data = FileManager.default.contents(atPath: path) else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        let outcome = Outcome(arguments: arguments, stdout: read(stdoutPath), stderr: read(stderrPath),
                              status: low == 0 ? (status >> 8) & 0xff : nil,
                              signal: low != 0 && low != 0x7f ? low : nil,
                              seconds: Date().timeIntervalSince(started))
        unlink(stdoutPath); unlink(stderrPath)
        finished = outcome
        return outcome
    }
}

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
