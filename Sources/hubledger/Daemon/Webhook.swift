import Foundation

/// POSTs an alert as JSON; retried with backoff, so a webhook that is down delays an alert but never drops it.
///
/// Each attempt is one run of `hubledger-webhook`, installed beside `hubledger`: the HTTP client it
/// links would otherwise slow the start of every `hubledger` command by ~8 ms.
struct Webhook: Sendable {
    let url: URL

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
            if post(body) { return true }
            if attempt == attempts || StopSignal.isRequested { break }
            StopSignal.sleep(pause)
            pause *= 2
        }
        return false
    }

    private func post(_ body: String) -> Bool {
        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: Self.senderPath)
        sender.arguments = [url.absoluteString]
        let input = Pipe()
        sender.standardInput = input
        sender.standardOutput = FileHandle.nullDevice
        do { try sender.run() } catch {
            Console.err("watch: could not run \(Self.senderPath): \(error)")
            return false
        }
        input.fileHandleForWriting.write(Data(body.utf8))
        try? input.fileHandleForWriting.close()
        // Wait in short slices so that SIGTERM is honoured even while a webhook hangs.
        let deadline = Date().addingTimeInterval(15)
        while sender.isRunning {
            if StopSignal.isRequested || Date() > deadline {
                sender.terminate()
                sender.waitUntilExit()
                return false
            }
            usleep(10_000)
        }
        return sender.terminationReason == .exit && sender.terminationStatus == 0
    }
}
