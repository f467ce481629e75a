import EventStore
import Foundation
import Testing

/// A reopened writer tells new streams from old ones through the saved stream filter, and never
/// trusts a filter that is damaged, belongs to another log, or is behind the log.
struct StreamFilterTests {
    static let streams = 30

    /// Appends ten events to each of `streams` streams named `prefix-N`, from a writer that then closes.
    func fill(_ path: String, prefix: String = "s") throws {
        let log = try EventLog(path: path, options: .forTests)
        for n in 0..<(10 * Self.streams) {
            let stream = StreamID("\(prefix)-\(n % Self.streams)")
            try log.append([makeEvent(stream, n)], to: stream)
        }
    }

    /// Every stream named `prefix-N` is known to a fresh writer: `.noStream` is refused for each, the next
    /// version is the right one, and a stream never written is still new.
    func expectEveryStreamKnown(_ path: String, prefix: String = "s", versions: Int64 = 10) throws {
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

    /// `fill`, then one more writer whose lookup of a new stream builds the filter, saved when it closes.
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
                    expectations[stream] = n < 20 ? .exact(9) : .noStream
                }
                try log.append(AppendBatch(events: events, expectations: expectations))
            }
            let log = try EventLog(path: path, options: .forTests)
            #expect(try log.verify().isOK)
            #expect(try log.events(in: StreamID("s-3")).map(\.streamVersion) == Array(0..<11))
            #expect(try log.events(in: StreamID("fresh-30")).map(\.streamVersion) == [0])
        }
    }
}
