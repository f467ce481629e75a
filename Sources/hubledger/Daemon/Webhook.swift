import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// POSTs an alert as JSON; retried with backoff, so a webhook that is down delays an alert but never drops it.
struct Webhook: Sendable {
    let url: URL

    /// Tries a few times with growing pauses; false when it never got a 2xx answer (the caller tries again next cycle).
    func deliver(_ body: String, attempts: Int = 4) -> Bool {
        var pause = 0.5
        for attempt in 1...attempts {
            if post(body) { return true }
            if attempt == attempts || StopSignal.isRequested { break }
            StopSignal.sleep(pause)
            pause *= 2
        }
        return false
    }

    private func post(_ body: String) -> Bool {
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let outcome = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.dataTask(with: request) { _, response, error in
            let ok = error == nil && ((response as? HTTPURLResponse).map { (200..<300).contains($0.statusCode) } ?? false)
            outcome.withLock { $0 = ok }
            done.signal()
        }
        task.resume()
        // Wait in short slices so that SIGTERM is honoured even while a webhook hangs.
        let deadline = Date().addingTimeInterval(10)
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if StopSignal.isRequested || Date() > deadline {
                task.cancel()
                return false
            }
        }
        return outcome.withLock { $0 } ?? false
    }
}
