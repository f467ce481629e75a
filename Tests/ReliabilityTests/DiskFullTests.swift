#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

extension Reliability {
    /// Scenario 3: a write that fails (the file-size limit, RLIMIT_FSIZE, set with `ulimit -f` in the
    /// shell that execs `hubledger`): a clear error, the store still verifying at the same head, and the
    /// same append succeeding once the limit is lifted.
    ///
    /// Finding (see the report): by default the kernel answers a write past RLIMIT_FSIZE with SIGXFSZ,
    /// whose default action kills the process, and `hubledger` leaves it at the default (it ignores only
    /// SIGPIPE), so the append dies of a signal instead of reporting the error. The variant run with
    /// SIGXFSZ ignored (inherited through exec, as `signal(SIGXFSZ, SIG_IGN)` in main.swift would do)
    /// shows the store's own error path is sound.
    @Suite(.serialized)
    struct DiskFullTests {
        /// The shell's `ulimit -f` unit in bytes (512 for dash, 1024 for bash), read back from /proc.
        static func ulimitUnit() -> Int {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -f 8; exec cat /proc/self/limits"]
            let pipe = Pipe()
            process.standardOutput = pipe
            guard (try? process.run()) != nil else { return 512 }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max file size") }),
                  let bytes = line.split(separator: " ").dropFirst(3).first.flatMap({ Int($0) }) else { return 512 }
            return bytes / 8
        }

        /// Where the last segment's data ends (just after its last frame).
        static func dataEnd(_ store: String) throws -> Int {
            let names = try FileManager.default.contentsOfDirectory(atPath: store + "/segments").filter { $0.hasSuffix(".seg") }.sorted()
            let image = try SegmentImage(path: store + "/segments/" + (names.last ?? ""))
            return image.dataEnd
        }

        struct Case: CustomStringConvertible {
            var name: String
            var command: [String]
            var stdin: [UInt8]?
            var ids: [String]
            /// The file-size limit in bytes, given the store's data end and the batch's size.
            var limit: (_ dataEnd: Int) -> Int
            var emptyStore = false
            var description: String { name }
        }

        static func batch(_ count: Int, padding: Int, rng: inout Rng) -> (lines: [String], ids: [String]) {
            var lines: [String] = [], ids: [String] = []
            for n in 0..<count {
                let id = rng.uuid()
                ids.append(id)
                lines.append(Synth.line("ThingHappened", "2024-03-01T10:00:00Z", id: id, ["n": .int(Int64(n)), "pad": .string(String(repeating: "x", count: padding))]))
            }
            return (lines, ids)
        }

        @Test(arguments: [false, true])
        func aWriteThatHitsTheFileSizeLimitFailsClearlyLeavesTheHeadAndSucceedsOnceTheLimitIsLifted(ignoringSIGXFSZ: Bool) throws {
            let unit = Self.ulimitUnit()
            var rng = Rng(Knobs.seed, stream: 510 + (ignoringSIGXFSZ ? 1 : 0))
            try withHub { hub in
                var data = Rng(Knobs.seed, stream: 501)
                let pristine = try makeStore(hub, "full-pristine", lines: Synth.base(sessions: 20, people: 200, overdue: 5, rng: &data))
                let small = Self.batch(3, padding: 50, rng: &rng)
                let large = Self.batch(60, padding: 1_000, rng: &rng)   // ~70 KB: crosses a limit set just past the data
                let importLines = Synth.bigImport(prefix: "DF", people: 20, sessions: 20, rng: &rng)
                let importFile = try hub.write("disk-full-import.jsonl", lines: importLines)
                let cases: [Case] = [
                    Case(name: "append, limit below the data's end (the write fails outright)",
                         command: ["append", "--stream", "disk-full"], stdin: Array((small.lines.joined(separator: "\n") + "\n").utf8),
                         ids: small.ids, limit: { $0 / 2 }),
                    Case(name: "append, limit inside the batch (a short write, then failure)",
                         command: ["append", "--stream", "disk-full"], stdin: Array((large.lines.joined(separator: "\n") + "\n").utf8),
                         ids: large.ids, limit: { ($0 + 20_000) / 4096 * 4096 + 1536 }),   // cut 1.5 KiB past a page boundary
                    Case(name: "import, limit below the data's end",
                         command: ["import", importFile], stdin: nil, ids: importLines.compactMap(Synth.id(of:)), limit: { $0 / 2 }),
                    Case(name: "first append to a new store (preallocating the segment fails)",
                         command: ["append", "--stream", "disk-full"], stdin: Array((small.lines.joined(separator: "\n") + "\n").utf8),
                         ids: small.ids, limit: { _ in 64 << 10 }, emptyStore: true),
                ]
                var observed: [String] = []
                for c in cases {
                    let store = hub.path("full-work")
                    if c.emptyStore {
                        try? FileManager.default.removeItem(atPath: store)
                        let created = try hub.run(["init"], store: store)
                        try #require(created.succeeded, "\(created)")
                    } else {
                        try hub.copyStore(pristine, to: store)
                    }
                    let before = try hub.verify(store)
                    try #require(before.ok, "\(before.outcome)")
                    let eventsBefore = try StoreReader.ids(store).count
                    let blocks = max(1, c.limit(try Self.dataEnd(store)) / unit)
                    let shell = (ignoringSIGXFSZ ? "trap '' XFSZ; " : "") + "ulimit -f \(blocks)"
                    let refused = try hub.run(c.command, store: store, stdin: c.stdin, shell: shell)
                    let how = refused.signal.map { "killed by signal \($0)\($0 == SIGXFSZ ? " (SIGXFSZ)" : "")" } ?? "exit \(refused.status ?? -1): \(refused.stderr.split(separator: "\n").last ?? "")"
                    observed.append("\(c.name): \(how)")

                    // A clear error, not a death by signal; nothing acknowledged.
                    #expect(refused.signal == nil && refused.status == 1,
                            "\(c.name), \(ignoringSIGXFSZ ? "SIGXFSZ ignored" : "default signals"): expected exit 1 with an error, got \(how)\n\(refused)")
                    if refused.status == 1 {
                        #expect(refused.stderr.contains("File too large") || refused.stderr.contains("failed"), "unclear error: \(refused.stderr)")
                    }
                    #expect(!refused.lines.contains { Int64($0) != nil || $0.hasPrefix("imported") }, "a failed write acknowledged something: \(refused.stdout)")

                    // The store verifies with the same head; nothing of the batch is there.
                    let after = try hub.verify(store)
                    #expect(after.outcome.status == 0 && after.ok, "\(c.name): \(after.outcome)")
                    #expect(after.head == before.head, "\(c.name): the head moved from \(before.head ?? "-") to \(after.head ?? "-")")
                    do {
                        let idsAfter = try StoreReader.ids(store)
                        #expect(idsAfter.count == eventsBefore && Set(idsAfter).isDisjoint(with: c.ids), "\(c.name): events of the failed write are visible")
                    } catch {
                        Issue.record("\(c.name): the store cannot be read after the failed write: \(error)")
                        continue
                    }

                    // Space returns: the same command succeeds, each event once, and the store verifies.
                    let retried = try hub.run(c.command, store: store, stdin: c.stdin)
                    #expect(retried.succeeded, "\(c.name): the retry without a limit failed: \(retried)")
                    guard let idsFinal = try? StoreReader.ids(store) else { Issue.record("\(c.name): unreadable after the retry"); continue }
                    #expect(idsFinal.count == eventsBefore + c.ids.count && Set(c.ids).isSubset(of: Set(idsFinal)), "\(c.name): \(idsFinal.count) events after the retry")
                    #expect(idsFinal.count == Set(idsFinal).count)
                    let final = try hub.verify(store)
                    #expect(final.outcome.status == 0 && final.ok && !final.torn, "\(c.name): \(final.outcome)")
                }
                print("[reliability] disk full (ulimit -f unit \(unit) bytes, \(ignoringSIGXFSZ ? "SIGXFSZ ignored by the shell" : "default signal dispositions")):\n  " + observed.joined(separator: "\n  "))
            }
        }
    }
}
