#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// How one run of the `hubledger` binary ended.
struct CLIResult: Sendable, CustomStringConvertible {
    var arguments: [String]
    var stdout: String
    var stderr: String
    /// The exit status, or nil when a signal ended the process.
    var status: Int32?
    /// The signal that ended the process, if one did.
    var signal: Int32?
    var seconds: Double

    var succeeded: Bool { status == 0 }
    var wasKilled: Bool { signal != nil }
    /// Non-empty stdout lines.
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    var description: String {
        let end = status.map { "exit \($0)" } ?? "signal \(signal ?? -1)"
        return "hubledger \(arguments.joined(separator: " ")) → \(end)\n  stdout: \(stdout.prefix(2000))\n  stderr: \(stderr.prefix(2000))"
    }
}

enum CLIHarnessError: Error, CustomStringConvertible {
    case timedOut([String])

    var description: String {
        switch self {
        case .timedOut(let args): return "hubledger \(args.joined(separator: " ")) did not finish in time"
        }
    }
}

private func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

/// A `hubledger` process started by the harness and not yet reaped.
///
/// The harness never reaps a child behind the test's back, so until `wait()` returns its pid
/// cannot be reused and `kill` can only ever reach this child.
final class RunningCommand: @unchecked Sendable {
    let pid: pid_t
    let arguments: [String]
    let stdoutPath: String
    let stderrPath: String
    let started = Date()
    private var finished: CLIResult?

    init(pid: pid_t, arguments: [String], stdoutPath: String, stderrPath: String) {
        self.pid = pid; self.arguments = arguments; self.stdoutPath = stdoutPath; self.stderrPath = stderrPath
    }

    /// Sends SIGKILL (harmless if the child has already exited but is not yet reaped).
    func kill() {
        if finished == nil { sendSignal(pid, SIGKILL) }
    }

    /// The result if the child has ended, without waiting.
    func poll() -> CLIResult? {
        if let finished { return finished }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        return finish(status)
    }

    /// Waits for the child; kills it after `timeout` seconds and reports that as an error.
    func wait(timeout: Double = 120) throws -> CLIResult {
        if let finished { return finished }
        let deadline = Date().addingTimeInterval(timeout)
        var pause: useconds_t = 200
        while true {
            if let result = poll() { return result }
            if Date() > deadline {
                kill()
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                _ = finish(status)
                throw CLIHarnessError.timedOut(arguments)
            }
            usleep(pause)
            pause = min(pause * 2, 5_000)
        }
    }

    private func finish(_ status: Int32) -> CLIResult {
        let low = status & 0x7f
        let result = CLIResult(
            arguments: arguments,
            stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "",
            status: low == 0 ? (status >> 8) & 0xff : nil,
            signal: low != 0 && low != 0x7f ? low : nil,
            seconds: Date().timeIntervalSince(started))
        unlink(stdoutPath); unlink(stderrPath)
        finished = result
        return result
    }
}

/// Runs the real `hubledger` binary in a scratch directory of its own.
///
/// The binary is found next to the test products (the directory holding the test bundle or
/// runner, or one of its parents), or wherever `HUBLEDGER_BIN` says.
final class CLIHarness: @unchecked Sendable {
    let binary: String
    /// A fresh directory for stores and scratch files, removed by `cleanup()`.
    let root: URL
    private let scratch: URL

    init() throws {
        binary = try CLIHarness.locateBinary()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("hubledger-cli-tests-\(UUID().uuidString)")
        scratch = root.appendingPathComponent(".io")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(at: root) }

    /// A store path inside the scratch directory (not created).
    func storePath(_ name: String = "store") -> String { root.appendingPathComponent(name).path }

    static func locateBinary() throws -> String { try locateHubledgerBinary() }

    /// Starts `hubledger args…` with `stdin` as its standard input and `HUBLEDGER_STORE=store`.
    func start(_ arguments: [String], stdin: String = "", store: String?,
               environment overrides: [String: String] = [:]) throws -> RunningCommand {
        let id = UUID().uuidString
        let inPath = scratch.appendingPathComponent("\(id).in").path
        let outPath = scratch.appendingPathComponent("\(id).out").path
        let errPath = scratch.appendingPathComponent("\(id).err").path
        try Data(stdin.utf8).write(to: URL(fileURLWithPath: inPath))
        defer { unlink(inPath) }   // the child has its own descriptor once spawned

        var environment = ProcessInfo.processInfo.environment
        // The actor is the OS user running the tests, the first admin of every store they create.
        environment.removeValue(forKey: "HUBLEDGER_ACTOR")
        environment["HUBLEDGER_STORE"] = store ?? ""
        for (key, value) in overrides { environment[key] = value }

        let pid = try spawnChild(binary, arguments, environment: environment, stdin: inPath, stdout: outPath, stderr: errPath)
        return RunningCommand(pid: pid, arguments: arguments, stdoutPath: outPath, stderrPath: errPath)
    }

    /// Runs `hubledger args…` to completion.
    @discardableResult
    func run(_ arguments: [String], stdin: String = "", store: String?,
             environment: [String: String] = [:], timeout: Double = 120) throws -> CLIResult {
        try start(arguments, stdin: stdin, store: store, environment: environment).wait(timeout: timeout)
    }
}

/// Runs `body` with a fresh harness and removes its files afterwards.
func withCLI(_ body: (CLIHarness) throws -> Void) throws {
    let cli = try CLIHarness()
    defer { cli.cleanup() }
    try body(cli)
}

/// The operating-system user running the tests: the actor of every command the harness runs.
func osUserName() -> String {
    if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "uid-\(geteuid())"
}

extension CLIResult {
    /// stdout parsed as one JSON object.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONObject {
        let value = try JSONParser.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        return try #require(value.objectValue, "stdout is not a JSON object: \(self)", sourceLocation: sourceLocation)
    }
}
