import EventStore
import Foundation
import Synchronization
import Testing

// MARK: - Shared helpers for the event-store tests

/// A store in a fresh directory under the system temporary directory, removed when the test ends.
func withTemporaryStore(options: EventLog.Options = .forTests, _ body: (EventLog, String) throws -> Void) throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("eventstore-tests-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let path = root.appendingPathComponent("store").path
    let log = try EventLog.create(at: path, options: options)
    try body(log, path)
}

extension EventLog.Options {
    /// Small preallocation: every read scans the preallocated zeros at the end of the last segment,
    /// which for the default 16 MB costs about half a second per open in a debug build.
    static var forTests: EventLog.Options { EventLog.Options(preallocationChunk: 1 << 16) }
}

/// A synthetic event whose content is a function of `n`, so the same `n` and id make a valid retry.
func makeEvent(_ stream: StreamID, _ n: Int, id: UUID = UUID(), type: String = "ThingHappened",
               data: JSONObject? = nil) -> ProposedEvent {
    ProposedEvent(id: id, stream: stream, type: type,
                  occurredAt: Timestamp(microseconds: 1_700_000_000_000_000 + Int64(n) * 1_000_000),
                  actor: "test-actor",
                  data: data ?? JSONObject([(key: "n", value: .int(Int64(n))), (key: "label", value: .string("event number \(n)"))]))
}

/// A clock the test drives: returns the given instants in turn, repeating the last one.
final class ScriptedClock: Sendable {
    private let state: Mutex<(values: [Int64], next: Int)>
    init(_ values: [Int64]) { state = Mutex((values, 0)) }
    func now() -> Timestamp {
        state.withLock { s in
            let v = s.values[min(s.next, s.values.count - 1)]
            s.next += 1
            return Timestamp(microseconds: v)
        }
    }
}

// MARK: - Tests

struct EventLogTests {
    // MARK: Creating and opening

    @Test func aNewStoreIsEmptyAndVerifies() throws {
        try withTemporaryStore { log, _ in
            #expect(try log.head() == nil)
            #expect(try log.events().isEmpty)
            #expect(try log.events(in: "anything").isEmpty)
            let report = try log.verify()
            #expect(report.isOK)
            #expect(report.events == 0)
            #expect(report.head == nil)
            #expect(!report.tornTail)
        }
    }

    @Test func creatingAStoreOverExistingFilesIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("eventstore-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: root.appendingPathComponent("notes.txt"))
        #expect(throws: EventStoreError.storeNotEmpty(path: root.path)) { try EventLog.create(at: root.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["notes.txt"])
        // An existing store is refused too, and said to be one (init run twice: nothing is wrong).
        let store = root.appendingPathComponent("store").path
        _ = try EventLog.create(at: store, options: .forTests)
        #expect(throws: EventStoreError.storeAlreadyExists(path: store)) { try EventLog.create(at: store) }
        #expect(EventStoreError.storeAlreadyExists(path: store).description.contains("already a HubLedger store"))
    }

    @Test func openingAMissingDirectoryOrANonStoreIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("eventstore-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: EventStoreError.storeNotFound(path: root.path)) { try EventLog(path: root.path) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        #expect(throws: EventStoreError.notAStore(path: root.path)) { try EventLog(path: root.path) }
    }

    @Test func aFileWhereTheStoreShouldBeIsNamedAsAFileAndLeftAsItWas() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("eventstore-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("afile").path
        try Data("notes".utf8).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o644)
        #expect(throws: EventStoreError.notADirectory(path: file)) { try EventLog(path: file) }
        #expect(throws: EventStoreError.notADirectory(path: file)) { try EventLog.create(at: file) }
        #expect(FileManager.default.contents(atPath: file) == Data("notes".utf8))
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o644, "create must not chmod the file")
    }

    // MARK: Round trips

    @Test func appendedEventsReadBackWithEveryFieldIntact() throws {
        let clock = ScriptedClock([1_800_000_000_000_000])
        var options = EventLog.Options.forTests
        options.clock = { clock.now() }
        try withTemporaryStore(options: options) { log, path in
            let data: JSONObject = JSONObject([(key: "zeta", value: "last letter first"), (key: "alpha", value: 1),
                                               (key: "nested", value: ["b": [1, 2.5, nil, true], "a": "é😀"])])
            var first = makeEvent("participant-P-0001", 1, type: "Registered", data: data)
            first.schemaVersion = 3
            first.correlationId = "corr-1"
            first.causationId = "cause-1"
            let second = makeEvent("participant-P-0001", 2, type: "Renamed")
            let third = makeEvent("participant-P-0001", 3)
            let result = try log.append([first, second, third], to: "participant-P-0001", expecting: .noStream)
            #expect(result.positions == [0, 1, 2])
            #expect(result.appendedCount == 3)
            #expect(result.recovery == nil)

            for reader in [log, try EventLog(path: path, options: .forTests)] {
                let events = try reader.events()
                try #require(events.count == 3)
                for (i, (event, proposed)) in zip(events, [first, second, third]).enumerated() {
                    #expect(event.position == LogPosition(i))
                    #expect(event.streamVersion == StreamVersion(i))
                    #expect(event.stream == "participant-P-0001")
                    #expect(event.id == proposed.id)
                    #expect(event.type == proposed.type)
                    #expect(event.occurredAt == proposed.occurredAt)
                    #expect(event.recordedAt == Timestamp(microseconds: 1_800_000_000_000_000))
                    #expect(event.actor == "test-actor")
                    #expect(event.data == proposed.data)
                    #expect(event.schemaVersion == proposed.schemaVersion)
                    #expect(event.correlationId == proposed.correlationId)
                    #expect(event.causationId == proposed.causationId)
                    #expect(event.endsBatch == (i == 2))
                    #expect(event.isRetry(of: proposed))
                }
                #expect(events[0].data.keys == ["zeta", "alpha", "nested"])
                #expect(events[0].data["nested"]?.objectValue?.keys == ["b", "a"])
                // The chain: genesis, then each record links to its predecessor's hash.
                #expect(events[0].previousHash == .genesis)
                #expect(events[1].previousHash == events[0].hash)
                #expect(events[2].previousHash == events[1].hash)
                #expect(Set(events.map(\.hash)).count == 3)
                #expect(try reader.head() == LogHead(position: 2, hash: events[2].hash))
                #expect(result.head == LogHead(position: 2, hash: events[2].hash))
            }
        }
    }

    @Test func eventsFromAndThroughSelectARangeAndForEachStopsWhenAsked() throws {
        try withTemporaryStore { log, _ in
            for n in 0..<10 { try log.append([makeEvent(n % 2 == 0 ? "even" : "odd", n)], to: n % 2 == 0 ? "even" : "odd") }
            #expect(try log.events(from: 3, through: 6).map(\.position) == [3, 4, 5, 6])
            #expect(try log.events(from: 7).map(\.position) == [7, 8, 9])
            #expect(try log.events(from: 10).isEmpty)
            var seen: [LogPosition] = []
            try log.forEach(from: 2) { event in seen.append(event.position); return event.position < 4 }
            #expect(seen == [2, 3, 4])
        }
    }

    @Test func eventsInAStreamAreOnlyThatStreamInVersionOrder() throws {
        try withTemporaryStore { log, path in
            var appended: [StreamID: [UUID]] = [:]
            let streams: [StreamID] = ["a", "b", "c"]
            for n in 0..<30 {
                let stream = streams[(n * 7 + n / 5) % 3]
                let event = makeEvent(stream, n)
                try log.append([event], to: stream)
                appended[stream, default: []].append(event.id)
            }
            for reader in [log, try EventLog(path: path, options: .forTests)] {
                for stream in streams {
                    let events = try reader.events(in: stream)
                    #expect(events.allSatisfy { $0.stream == stream })
                    #expect(events.map(\.streamVersion) == (0..<Int64(events.count)).map { $0 })
                    #expect(events.map(\.id) == appended[stream])
                    #expect(zip(events, events.dropFirst()).allSatisfy { $0.position < $1.position })
                }
                #expect(try reader.events(in: "nobody").isEmpty)
            }
        }
    }

    @Test func eventsInAStreamAreFoundEvenWhenTheDerivedIndexIsMissing() throws {
        try withTemporaryStore { log, path in
            for n in 0..<12 { try log.append([makeEvent(n % 3 == 0 ? "x" : "y", n)], to: n % 3 == 0 ? "x" : "y") }
            try FileManager.default.removeItem(atPath: path + "/index/positions.idx")
            let reader = try EventLog(path: path, options: .forTests)
            #expect(try reader.events(in: "x").map(\.position) == [0, 3, 6, 9])
            #expect(try reader.events(in: "y").count == 8)
            #expect(try reader.head()?.position == 11)
        }
    }

    @Test func eventsInAStreamAreAllFoundWhenTheTailOfTheDerivedIndexWasLost() throws {
        // The index is never fsynced: after a crash its last entries may read back as zeros while
        // the log itself (fsynced) is intact. Readers must not lose events because of that.
        try withTemporaryStore { log, path in
            for n in 0..<12 { try log.append([makeEvent(n % 3 == 0 ? "x" : "y", n)], to: n % 3 == 0 ? "x" : "y") }
            let indexPath = path + "/index/positions.idx"
            var index = try #require(FileManager.default.contents(atPath: indexPath))
            let entry = 40  // docs/FORMAT.md, "Index"
            try #require(index.count == 12 * entry)
            index.replaceSubrange((8 * entry)..<(12 * entry), with: [UInt8](repeating: 0, count: 4 * entry))
            try index.write(to: URL(fileURLWithPath: indexPath))
            let reader = try EventLog(path: path, options: .forTests)
            #expect(try reader.events().count == 12)
            #expect(try reader.events(in: "x").map(\.position) == [0, 3, 6, 9])
            #expect(try reader.events(in: "y").map(\.position) == [1, 2, 4, 5, 7, 8, 10, 11])
            // Reading backwards along the per-stream links from the last event does not lose them either.
            #expect(try reader.events(inStreamsEndingAt: ["x": 9]).map(\.position) == [0, 3, 6, 9])
            #expect(try reader.events(inStreamsEndingAt: ["y": 11, "x": 9]).map(\.position) == Array(0...11))
        }
    }

    @Test func anIndexLongerThanTheLogDoesNotMakeTheStoreRefuseEventsItNoLongerHolds() throws {
        // The segments are the only source of truth and the index is derived (docs/FORMAT.md): after the
        // segments are restored from an older copy, the store must accept the lost events again.
        try withTemporaryStore { log, path in
            let events = (0..<10).map { makeEvent("s", $0) }
            for event in events.prefix(5) { try log.append([event], to: "s") }
            let segment = URL(fileURLWithPath: path + "/segments/00000001.seg")
            let backup = try Data(contentsOf: segment)
            for event in events.suffix(5) { try log.append([event], to: "s") }
            try backup.write(to: segment)

            let restored = try EventLog(path: path, options: .forTests)
            #expect(try restored.events().map(\.id) == events.prefix(5).map(\.id))
            #expect(try restored.verify().isOK)
            #expect(try restored.events(in: "s").count == 5)
            do {
                let replay = try restored.append([events[7]], to: "s", expecting: .exact(4))
                #expect(replay.positions == [5])
                #expect(replay.appendedCount == 1)
            } catch {
                Issue.record("replaying an event the restored log does not hold was refused: \(error)")
            }
            #expect(try restored.append([events[5]], to: "s").appendedCount == 1)
            #expect(try restored.verify().isOK)
        }
    }

    // MARK: Expected versions

    /// Appends that must be refused with exactly `error`, leaving the log untouched.
    func expectRefusal(_ log: EventLog, _ events: [ProposedEvent], to stream: StreamID, expecting: ExpectedVersion,
                       error: EventStoreError, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let headBefore = try log.head()
        let countBefore = try log.events().count
        #expect(throws: error, sourceLocation: sourceLocation) { try log.append(events, to: stream, expecting: expecting) }
        #expect(try log.head() == headBefore, "head moved", sourceLocation: sourceLocation)
        #expect(try log.events().count == countBefore, "events were written", sourceLocation: sourceLocation)
        #expect(try log.verify().isOK, sourceLocation: sourceLocation)
    }

    @Test func noStreamSucceedsOnANewStreamAndIsRefusedOnceItExists() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("s", 0)], to: "s", expecting: .noStream)
            try log.append([makeEvent("s", 1)], to: "s", expecting: .any)
            try expectRefusal(log, [makeEvent("s", 2)], to: "s", expecting: .noStream,
                              error: .wrongExpectedVersion(stream: "s", expected: .noStream, actual: 1))
        }
    }

    @Test func streamExistsIsRefusedOnAMissingStreamAndSucceedsOnAnExistingOne() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("other", 0)], to: "other")
            try expectRefusal(log, [makeEvent("s", 1)], to: "s", expecting: .streamExists,
                              error: .wrongExpectedVersion(stream: "s", expected: .streamExists, actual: nil))
            try log.append([makeEvent("s", 2)], to: "s", expecting: .noStream)
            let result = try log.append([makeEvent("s", 3)], to: "s", expecting: .streamExists)
            #expect(result.positions == [2])
            #expect(try log.events(in: "s").map(\.streamVersion) == [0, 1])
        }
    }

    @Test func anExactVersionMustMatchTheStreamsLastVersion() throws {
        try withTemporaryStore { log, _ in
            try expectRefusal(log, [makeEvent("s", 0)], to: "s", expecting: .exact(0),
                              error: .wrongExpectedVersion(stream: "s", expected: .exact(0), actual: nil))
            try log.append([makeEvent("s", 0), makeEvent("s", 1)], to: "s", expecting: .noStream)
            try expectRefusal(log, [makeEvent("s", 2)], to: "s", expecting: .exact(0),
                              error: .wrongExpectedVersion(stream: "s", expected: .exact(0), actual: 1))
            try expectRefusal(log, [makeEvent("s", 2)], to: "s", expecting: .exact(2),
                              error: .wrongExpectedVersion(stream: "s", expected: .exact(2), actual: 1))
            let result = try log.append([makeEvent("s", 2)], to: "s", expecting: .exact(1))
            #expect(result.positions == [2])
            #expect(try log.events(in: "s").last?.streamVersion == 2)
        }
    }

    @Test func anyAppendsWhateverTheStreamHolds() throws {
        try withTemporaryStore { log, _ in
            let first = try log.append([makeEvent("s", 0)], to: "s", expecting: .any)
            let second = try log.append([makeEvent("t", 1)], to: "t")
            let third = try log.append([makeEvent("s", 2)], to: "s", expecting: .any)
            #expect([first, second, third].map(\.positions) == [[0], [1], [2]])
            #expect(try log.events(in: "s").map(\.streamVersion) == [0, 1])
        }
    }

    @Test func theWrongExpectedVersionMessageNamesTheStreamAndBothVersions() {
        let error = EventStoreError.wrongExpectedVersion(stream: "participant-P-7", expected: .exact(3), actual: 5)
        #expect(error.description.contains("participant-P-7"))
        #expect(error.description.contains("expected 3"))
        #expect(error.description.contains("version 5"))
        #expect(ExpectedVersion("no-stream") == .noStream)
        #expect(ExpectedVersion("exists") == .streamExists)
        #expect(ExpectedVersion("any") == .any)
        #expect(ExpectedVersion("12") == .exact(12))
        #expect(ExpectedVersion("-1") == nil)
        #expect(ExpectedVersion("banana") == nil)
    }

    // MARK: Batches

    /// The writer remembers each stream's tail once per batch, from the stream's last event in it:
    /// the next batch's expectations and stream links must see that event, not an earlier one.
    @Test func aStreamsTailAfterABatchIsItsLastEventInIt() throws {
        try withTemporaryStore { log, path in
            try log.append(AppendBatch(events: [makeEvent("a", 0), makeEvent("b", 1), makeEvent("a", 2), makeEvent("a", 3), makeEvent("b", 4)]))
            #expect(throws: EventStoreError.wrongExpectedVersion(stream: "a", expected: .exact(1), actual: 2)) {
                try log.append(AppendBatch(events: [makeEvent("a", 5)], expectations: ["a": .exact(1)]))
            }
            let result = try log.append(AppendBatch(events: [makeEvent("b", 5), makeEvent("a", 6)],
                                                    expectations: ["a": .exact(2), "b": .exact(1)]))
            #expect(result.positions == [5, 6])
            for reader in [log, try EventLog(path: path, options: .forTests)] {
                #expect(try reader.events(in: "a").map(\.position) == [0, 2, 3, 6])
                #expect(try reader.events(in: "a").map(\.streamVersion) == [0, 1, 2, 3])
                #expect(try reader.events(in: "b").map(\.position) == [1, 4, 5])
            }
        }
    }

    @Test func aMultiStreamBatchLandsWhollyOrNotAtAll() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("a", 0)], to: "a", expecting: .noStream)
            try log.append([makeEvent("b", 1), makeEvent("b", 2)], to: "b", expecting: .noStream)
            let headBefore = try log.head()
            let failing = AppendBatch(
                events: [makeEvent("a", 3), makeEvent("c", 4), makeEvent("b", 5), makeEvent("a", 6)],
                expectations: ["a": .exact(0), "b": .exact(0), "c": .noStream])
            #expect(throws: EventStoreError.wrongExpectedVersion(stream: "b", expected: .exact(0), actual: 1)) {
                try log.append(failing)
            }
            #expect(try log.head() == headBefore)
            #expect(try log.events().count == 3)
            #expect(try log.events(in: "c").isEmpty)
            #expect(try log.events(in: "a").count == 1)

            let good = AppendBatch(
                events: [makeEvent("a", 3), makeEvent("c", 4), makeEvent("b", 5), makeEvent("a", 6)],
                expectations: ["a": .exact(0), "b": .exact(1), "c": .noStream])
            let result = try log.append(good)
            #expect(result.positions == [3, 4, 5, 6])
            #expect(result.appendedCount == 4)
            let batch = try log.events(from: 3)
            #expect(batch.map(\.stream) == ["a", "c", "b", "a"])
            #expect(batch.map(\.streamVersion) == [1, 0, 2, 2])
            #expect(batch.map(\.endsBatch) == [false, false, false, true])
            #expect(Set(batch.map(\.recordedAt)).count == 1)

            // A stream named without events is a precondition: it must hold, and nothing is written to it.
            let head = try log.head()
            #expect(throws: EventStoreError.wrongExpectedVersion(stream: "b", expected: .exact(1), actual: 2)) {
                try log.append(AppendBatch(events: [makeEvent("d", 7)], expectations: ["b": .exact(1)]))
            }
            #expect(try log.head() == head)
            let guarded = try log.append(AppendBatch(events: [makeEvent("d", 7)], expectations: ["b": .exact(2), "e": .noStream]))
            #expect(guarded.positions == [7])
            #expect(try log.events(in: "b").count == 3)
            #expect(try log.events(in: "e").isEmpty)
            #expect(try log.verify().isOK)
        }
    }

    @Test func invalidEventsAreRefusedAndNothingIsWritten() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("s", 0)], to: "s")
            let id = UUID()
            let refusals: [AppendBatch] = [
                AppendBatch(events: [makeEvent("s", 1, id: id), makeEvent("s", 2, id: id)]),
                AppendBatch(events: [makeEvent("s", 1), makeEvent("s", 2, type: "")]),
                AppendBatch(events: [makeEvent("s", 1), makeEvent("", 2)]),
                AppendBatch(events: [makeEvent(StreamID(String(repeating: "x", count: 70_000)), 1)]),
            ]
            for batch in refusals {
                let error = try #require(throws: EventStoreError.self) { try log.append(batch) }
                guard case .invalidEvent = error else { Issue.record("expected .invalidEvent, got \(error)"); continue }
            }
            #expect(try log.events().count == 1)
            #expect(try log.verify().isOK)
        }
    }

    // MARK: Idempotency

    @Test func retryingAnEventWithTheSameIDAndContentReturnsItsOriginalPosition() throws {
        try withTemporaryStore { log, path in
            let first = makeEvent("s", 1)
            try log.append([first], to: "s", expecting: .noStream)
            try log.append([makeEvent("t", 2)], to: "t")
            let head = try log.head()

            // A retry with the same expectation as the original: not a conflict, since it already landed.
            let retry = try log.append([first], to: "s", expecting: .noStream)
            #expect(retry.positions == [0])
            #expect(retry.appendedCount == 0)
            #expect(retry.head == head)
            #expect(try log.head() == head)
            #expect(try log.events().count == 2)

            // Part retry, part new: the old event keeps its position, the new one is appended.
            let fresh = makeEvent("s", 3)
            let mixed = try log.append([first, fresh], to: "s")
            #expect(mixed.positions == [0, 2])
            #expect(mixed.appendedCount == 1)

            // Another instance (another process) knows the ids from the store itself.
            let other = try EventLog(path: path, options: .forTests)
            let again = try other.append([fresh], to: "s")
            #expect(again.positions == [2])
            #expect(again.appendedCount == 0)
            #expect(try other.events().count == 3)
            #expect(try other.events(in: "s").map(\.streamVersion) == [0, 1])
        }
    }

    @Test func aBatchCarryingOneIDTwiceIsRefusedWhole() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("s", 0)], to: "s")
            let head = try log.head()
            let twice = makeEvent("s", 1)
            #expect(throws: EventStoreError.invalidEvent(reason: "event id \(twice.id.uuidString.lowercased()) appears twice in one batch")) {
                try log.append([twice, makeEvent("t", 2), twice], to: "s")
            }
            #expect(try log.head() == head)
            #expect(try log.events().count == 1)
        }
    }

    @Test func retriesAreFoundAmongManyBatchesOfCallerGivenIDs() throws {
        // Enough caller-given ids that the id filter answers "maybe" and the writer keeps its id table.
        try withTemporaryStore { log, path in
            var all: [ProposedEvent] = []
            for b in 0..<20 {
                let batch = (0..<500).map { makeEvent(StreamID("s-\($0 % 37)"), b * 500 + $0, id: UUID()) }
                try log.append(AppendBatch(events: batch))
                all += batch
            }
            let head = try log.head()
            let sample = stride(from: 3, to: all.count, by: 97).map { all[$0] }
            let again = try log.append(AppendBatch(events: sample))
            #expect(again.appendedCount == 0)
            #expect(again.positions == stride(from: 3, to: all.count, by: 97).map { LogPosition($0) })
            #expect(try log.head() == head)
            let other = try EventLog(path: path, options: .forTests)
            #expect(try other.append(AppendBatch(events: Array(all.suffix(300)))).positions == (9_700..<10_000).map { LogPosition($0) })
            // A few retries among new events, in a writer that has no map of ids yet: found by a pass over the index.
            let third = try EventLog(path: path, options: .forTests)
            let fresh = (0..<100).map { makeEvent("t", 20_000 + $0) }
            let mixed = [all[17], all[4_242]] + fresh + [all[9_999]]
            let result = try third.append(AppendBatch(events: mixed))
            #expect(result.appendedCount == 100)
            #expect(result.positions == [17, 4_242] + (10_000..<10_100).map { LogPosition($0) } + [9_999])
            var edited = all[4_242]
            edited.data["label"] = .string("edited")
            #expect(throws: EventStoreError.conflictingEventID(id: all[4_242].id, position: 4_242)) {
                try EventLog(path: path, options: .forTests).append(AppendBatch(events: [makeEvent("t", 1), edited]))
            }
        }
    }

    @Test func callerGivenIDsStayKnownThroughRefusedBatchesAndFilterRebuilds() throws {
        // The writer notes caller-given ids in its id filter as it asks about them, before the batch
        // is checked: a refused batch leaves them there (a "maybe", never a wrong "no"), and the filter
        // is rebuilt from the index only between batches (past 65,536 ids here).
        try withTemporaryStore { log, path in
            try log.append([makeEvent("r", 100)], to: "r")
            let refused = (0..<10).map { makeEvent("r", $0, id: UUID()) }
            #expect(throws: EventStoreError.self) { try log.append(refused, to: "r", expecting: .noStream) }
            #expect(try log.events().count == 1)
            let landed = try log.append(refused, to: "r")
            #expect(landed.appendedCount == 10)
            #expect(landed.positions == (1...10).map { LogPosition($0) })
            var all = refused
            for b in 0..<70 {
                let batch = (0..<1_000).map { makeEvent(StreamID("s-\($0 % 53)"), 1_000 + b * 1_000 + $0, id: UUID()) }
                #expect(try log.append(AppendBatch(events: batch)).appendedCount == 1_000)
                all += batch
            }
            let head = try log.head()
            // Every id is still known, to this writer and to a fresh one: retries append nothing.
            let picks = Array(stride(from: 0, to: all.count, by: 701)) + [all.count - 1]
            for writer in [log, try EventLog(path: path, options: .forTests)] {
                let again = try writer.append(AppendBatch(events: picks.map { all[$0] }))
                #expect(again.appendedCount == 0)
                #expect(again.positions == picks.map { LogPosition($0 + 1) })
            }
            #expect(try log.head() == head)
        }
    }

    @Test func reusingAnIDWithOtherContentIsAConflictAndNothingIsWritten() throws {
        try withTemporaryStore { log, path in
            let original = makeEvent("s", 1)
            try log.append([makeEvent("s", 0)], to: "s")
            try log.append([original], to: "s")
            let head = try log.head()
            let variants: [ProposedEvent] = [
                makeEvent("s", 2, id: original.id),                                          // other data and time
                makeEvent("s", 1, id: original.id, type: "SomethingElse"),                   // other type
                makeEvent("s", 1, id: original.id, data: JSONObject([(key: "n", value: 1), (key: "label", value: "edited")])),
            ]
            for variant in variants {
                #expect(throws: EventStoreError.conflictingEventID(id: original.id, position: 1)) { try log.append([variant], to: "s") }
            }
            var moved = original
            moved.stream = "elsewhere"
            #expect(throws: EventStoreError.conflictingEventID(id: original.id, position: 1)) {
                try log.append(AppendBatch(events: [moved]))
            }
            // A conflict anywhere in a batch refuses the whole batch.
            #expect(throws: EventStoreError.conflictingEventID(id: original.id, position: 1)) {
                try log.append([makeEvent("s", 9), variants[0]], to: "s")
            }
            #expect(throws: EventStoreError.conflictingEventID(id: original.id, position: 1)) {
                try EventLog(path: path, options: .forTests).append([variants[0]], to: "s")
            }
            #expect(try log.head() == head)
            #expect(try log.events().count == 2)
        }
    }

    // MARK: Several writers

    @Test func aSecondInstanceSeesTheFirstsAppendsAndAppendsAfterThem() throws {
        try withTemporaryStore { first, path in
            for n in 0..<5 { try first.append([makeEvent("shared", n)], to: "shared") }
            let second = try EventLog(path: path, options: .forTests)
            #expect(try second.events().count == 5)
            #expect(try second.head() == first.head())

            let r2 = try second.append([makeEvent("shared", 5), makeEvent("shared", 6)], to: "shared", expecting: .exact(4))
            #expect(r2.positions == [5, 6])
            try second.append([makeEvent("only-second", 7)], to: "only-second", expecting: .noStream)

            // The first instance's writer must catch up: positions, versions, expectations and the chain.
            #expect(try first.events().count == 8)
            #expect(throws: EventStoreError.wrongExpectedVersion(stream: "shared", expected: .exact(4), actual: 6)) {
                try first.append([makeEvent("shared", 8)], to: "shared", expecting: .exact(4))
            }
            #expect(throws: EventStoreError.wrongExpectedVersion(stream: "only-second", expected: .noStream, actual: 0)) {
                try first.append([makeEvent("only-second", 8)], to: "only-second", expecting: .noStream)
            }
            let r1 = try first.append([makeEvent("shared", 8)], to: "shared", expecting: .exact(6))
            #expect(r1.positions == [8])
            let r3 = try second.append([makeEvent("only-second", 9)], to: "only-second", expecting: .exact(0))
            #expect(r3.positions == [9])

            for reader in [first, second] {
                let events = try reader.events()
                #expect(events.map(\.position) == Array(0...9))
                #expect(try reader.events(in: "shared").map(\.streamVersion) == Array(0...7))
                #expect(try reader.events(in: "only-second").map(\.streamVersion) == [0, 1])
                for (a, b) in zip(events, events.dropFirst()) { #expect(b.previousHash == a.hash) }
                let report = try reader.verify()
                #expect(report.isOK)
                #expect(report.events == 10)
            }
        }
    }

    @Test func appendsFromManyThreadsThroughTwoInstancesAreSerialisedWithoutGaps() throws {
        try withTemporaryStore { first, path in
            let second = try EventLog(path: path, options: .forTests)
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                let log = worker % 2 == 0 ? first : second
                for n in 0..<20 {
                    do {
                        try log.append([makeEvent("shared", n)], to: "shared", expecting: .any)
                        try log.append([makeEvent(StreamID("w\(worker)"), n)], to: StreamID("w\(worker)"),
                                       expecting: n == 0 ? .noStream : .exact(Int64(n - 1)))
                    } catch {
                        failures.withLock { $0.append("worker \(worker) event \(n): \(error)") }
                    }
                }
            }
            #expect(failures.withLock { $0 } == [])
            let events = try first.events()
            #expect(events.count == 160)
            #expect(events.map(\.position) == Array(0..<160))
            #expect(Set(events.map(\.id)).count == 160)
            #expect(try first.events(in: "shared").map(\.streamVersion) == Array(0..<80))
            for worker in 0..<4 { #expect(try second.events(in: StreamID("w\(worker)")).map(\.streamVersion) == Array(0..<20)) }
            #expect(try first.verify().isOK)
        }
    }

    // MARK: Segments

    @Test func segmentsRollOverAndEverythingStillReadsBackAndVerifies() throws {
        let options = EventLog.Options(segmentSize: 4096, preallocationChunk: 8192)
        try withTemporaryStore(options: options) { log, path in
            var ids: [UUID] = []
            for n in 0..<300 {
                let stream = StreamID("stream-\(n % 7)")
                let event = makeEvent(stream, n)
                let result = try log.append([event], to: stream)
                #expect(result.positions == [LogPosition(n)])
                ids.append(event.id)
            }
            // A batch bigger than a whole segment lands whole, in a segment of its own.
            let big = (300..<340).map { makeEvent("big", $0) }
            #expect(try log.append(big, to: "big", expecting: .noStream).positions == (300..<340).map { LogPosition($0) })
            ids += big.map(\.id)

            let segmentsDirectory = path + "/segments"
            let names = try FileManager.default.contentsOfDirectory(atPath: segmentsDirectory).filter { $0.hasSuffix(".seg") }.sorted()
            #expect(names.count > 5)
            #expect(names.first == "00000001.seg")
            #expect(names == (1...names.count).map { String(format: "%08d.seg", $0) })
            for name in names.dropLast() {
                let size = try #require(try FileManager.default.attributesOfItem(atPath: segmentsDirectory + "/" + name)[.size] as? Int)
                #expect(size <= 4096, "\(name) is \(size) bytes")
            }

            for reader in [log, try EventLog(path: path, options: options)] {
                let events = try reader.events()
                #expect(events.map(\.id) == ids)
                #expect(events.map(\.position) == Array(0..<340))
                #expect(try reader.events(from: 150, through: 155).map(\.position) == Array(150...155))
                #expect(try reader.events(in: "stream-3").map(\.position) == stride(from: 3, to: 300, by: 7).map { LogPosition($0) })
                #expect(try reader.events(in: "big").count == 40)
                let report = try reader.verify()
                #expect(report.isOK)
                #expect(report.events == 340)
                #expect(report.head == (try reader.head()))
            }
            // A new writer continues in the last segment.
            let later = try EventLog(path: path, options: options)
            for n in 340..<360 { try later.append([makeEvent("stream-0", n)], to: "stream-0") }
            #expect(try log.events().count == 360)
            #expect(try log.verify().isOK)
        }
    }

    // MARK: Time

    @Test func recordedAtNeverGoesBackwardsEvenWhenTheClockDoes() throws {
        let t: Int64 = 1_800_000_000_000_000
        let clock = ScriptedClock([t + 100, t + 200, t + 50, t + 10, t + 300, t + 250, t + 400])
        var options = EventLog.Options.forTests
        options.clock = { clock.now() }
        try withTemporaryStore(options: options) { log, path in
            for n in 0..<7 { try log.append([makeEvent("s", n)], to: "s") }
            let recorded = try log.events().map { $0.recordedAt.microseconds - t }
            #expect(recorded == [100, 200, 200, 200, 300, 300, 400])

            // Another writer whose clock is far behind still records no earlier than the log's last event.
            var behind = EventLog.Options.forTests
            behind.clock = { Timestamp(microseconds: t - 3_600_000_000) }
            let other = try EventLog(path: path, options: behind)
            try other.append([makeEvent("s", 7)], to: "s")
            #expect(try other.events().last?.recordedAt.microseconds == t + 400)
            #expect(try other.verify().isOK)
        }
    }

    // MARK: Verify

    @Test func verifyAcceptsAnEarlierHeadThatIsStillThereAndRejectsAWrongOne() throws {
        try withTemporaryStore { log, _ in
            for n in 0..<5 { try log.append([makeEvent("s", n)], to: "s") }
            let oldHead = try #require(try log.head())
            #expect(oldHead.position == 4)
            for n in 5..<10 { try log.append([makeEvent("s", n)], to: "s") }

            let good = try log.verify(expecting: oldHead)
            #expect(good.isOK)
            #expect(good.events == 10)
            #expect(good.head?.position == 9)

            var wrongBytes = oldHead.hash.bytes
            wrongBytes[0] ^= 0x01
            let wrong = try log.verify(expecting: LogHead(position: 4, hash: ChainHash(bytes: wrongBytes)))
            #expect(!wrong.isOK)
            #expect(wrong.error?.position == 4)
            // The log itself is sound: the report still covers all of it.
            #expect(wrong.events == 10)
            #expect(wrong.head == good.head)

            // Another record's hash at this position is just as wrong.
            let third = try #require(try log.events(from: 3, through: 3).first)
            #expect(try log.verify(expecting: LogHead(position: 4, hash: third.hash)).error?.position == 4)

            // A head past the end of the log is not contained in it.
            let beyond = try log.verify(expecting: LogHead(position: 20, hash: oldHead.hash))
            #expect(!beyond.isOK)
            #expect(beyond.error?.position == 20)
            #expect(beyond.events == 10)
            #expect(beyond.error?.reason.contains("ends at position 9") == true)
        }
    }

    @Test func headsParseFromAndPrintAsPositionColonHash() throws {
        let hex = String(repeating: "ab", count: 32)
        let head = try #require(LogHead("12:" + hex))
        #expect(head.position == 12)
        #expect(head.hash.hex == hex)
        #expect(head.description == "12:" + hex)
        #expect(LogHead("12:" + String(hex.dropLast())) == nil)
        #expect(LogHead("-1:" + hex) == nil)
        #expect(LogHead(hex) == nil)
        #expect(ChainHash(hex: String(repeating: "0", count: 64)) == .genesis)
    }
}
