#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// How one run of the `hubledger` binary ended, and a run still going (shared with the reliability suite).
typealias CLIResult = ProcessOutcome
typealias RunningCommand = RunningProcess

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
