#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import Synchronization
import Testing

extension Reliability {
    /// Scenario 2: eight writer processes at once on overlapping streams (six raw `append` clients with
    /// expected versions and read-modify-retry, two `record` clients on the same participants), with a
    /// `watch` daemon raising alerts and a reader looping `log --json` and `verify --json` meanwhile.
    @Suite(.serialized)
    struct ConcurrencyTests {
        struct Ack: Sendable { var writer: Int; var id: String; var stream: String; var position: Int64 }

        static let appendWriters = 6
        static let recordWriters = 2
        static var appendsPerWriter: Int { max(5, Knobs.int("HUBLEDGER_CONCURRENT_OPS", default: 20)) }
        static let sharedStreams = ["shared-0", "shared-1", "shared-2"]

        /// "found version N" / "found no stream" from a conflict message.
        static func foundVersion(_ stderr: String) -> Int64?? {
            if stderr.contains("found no stream") { return .some(nil) }
            guard let range = stderr.range(of: "found version ") else { return nil }
            return Int64(stderr[range.upperBound...].prefix { $0.isNumber }).map { .some($0) }
        }

        @Test func eightWritersADaemonAndAReaderLoseNothingDuplicateNothingAndReportConflictsAsConflicts() throws {
            let seed = Knobs.seed
            print("[reliability] concurrency: \(Self.appendWriters) append + \(Self.recordWriters) record writers, \(Self.appendsPerWriter) acknowledged appends each, seed \(seed)")
            try withHub { hub in
                var data = Rng(seed, stream: 201)
                let people = 12, sessions = 12, overdue = 30
                // Children without participation consent: each attendance the record clients write is an alert the
                // daemon must raise while the writers are still going.
                let children = (1...people).map { Synth.registered(String(format: "K-%04d", $0), "2023-12-01T09:00:00Z", id: data.uuid(), generation: "child") }
                let store = try makeStore(hub, "concurrent", lines: Synth.base(sessions: sessions, people: people, overdue: overdue, rng: &data) + children)
                let daemon = try hub.start(["watch", "--interval", "100ms", "--now", Synth.T], store: store)
                defer { daemon.stopAndReap() }

                let acks = Mutex<[Ack]>([])
                let problems = Mutex<[String]>([])
                let conflicts = Atomic(0)
                let readerRounds = Atomic(0)
                let writersDone = Atomic(false)
                let group = DispatchGroup()        // the writers
                let readerGroup = DispatchGroup()

                // Raw appenders: pick a shared stream, append 1–3 events expecting the version last seen;
                // on a conflict, take the version the refusal names and retry the same batch.
                for w in 0..<Self.appendWriters {
                    group.enter()
                    Thread {
                        defer { group.leave() }
                        var rng = Rng(seed, stream: 300 + UInt64(w))
                        var last: [String: Int64] = [:]   // stream → last version seen (-1: no stream; absent: unknown)
                        var done = 0, attempts = 0
                        while done < Self.appendsPerWriter && attempts < Self.appendsPerWriter * 40 {
                            let stream = rng.pick(Self.sharedStreams)
                            let ids = (0..<(1 + rng.below(3))).map { _ in rng.uuid() }
                            let input = ids.enumerated().map { i, id in
                                Synth.line("ThingHappened", "2024-03-01T10:00:00Z", id: id, ["writer": .int(Int64(w)), "n": .int(Int64(done)), "i": .int(Int64(i))])
                            }.joined(separator: "\n") + "\n"
                            var settled = false
                            while !settled && attempts < Self.appendsPerWriter * 40 {
                                attempts += 1
                                let any = rng.chance(0.1)
                                let expected = any ? "any" : last[stream].map { $0 < 0 ? "no-stream" : String($0) } ?? "no-stream"
                                let result: Outcome
                                do {
                                    result = try hub.run(["append", "--stream", stream, "--expected-version", expected], store: store,
                                                         stdin: Array(input.utf8), timeout: 60)
                                } catch {
                                    problems.withLock { $0.append("append writer \(w): \(error)") }
                                    return
                                }
                                if result.succeeded {
                                    let positions = result.lines.compactMap { Int64($0) }
                                    guard positions.count == ids.count else {
                                        problems.withLock { $0.append("append writer \(w) printed \(result.lines) for \(ids.count) events") }
                                        return
                                    }
                                    acks.withLock { all in for (id, p) in zip(ids, positions) { all.append(Ack(writer: w, id: id, stream: stream, position: p)) } }
                                    if any { last.removeValue(forKey: stream) } else { last[stream] = (last[stream] ?? -1) + Int64(ids.count) }
                                    settled = true
                                    done += 1
                                } else if result.status == 1 && result.stderr.contains("wrong expected version"), let found = Self.foundVersion(result.stderr) {
                                    conflicts.add(1, ordering: .relaxed)
                                    if !result.stdout.isEmpty { problems.withLock { $0.append("a refused append printed positions: \(result)") } }
                                    last[stream] = found ?? -1
                                } else {
                                    problems.withLock { $0.append("append writer \(w): neither success nor a conflict: \(result)") }
                                    return
                                }
                            }
                        }
                        if done < Self.appendsPerWriter { problems.withLock { $0.append("append writer \(w) made \(done) appends in \(attempts) attempts") } }
                    }.start()
                }

                // Record clients: attendances of the same participants (so the same participant streams);
                // `record` retries its own conflicts; if it gives up, that must be reported as a conflict.
                for w in 0..<Self.recordWriters {
                    group.enter()
                    Thread {
                        defer { group.leave() }
                        var rng = Rng(seed, stream: 400 + UInt64(w))
                        var pairs: [(String, String)] = []
                        for p in 1...people {
                            for s in stride(from: 1 + w, through: sessions, by: Self.recordWriters) {
                                pairs.append((String(format: "K-%04d", p), String(format: "S-%04d", s)))
                            }
                        }
                        pairs.shuffle(using: &rng)
                        var attempts = 0
                        for (participant, session) in pairs.prefix(Self.appendsPerWriter) {
                            let id = rng.uuid()
                            var settled = false
                            while !settled && attempts < Self.appendsPerWriter * 20 {
                                attempts += 1
                                let result: Outcome
                                do {
                                    result = try hub.run(["record", "AttendanceRecorded", "--participant", participant, "--session", session,
                                                          "--occurred-at", "2024-02-01T10:05:00Z", "--id", id], store: store, timeout: 60)
                                } catch {
                                    problems.withLock { $0.append("record writer \(w): \(error)") }
                                    return
                                }
                                let prefix = "recorded AttendanceRecorded at position "
                                if result.succeeded, let line = result.lines.first(where: { $0.hasPrefix(prefix) }),
                                   let position = Int64(line.dropFirst(prefix.count).prefix { $0.isNumber }) {
                                    acks.withLock { $0.append(Ack(writer: Self.appendWriters + w, id: id, stream: "participant-\(participant)", position: position)) }
                                    settled = true
                                } else if result.status == 1 && (result.stderr.contains("wrong expected version") || result.stderr.contains("try again")) {
                                    conflicts.add(1, ordering: .relaxed)
                                } else {
                                    problems.withLock { $0.append("record writer \(w): neither success nor a conflict: \(result)") }
                                    return
                                }
                            }
                        }
                    }.start()
                }

                // A reader: every `log --json` is a gapless prefix of whole batches; every `verify` passes.
                readerGroup.enter()
                Thread {
                    defer { readerGroup.leave() }
                    while !writersDone.load(ordering: .relaxed) {
                        do {
                            let log = try hub.run(["log", "--json"], store: store, timeout: 60)
                            guard log.succeeded else { problems.withLock { $0.append("reader: \(log)") }; return }
                            var next: Int64 = 0
                            var versions: [String: Int64] = [:]
                            for line in log.lines {
                                guard let o = try? JSONParser.parse(line).objectValue, let p = o["position"]?.intValue,
                                      let s = o["stream"]?.stringValue, let v = o["streamVersion"]?.intValue else {
                                    problems.withLock { $0.append("reader: unparsable log line \(line.prefix(200))") }; return
                                }
                                if p != next || v != (versions[s] ?? -1) + 1 {
                                    problems.withLock { $0.append("reader: position \(p) (expected \(next)), \(s) version \(v) after \(versions[s] ?? -1)") }
                                    return
                                }
                                next += 1
                                versions[s] = v
                            }
                            let v = try hub.run(["verify", "--json"], store: store, timeout: 60)
                            guard v.succeeded, v.stdout.contains("\"ok\":true") else { problems.withLock { $0.append("reader verify: \(v)") }; return }
                            readerRounds.add(1, ordering: .relaxed)
                        } catch {
                            problems.withLock { $0.append("reader: \(error)") }
                            return
                        }
                    }
                }.start()

                // Writers first, then stop the reader.
                let finished = group.wait(timeout: .now() + 240)
                writersDone.store(true, ordering: .relaxed)
                let readerFinished = readerGroup.wait(timeout: .now() + 60)
                #expect(finished == .success && readerFinished == .success, "writers and reader did not finish in time")

                // The daemon stops cleanly on SIGTERM, then a last cycle raises whatever is still due.
                daemon.send(SIGTERM)
                let stopped = try daemon.wait(timeout: 30)
                #expect(stopped.status == 0, "the daemon did not stop cleanly: \(stopped)")
                let last = try hub.run(["watch", "--once", "--now", Synth.T], store: store)
                #expect(last.succeeded, "\(last)")

                let found = problems.withLock { $0 }
                #expect(found.isEmpty, "\(found.count) problem(s):\n\(found.prefix(10).joined(separator: "\n"))")
                let acknowledged = acks.withLock { $0 }
                // (An append client that could not finish its appends reported it as a problem above.)
                #expect(acknowledged.filter { $0.writer >= Self.appendWriters }.count == Self.recordWriters * Self.appendsPerWriter,
                        "not every record client finished: \(acknowledged.count) events acknowledged")

                // Nothing lost, nothing duplicated, nothing invented; versions gapless per stream.
                let events = try hub.logEvents(store)
                #expect(events.map { $0["position"]?.intValue } == (0..<Int64(events.count)).map { $0 }, "positions are not gapless")
                var positionsByID: [String: [Int64]] = [:]
                var versions: [String: [Int64]] = [:]
                for e in events {
                    if let id = e["id"]?.stringValue, let p = e["position"]?.intValue { positionsByID[id, default: []].append(p) }
                    if let s = e["stream"]?.stringValue, let v = e["streamVersion"]?.intValue { versions[s, default: []].append(v) }
                }
                #expect(positionsByID.values.allSatisfy { $0.count == 1 }, "an id appears more than once")
                for a in acknowledged {
                    #expect(positionsByID[a.id] == [a.position], "writer \(a.writer)'s acknowledged \(a.id) (position \(a.position)) is at \(positionsByID[a.id] ?? [])")
                }
                for (stream, list) in versions {
                    #expect(list == (0..<Int64(list.count)).map { $0 }, "stream \(stream) versions are not gapless: \(list.prefix(20))")
                }
                // Every event on the shared streams is one a writer was told was appended.
                let ackedIDs = Set(acknowledged.map(\.id))
                let shared = events.filter { Self.sharedStreams.contains($0["stream"]?.stringValue ?? "") }
                #expect(shared.allSatisfy { ackedIDs.contains($0["id"]?.stringValue ?? "") }, "an event nobody acknowledged is on a shared stream")
                #expect(shared.count == acknowledged.filter { Self.sharedStreams.contains($0.stream) }.count)
                // The daemon raised each due alert exactly once, despite the traffic.
                let alertKeys = events.filter { $0["stream"]?.stringValue == "alerts" }.compactMap { $0["data"]?.objectValue }.map(CrashTests.alertKey)
                let expectedAlerts = Set((0..<overdue).flatMap { r in
                    ["warning", "urgent"].map { "referral-awaiting-first-attendance|\(String(format: "R-OD%03d", r))|\($0)" }
                }).union(acknowledged.filter { $0.writer >= Self.appendWriters }.map { "attendance-without-consent|\($0.id)|warning" })
                let raisedLive = Set(last.lines.compactMap { try? JSONParser.parse($0).objectValue }.map(CrashTests.alertKey))
                #expect(alertKeys.count == Set(alertKeys).count, "an alert was recorded twice")
                #expect(Set(alertKeys) == expectedAlerts, "alerts recorded: \(alertKeys.count), expected \(expectedAlerts.count)")
                try hub.expectVerified(store, "after the concurrent run")
                try hub.expectCatchUpEqualsRebuild(store, now: Synth.T, "concurrent writers")
                print("[reliability] concurrency: \(acknowledged.count) events acknowledged, \(conflicts.load(ordering: .relaxed)) conflicts reported and retried, \(readerRounds.load(ordering: .relaxed)) reader rounds, \(alertKeys.count) alerts raised (\(alertKeys.count - raisedLive.count) by the running daemon); seed \(seed)")
                #expect(conflicts.load(ordering: .relaxed) > 0, "no writer ever conflicted: the test did not exercise expected versions")
            }
        }
    }
}
