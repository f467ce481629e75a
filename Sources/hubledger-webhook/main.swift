import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

// hubledger-webhook: POSTs one alert (JSON on standard input) to one URL, for `hubledger watch --webhook`.
//
// A program of its own because the HTTP client (FoundationNetworking, with curl and TLS beneath it)
// costs every process that links it ~8 ms to start; `hubledger` itself starts on every command.
// The daemon retries, backs off and honours SIGTERM; this makes one attempt.
//
// Exit status: 0 the webhook answered 2xx; 1 it did not (the reason on standard error); 2 usage.

let usage = """
usage: hubledger-webhook URL     (the request body on standard input)

POSTs the body once as application/json, waiting at most 10 seconds. Exits 0 when the webhook
answers 2xx, 1 when it does not (the reason on standard error), 2 on a usage error.
Run by `hubledger watch --webhook URL`, which finds it beside itself; not needed otherwise.
"""

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--help" || arguments.first == "-h" {
    print(usage)
    exit(0)
}
guard arguments.count == 1, let url = URL(string: arguments[0]), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}

var request = URLRequest(url: url, timeoutInterval: 10)
request.httpMethod = "POST"
request.setValue("application/json", forHTTPHeaderField: "Content-Type")
request.httpBody = FileHandle.standardInput.readDataToEndOfFile()
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
if let reason = outcome.withLock({ $0 }) {
    FileHandle.standardError.write(Data("hubledger-webhook: \(url) did not accept the alert: \(reason)\n".utf8))
    exit(1)
}
exit(0)
