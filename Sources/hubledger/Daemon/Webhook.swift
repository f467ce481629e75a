import Foundation

/// POSTs an alert as JSON; retried with backoff, so a webhook that is down delays an alert but never drops it.
///
/// The POSTs are made by `hubledger-webhook`, installed beside `hubledger` (the HTTP client it links
/// would otherwise slow the start of every `hubledger` command by ~8 ms); one is kept running per
/// webhook (`WebhookSender`), so a burst of alerts does not start a process for each.
struct Webhook: Sendable {
    let url: URL
    let sender: WebhookSender

    init(url: URL) {
        self.url = url
        sender = WebhookSender(url: url)
    }

    /// Where the sender is: beside this executable (followed through symlinks, so a `hubledger` linked
    /// into a bin directory still finds the sender installed with it).
    static var senderPath: String {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("hubledger-webhook").path
    }

    /// Refuses to start a daemon whose alerts could never leave.
    static func checkSenderInstalled() throws {
        let path = senderPath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLIError.failure("cannot send webhooks: \(path) is missing. It is built with hubledger "
                                   + "(`swift build -c release`, or `swift build -c release --product hubledger-webhook`) and must sit beside it")
        }
    }

    /// Tries a few times with growing pauses; false when it never got a 2xx answer (the caller tries again next cycle).
    func deliver(_ body: String, attempts: Int = 4) -> Bool {
        var pause = 0.5
        for attempt in 1...attempts {
            if sender.post(body) { return true }
            if attempt == attempts || StopSignal.isRequested { break }
            StopSignal.sleep(pause)
            pause *= 2
        }
        return false
    }
}

/// One `hubledger-webhook --lines URL` kept running for a webhook: each alert is a line written to
/// it, answered by a line (`ok` or `failed: …`). Started when first needed, and again after it died,
/// hung past the deadline, or was stopped by SIGTERM.
final class WebhookSender: @unchecked Sendable {
    let url: URL
    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private var process: Process?
    private var toSender: Int32 = -1
    private var fromSender: Int32 = -1
    private var unread: [UInt8] = []

    init(url: URL) { self.url = url }

    deinit { stop() }

    /// One POST of a single-line JSON body; true when the webhook answered 2xx within `timeout` seconds.
    func post(_ body: String, timeout: Double = 15) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard start() else { return false }
        let line = Array((body.replacingOccurrences(of: "\n", with: " ") + "\n").utf8)
        guard writeAll(line) else { stopLocked(); return false }
        // Wait in short slices so that SIGTERM is honoured even while a webhook hangs.
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = unread.firstIndex(of: UInt8(ascii: "\n")) {
                let answer = String(decoding: unread[..<newline], as: UTF8.self)
                unread.removeSubrange(...newline)
                return answer == "ok"
            }
            if StopSignal.isRequested || Date() > deadline { stopLocked(); return false }
            var poller = pollfd(fd: fromSender, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) >= 0 || errno == EINTR else { stopLocked(); return false }
            guard poller.revents != 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(fromSender, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { stopLocked(); return false }   // the sender died
            unread += buffer[..<count]
        }
    }

    /// Stops the sender (the daemon is stopping; or it will be started again for the next alert).
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        stopLocked()
    }

    private func start() -> Bool {
        if let process, process.isRunning { return true }
        stopLocked()
        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: Webhook.senderPath)
        sender.arguments = ["--lines", url.absoluteString]
        let input = Pipe(), output = Pipe()
        sender.standardInput = input
        sender.standardOutput = output
        do { try sender.run() } catch {
            Console.err("watch: could not run \(Webhook.senderPath): \(error)")
            return false
        }
        // Our own copies of the pipes' far ends, so that the sender sees the end of its input if we go.
        toSender = dup(input.fileHandleForWriting.fileDescriptor)
        fromSender = dup(output.fileHandleForReading.fileDescriptor)
        try? input.fileHandleForWriting.close()
        try? input.fileHandleForReading.close()
        try? output.fileHandleForReading.close()
        try? output.fileHandleForWriting.close()
        process = sender
        unread = []
        return toSender >= 0 && fromSender >= 0
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(toSender, $0.baseAddress?.advanced(by: offset), bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private func stopLocked() {
        if toSender >= 0 { close(toSender); toSender = -1 }
        if fromSender >= 0 { close(fromSender); fromSender = -1 }
        if let process {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        process = nil
        unread = []
    }
}
