#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How one run of a spawned process ended, with everything it wrote.
public struct ProcessOutcome: Sendable, CustomStringConvertible {
    public var arguments: [String]
    public var stdout: String
    public var stderr: String
    /// The exit status, or nil when a signal ended the process.
    public var status: Int32?
    /// The signal that ended the process, if one did.
    public var signal: Int32?
    public var seconds: Double

    public var succeeded: Bool { status == 0 }
    /// Ended by the SIGKILL a test sent (a crash by any other signal is not a kill).
    public var wasKilled: Bool { signal == SIGKILL }
    /// Ended by any signal at all.
    public var endedBySignal: Bool { signal != nil }
    /// Ended by a signal, or by a status a trap or abort leaves when run through a shell.
    public var trapped: Bool { signal != nil || [132, 133, 134, 135, 136, 137, 139, 153].contains(status ?? 0) }
    /// Non-empty stdout lines.
    public var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    public var description: String {
        let end = status.map { "exit \($0)" } ?? "signal \(signal ?? -1)"
        let shown = arguments.map { $0.count > 120 ? String($0.prefix(120)) + "…(\($0.utf8.count) bytes)" : $0 }
        return "hubledger \(shown.joined(separator: " ")) → \(end) in \(String(format: "%.3f", seconds))s\n  stdout: \(stdout.prefix(2000))\n  stderr: \(stderr.prefix(2000))"
    }
}

/// A spawned process not yet reaped by the test.
///
/// The harnesses never reap a child behind the test's back, so until `wait` (or `poll`) has seen it
/// end, its pid cannot be reused and a signal can only ever reach this child.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    public let arguments: [String]
    public let stdoutPath: String
    public let stderrPath: String
    let started = Date()
    private var finished: ProcessOutcome?

    public init(pid: pid_t, arguments: [String], stdoutPath: String, stderrPath: String) {
        self.pid = pid; self.arguments = arguments; self.stdoutPath = stdoutPath; self.stderrPath = stderrPath
    }

    /// Sends `signal` if the child has not been reaped yet.
    public func send(_ signal: Int32) { if poll() == nil { _ = Glibc.kill(pid, signal) } }

    /// Asks the child to stop as a service manager would.
    public func terminate() { send(SIGTERM) }

    /// SIGKILL, unless already reaped (a zombie ignores it harmlessly).
    public func kill() { if finished == nil { _ = Glibc.kill(pid, SIGKILL) } }

    /// The outcome if the child has ended, without waiting.
    public func poll() -> ProcessOutcome? {
        if let finished { return finished }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return finish(status)
    }

    /// Waits at most `timeout` seconds; a child still running then is killed and reported as hung.
    public func wait(timeout: Double = 120) throws -> ProcessOutcome {
        let deadline = Date().addingTimeInterval(timeout)
        var pause: useconds_t = 100
        while true {
            if let done = poll() { return done }
            if Date() > deadline {
                kill()
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                _ = finish(status)
                throw SpawnError(description: "hung: hubledger \(arguments.prefix(8).joined(separator: " ")) did not finish in \(timeout)s")
            }
            usleep(pause)
            pause = min(pause * 2, 5_000)
        }
    }

    /// Kills the child if it is still running and reaps it; never throws, never hangs for long (for `defer`).
    public func stopAndReap() {
        kill()
        _ = try? wait(timeout: 10)
    }

    /// What the child has written to stdout so far (all of it once it has ended).
    public var stdoutSoFar: String {
        if let done = poll() { return done.stdout }
        return (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    /// What the child has written to stderr so far.
    public var stderrSoFar: String {
        if let done = poll() { return done.stderr }
        return (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// Complete (newline-terminated) stdout lines written so far.
    public var completeStdoutLines: [String] {
        let text = stdoutSoFar
        guard let last = text.lastIndex(of: "\n") else { return [] }
        return text[...last].split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    private func finish(_ status: Int32) -> ProcessOutcome {
        let low = status & 0x7f
        let read = { (path: String) -> String in
            guard let data = FileManager.default.contents(atPath: path) else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        let outcome = ProcessOutcome(arguments: arguments, stdout: read(stdoutPath), stderr: read(stderrPath),
                                     status: low == 0 ? (status >> 8) & 0xff : nil,
                                     signal: low != 0 && low != 0x7f ? low : nil,
                                     seconds: Date().timeIntervalSince(started))
        unlink(stdoutPath); unlink(stderrPath)
        finished = outcome
        return outcome
    }
}
