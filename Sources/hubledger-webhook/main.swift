import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

// hubledger-webhook: POSTs alerts (JSON) to one URL, for `hubledger watch --webhook`.
//
// A program of its own because the HTTP client (FoundationNetworking, with curl and TLS beneath it)
// costs every process that links it ~8 ms to start; `hubledger` itself starts on every command.
// The daemon retries, backs off and honours SIGTERM; this makes one attempt per body.

let usage = """
usage: hubledger-webhook URL            POST standard input once
       hubledger-webhook --lines URL    POST each line of standard input, answering each on standard output

POSTs as application/json, waiting at most 10 seconds for each answer. Alone, it exits 0 when the
webhook answers 2xx and 1 when it does not (the reason on standard error). With --lines it answers
each line with one line, `ok` or `failed: REASON`, and exits 0 at the end of its input; the alert
daemon keeps one running per webhook. Exit 2 on a usage error.
Run by `hubledger watch --webhook URL`, which finds it beside itself; not needed otherwise.
"""

/// POSTs one body; nil when the webhook answered 2xx, else why not.
func post(_ body: Data, to url: URL) -> String? {
    var request = URLRequest(url: url, timeoutInterval: 10)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = body
    let outcome = Mutex<String?>("no answer within 10 s")
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { _, response, error in
        let status = (response as? HTTPURLResponse)?.statusCode
        outcome.withLock {
            if let error { $0 = error.localizedDescription }
            else if let status, (200..<300).contains(status) { $0 = nil }
            else { $0 = "HTTP status \(status.map(String.init) ?? "unknown")" }
        }
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + 12)
    return outcome.withLock { $0 }
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--help" || arguments.first == "-h" {
    print(usage)
    exit(0)
}
let lines = arguments.first == "--lines"
if lines { arguments.removeFirst() }
guard arguments.count == 1, let url = URL(string: arguments[0]), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}

if lines {
    while let line = readLine(strippingNewline: true) {
        guard !line.isEmpty else { continue }
        let answer = post(Data(line.utf8), to: url).map { "failed: " + $0.replacingOccurrences(of: "\n", with: " ") } ?? "ok"
        // Written at once, unbuffered: the daemon is waiting for it. If the daemon has gone, so do we.
        do { try FileHandle.standardOutput.write(contentsOf: Data((answer + "\n").utf8)) } catch { exit(0) }
    }
    exit(0)
}
if let reason = post(FileHandle.standardInput.readDataToEndOfFile(), to: url) {
    FileHandle.standardError.write(Data("hubledger-webhook: \(url) did not accept the alert: \(reason)\n".utf8))
    exit(1)
}
exit(0)
