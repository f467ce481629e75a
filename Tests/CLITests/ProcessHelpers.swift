#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TestSupport

/// Bounded polling: tests never wait on a child without a deadline.
enum Poll {
    /// Calls `condition` every `every` seconds until it returns true or `timeout` seconds pass;
    /// returns whether it became true.
    @discardableResult
    static func until(timeout: Double, every: Double = 0.02, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            usleep(useconds_t(every * 1_000_000))
        }
    }
}

/// A helper process that is not `hubledger` (e.g. a local HTTP server), with its output in files.
///
/// Like `RunningProcess`, it is reaped only by `wait`/`stop`, so signals can only reach this child.
final class HelperProcess: @unchecked Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private var reaped = false

    /// Starts `executable` (looked up in PATH) with `arguments`, stdin from /dev/null.
    init(_ executable: String, _ arguments: [String], scratch: URL) throws {
        let id = UUID().uuidString
        stdoutPath = scratch.appendingPathComponent("helper-\(id).out").path
        stderrPath = scratch.appendingPathComponent("helper-\(id).err").path

        let child = try spawnChild(executable, arguments, environment: ProcessInfo.processInfo.environment,
                                   stdin: "/dev/null", stdout: stdoutPath, stderr: stderrPath, searchPath: true)
        pid = child
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Whether the child has exited (reaping it if so).
    var hasExited: Bool {
        if reaped { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
        return reaped
    }

    /// SIGKILLs the child (if still ours) and reaps it, waiting at most a few seconds.
    func stop() {
        guard !hasExited else { return }
        _ = Glibc.kill(pid, SIGKILL)
        Poll.until(timeout: 5, every: 0.01) { hasExited }
    }

    deinit {
        stop()
        unlink(stdoutPath); unlink(stderrPath)
    }
}

/// A local HTTP server on 127.0.0.1 (Python's http.server) standing in for a webhook receiver.
///
/// It answers 500 to the first `failures` POSTs (every POST when `failures` is negative) and 200
/// afterwards, and appends one JSON line per POST — `{"status", "contentType", "body"}` — to
/// `requestsPath` before answering, so a 200 the client saw is always on file. With `hang` seconds,
/// it records each POST (as status 0) and then answers nothing for that long (a stuck receiver); with
/// `delay` seconds, it answers as usual but only after that long (a slow receiver).
final class WebhookServer: @unchecked Sendable {
    let process: HelperProcess
    let port: Int
    let requestsPath: String

    static let script = #"""
import http.server, json, os, sys, threading, time
failures = int(sys.argv[1]); path = sys.argv[2]; hang = float(sys.argv[3]); delay = float(sys.argv[4]); parent = os.getppid()
lock = threading.Lock(); count = [0]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        with lock:
            count[0] += 1
            code = 200 if (failures >= 0 and count[0] > failures) else 500
            if hang > 0:
                code = 0
            with open(path, "a") as f:
                f.write(json.dumps({"status": code, "contentType": self.headers.get("Content-Type"), "body": body}) + "\n")
        if hang > 0:
            time.sleep(hang)
            code = 500
        elif delay > 0:
            time.sleep(delay)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
def watchdog():
    started = time.time()
    while os.getppid() == parent and time.time() - started < 120:
        time.sleep(0.2)
    os._exit(0)
threading.Thread(target=watchdog, daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    /// Starts the server and waits (at most 10 s) for it to print its port.
    init(failures: Int, hang: Double = 0, delay: Double = 0, scratch: URL) throws {
        requestsPath = scratch.appendingPathComponent("webhook-\(UUID().uuidString).jsonl").path
        _ = FileManager.default.createFile(atPath: requestsPath, contents: nil)
        let process = try HelperProcess("python3", ["-c", WebhookServer.script, String(failures), requestsPath, String(hang), String(delay)],
                                        scratch: scratch)
        self.process = process
        var found: Int?
        Poll.until(timeout: 10, every: 0.02) {
            if let line = process.stdout.split(separator: "\n").first, let n = Int(line.trimmingCharacters(in: .whitespaces)) {
                found = n
                return true
            }
            return process.hasExited
        }
        guard let found else {
            process.stop()
            throw WebhookServerError.didNotStart(stderr: process.stderr)
        }
        port = found
    }

    var url: String { "http://127.0.0.1:\(port)/" }

    /// Every POST received so far, in order.
    func requests() -> [(status: Int, contentType: String?, body: String)] {
        let text = (try? String(contentsOfFile: requestsPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let data = line.data(using: .utf8),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let status = o["status"] as? Int, let body = o["body"] as? String else { return nil }
            return (status, o["contentType"] as? String, body)
        }
    }

    func stop() { process.stop() }
}

enum WebhookServerError: Error, CustomStringConvertible {
    case didNotStart(stderr: String)
    var description: String { "the local webhook server (python3 http.server) did not start: \(stderr)" }
    private var stderr: String { if case .didNotStart(let s) = self { return s } else { return "" } }
}
