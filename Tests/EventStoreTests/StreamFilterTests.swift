import EventStore
import Foundation
import Testing

/// A reopened writer tells new streams from old ones through the saved stream filter, and never
/// trusts a filter that is damaged, belongs to another log, or is behind the log.
struct StreamFilterTests {
    static let streams = 30
    /// Enough events per stream that one `fill` takes a writer past `StreamFilter.saveAfter` (1,000):
    /// a writer that appended fewer leaves the saved filter as it was, for the next to top up.
    static let perStream = 40

    /// Appends `perStream` events to each of `streams` streams named `prefix-N` (a batch of one event
    /// per stream at a time), from a writer that then closes.
    func fill(_ path: String, prefix: String = "s") throws {
        let log = try EventLog(path: path, options: .forTests)
        for round in 0..<Self.perStream {
            let events = (0..<Self.streams).map { makeEvent(StreamID("\(prefix)-\($0)"), round * Self.streams + $0) }
            try log.append(AppendBatch(events: events))
        }
    }

    /// Every stream named `prefix-N` is known to a fresh writer: `.noStream` is refused for each, the next
    /// version is the right one, and a stream never written is still new.
    func expectEveryStreamKnown(_ path: String, prefix: String = "s", versions: Int64 = Int64(perStream)) throws {
        let log = try EventLog(path: path, options: .forTests)
        for n in 0..<Self.streams {
            let stream = StreamID("\(prefix)-\(n)")
            #expect(throws: EventStoreError.self, "\(stream) exists") { try log.append([makeEvent(stream, 5000 + n)], to: stream, expecting: .noStream) }
        }
        let stream = StreamID("\(prefix)-7")
        try log.append([makeEvent(stream, 6000)], to: stream, expecting: .exact(versions - 1))
        try log.append([makeEvent(StreamID("new-\(prefix)"), 6001)], to: StreamID("new-\(prefix)"), expecting: .noStream)
        #expect(try log.verify().isOK)
    }

    func filterPath(_ path: String) -> String { path + "/index/streams" }

    /// `fill`, then one more writer whose lookup of a new stream builds the filter from the index
    /// (the `fill` writer never needed one), saved when it closes: it covers more than `saveAfter` events.
    func fillAndLeaveAFilter(_ path: String, prefix: String = "s") throws {
        try fill(path, prefix: prefix)
        let log = try EventLog(path: path, options: .forTests)
        let stream = StreamID("other-\(prefix)")
        try log.append([makeEvent(stream, 1)], to: stream, expecting: .noStream)
    }

    @Test func aClosingWriterLeavesAFilterThatTheNextOneUses() throws {
        try withTemporaryStore { _, path in
            // The first lookup a writer cannot answer from what it appended builds the filter.
            try fillAndLeaveAFilter(path)
            #expect(FileManager.default.fileExists(atPath: filterPath(path)))
            try expectEveryStreamKnown(path)
        }
    }

    @Test func aWriterThatAppendedAFewEventsLeavesTheSavedFilterForTheNextToTopUp() throws {
        try withTemporaryStore { _, path in
            try fillAndLeaveAFilter(path)
            let saved = try Data(contentsOf: URL(fileURLWithPath: filterPath(path)))
            do {
                // A reader's one recorded view: a new stream, looked up in the filter, then the writer closes.
                let log = try EventLog(path: path, options: .forTests)
                try log.append([makeEvent("fresh", 1)], to: "fresh", expecting: .noStream)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: filterPath(path))) == saved, "the filter was rewritten for one event")
            // The next writer tops the saved filter up from the index, so the new stream is known.
            let log = try EventLog(path: path, options: .forTests)
            #expect(throws: EventStoreError.self) { try log.append([makeEvent("fresh", 2)], to: "fresh", expecting: .noStream) }
            try log.append([makeEvent("fresh", 3)], to: "fresh", expecting: .exact(0))
            try expectEveryStreamKnown(path)
        }
    }

    @Test func aDamagedFilterIsRebuiltFromTheIndex() throws {
        try withTemporaryStore { _, path in
            try fillAndLeaveAFilter(path)
            // Clear every bit of the filter (a stale or damaged file): without its CRC it must not be believed.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: filterPath(path))))
            for i in 64..<(bytes.count - 4) { bytes[i] = 0 }
            try Data(bytes).write(to: URL(fileURLWithPath: filterPath(path)))
            try expectEveryStreamKnown(path)
        }
    }

    @Test func aFilterFromAnotherLogIsNotTrusted() throws {
        try withTemporaryStore { _, path in
            try withTemporaryStore { _, otherPath in
                // The other log's filter is sound and covers as many events, but knows none of these streams.
                try fill(path)
                try fillAndLeaveAFilter(otherPath, prefix: "elsewhere")
                try? FileManager.default.removeItem(atPath: filterPath(path))
                try FileManager.default.copyItem(atPath: filterPath(otherPath), toPath: filterPath(path))
                try expectEveryStreamKnown(path)
            }
        }
    }

    @Test func aFilterBehindTheLogIsToppedUpFromTheIndex() throws {
        try withTemporaryStore { _, path in
            try fillAndLeaveAFilter(path)
            let early = try Data(contentsOf: URL(fileURLWithPath: filterPath(path)))
            // More streams, then the older filter put back: it covers only the first part of the log.
            try fill(path, prefix: "later")
            try early.write(to: URL(fileURLWithPath: filterPath(path)))
            try expectEveryStreamKnown(path, prefix: "later")
            try expectEveryStreamKnown(path, prefix: "s")
        }
    }

    @Test func manyNewStreamsInOneBatchAreAppendedWithTheRightVersions() throws {
        try withTemporaryStore { _, path in
            try fill(path)
            // 40 streams in one batch, half of them old: the filter settles the new ones, the index the rest.
            do {
                let log = try EventLog(path: path, options: .forTests)
                var events: [ProposedEvent] = []
                var expectations: [StreamID: ExpectedVersion] = [:]
                for n in 0..<40 {
                    let stream = StreamID(n < 20 ? "s-\(n)" : "fresh-\(n)")
                    events.append(makeEvent(stream, 7000 + n))
                    expectations[stream] = n < 20 ? .exact(Int64(Self.perStream) - 1) : .noStream
                }
                try log.append(AppendBatch(events: events, expectations: expectations))
            }
            let log = try EventLog(path: path, options: .forTests)
            #expect(try log.verify().isOK)
            #expect(try log.events(in: StreamID("s-3")).map(\.streamVersion) == Array(0...Int64(Self.perStream)))
            #expect(try log.events(in: StreamID("fresh-30")).map(\.streamVersion) == [0])
        }
    }
}

/// Caller-given ids (imports, retries) are checked against an id filter before the full id map is
/// loaded: new ids pass, a retry is still recognised, a changed event under an old id still refused,
/// also when the index has lost entries.
struct IDFilterTests {
    func check(_ path: String, _ events: [ProposedEvent]) throws {
        let log = try EventLog(path: path, options: .forTests)
        // New ids: appended.
        let fresh = (100..<110).map { makeEvent("s", $0, id: UUID()) }
        #expect(try log.append(fresh, to: "s").appendedCount == 10)
        // A retry of an old event: nothing new, its old position.
        let retry = try log.append([events[3]], to: "s")
        #expect(retry.appendedCount == 0 && retry.positions == [3])
        // The same id with other content: refused.
        var changed = events[5]
        changed.data = ["n": 999]
        #expect(throws: EventStoreError.self) { try log.append([changed], to: "s") }
        #expect(try log.verify().isOK)
        #expect(try log.events().count == events.count + 10)
    }

    @Test func newIdsPassAndRetriesAreStillRecognised() throws {
        try withTemporaryStore { log, path in
            let events = (0..<50).map { makeEvent("s", $0, id: UUID()) }
            try log.append(events, to: "s")
            try check(path, events)
        }
    }

    @Test func aRetryIsRecognisedWhenTheIndexLostEntriesAndWasRebuilt() throws {
        try withTemporaryStore { log, path in
            let events = (0..<50).map { makeEvent("s", $0, id: UUID()) }
            for e in events { try log.append([e], to: "s") }
            // Entries 2…9 zeroed (a crash before the index reached the disk), the last one intact.
            let indexPath = path + "/index/positions.idx"
            var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
            for i in (2 * 40)..<(10 * 40) { index[i] = 0 }
            try Data(index).write(to: URL(fileURLWithPath: indexPath))
            try check(path, events)
        }
    }
}
