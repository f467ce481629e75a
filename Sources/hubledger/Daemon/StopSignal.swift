import Dispatch
import Foundation
import Synchronization

/// SIGTERM and SIGINT ask a long-running command to finish its cycle and exit 0.
enum StopSignal {
    private static let requested = Atomic<Bool>(false)
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Installs the handlers (call once, from the main thread, before the loop).
    static func install() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { requested.store(true, ordering: .relaxed) }
            source.resume()
            sources.append(source)
        }
    }

    /// Installs the handlers, then calls `poll` every `seconds` until a stop is requested: how a
    /// `--follow` keeps going until SIGTERM or SIGINT, and then ends with exit 0.
    static func poll(every seconds: Double, _ poll: () throws -> Void) rethrows {
        install()
        while !isRequested {
            sleep(seconds)
            try poll()
        }
    }

    /// Sleeps up to `seconds`, waking early when a stop is requested or `until` becomes true.
    static func sleep(_ seconds: Double, until: () -> Bool = { false }) {
        let deadline = Date().addingTimeInterval(seconds)
        while !isRequested && Date() < deadline && !until() {
            usleep(100_000)
        }
    }
}

/// Parses `30s`, `5m`, `1h`, `500ms` or a plain number of seconds.
enum Interval {
    static func parse(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v > 0, (v * factor).isFinite else { return nil }
            return v * factor
        }
        guard let v = Double(text), v > 0, v.isFinite else { return nil }
        return v
    }

    /// `30s`, `500ms` or `1.5s`: an interval as the daemon's log and `status` show it.
    static func text(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        return seconds == seconds.rounded() && seconds < 1e15 ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
