#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// A writer opening after a clean close walks only from the last writer's head, and only while
/// every segment is exactly as that writer left it.
struct WalkMarkerTests {
    /// A store of 40 events appended by a writer that has since closed, and the path of its segment.
    func closedStore(_ path: String) throws -> String {
        do {
            let log = try EventLog(path: path, options: .forTests)
            for n in 0..<40 { try log.append([makeEvent(StreamID("s"), n)], to: StreamID("s")) }
        }
        #expect(FileManager.default.fileExists(atPath: path + "/index/walked"), "a closing writer leaves its marker")
        return path + "/segments/00000001.seg"
    }

    /// Flips one byte inside record 10's data, keeping the file's size; optionally puts its old mtime back.
    func damageRecord10(_ segment: String, keepingStamp: Bool) throws {
        var st = stat()
        try #require(stat(segment, &st) == 0)
        var image = try SegmentImage(path: segment)
        image.bytes[image.frames[10].lowerBound + 60] ^= 0x01
        try image.write(to: segment)
        if keepingStamp {
            var times = [st.st_atim, st.st_mtim]
            try #require(utimensat(AT_FDCWD, segment, &times, 0) == 0)
        }
    }

    @Test func damageBeforeTheMarkerIsFoundWhenTheSegmentsStampChanged() throws {
        try withTemporaryStore { _, path in
            let segment = try closedStore(path)
            try damageRecord10(segment, keepingStamp: false)
            let log = try EventLog(path: path, options: .forTests)
            #expect(throws: EventStoreError.self) { try log.append([makeEvent(StreamID("s"), 99)], to: StreamID("s")) }
            #expect(try log.verify().error?.position == 10)
        }
    }

    /// A writer that opens and closes with the log as the marker has it (a retried append, found
    /// already there) leaves the marker file alone: rewriting it would sync the index and rename
    /// for nothing, twice over (at open and at close).
    @Test func aWriterThatFindsTheMarkerCurrentDoesNotRewriteIt() throws {
        try withTemporaryStore { _, path in
            let first = makeEvent(StreamID("s"), 0, id: UUID())
            do {
                let log = try EventLog(path: path, options: .forTests)
                try log.append([first], to: StreamID("s"))
                for n in 1..<20 { try log.append([makeEvent(StreamID("s"), n)], to: StreamID("s")) }
            }
            // A second name for the marker's file: while `walked` is that same file, it has two links.
            // (Comparing inode numbers would not do: a file renamed over it may reuse the freed number.)
            let marker = path + "/index/walked", held = path + "/index/walked.held"
            try #require(link(marker, held) == 0)
            func markerIsTheHeldFile() throws -> Bool {
                var st = stat()
                try #require(stat(held, &st) == 0)
                return st.st_nlink == 2
            }
            do {
                let log = try EventLog(path: path, options: .forTests)
                #expect(try log.append([first], to: StreamID("s")).appendedCount == 0)
            }
            #expect(try markerIsTheHeldFile(), "the marker was rewritten though nothing changed")
            do {
                let log = try EventLog(path: path, options: .forTests)
                try log.append([makeEvent(StreamID("s"), 20)], to: StreamID("s"))
            }
            #expect(try !markerIsTheHeldFile(), "an append left the old marker")
        }
    }

    @Test func anUnchangedStoreIsWalkedOnlyFromTheMarker() throws {
        try withTemporaryStore { _, path in
            let segment = try closedStore(path)
            // The same damage with the stamp put back cannot be told from an untouched file by the
            // opening walk, which starts at the marker: the append lands. `verify` still finds it.
            try damageRecord10(segment, keepingStamp: true)
            let log = try EventLog(path: path, options: .forTests)
            try log.append([makeEvent(StreamID("s"), 99)], to: StreamID("s"))
            #expect(try log.verify().error?.position == 10)
        }
    }

    @Test func aMarkerThatNoLongerMatchesItsRecordIsIgnored() throws {
        try withTemporaryStore { _, path in
            let segment = try closedStore(path)
            try damageRecord10(segment, keepingStamp: true)
            // A marker whose head hash is not the record's: the whole log is walked and the damage refused.
            var marker = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/index/walked")))
            marker[9] ^= 0xFF
            try Data(marker).write(to: URL(fileURLWithPath: path + "/index/walked"))
            let log = try EventLog(path: path, options: .forTests)
            #expect(throws: EventStoreError.self) { try log.append([makeEvent(StreamID("s"), 99)], to: StreamID("s")) }
        }
    }
}

extension WalkMarkerTests {
    /// The marker vouches that the index entries it counts were synced, but only while it holds: once
    /// a segment changed (another writer appended, then crashed before its index reached the disk),
    /// zeroed entries anywhere are found and the index is rebuilt, so stream versions stay right.
    @Test func lostIndexEntriesAreFoundWhenTheMarkerNoLongerHolds() throws {
        try withTemporaryStore { _, path in
            do {
                let log = try EventLog(path: path, options: .forTests)
                for n in 0..<20 { try log.append([makeEvent(StreamID(n % 2 == 0 ? "x" : "y"), n)], to: StreamID(n % 2 == 0 ? "x" : "y")) }
            }
            let indexPath = path + "/index/positions.idx"
            var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexPath)))
            try #require(index.count == 20 * 40)
            for i in (10 * 40)..<(19 * 40) { index[i] = 0 }  // the last entry stays: it alone checks out
            try Data(index).write(to: URL(fileURLWithPath: indexPath))
            // The segment's stamp moves on, as another writer's append would move it.
            var times = [timespec(tv_sec: 2_000_000_000, tv_nsec: 0), timespec(tv_sec: 2_000_000_000, tv_nsec: 0)]
            try #require(utimensat(AT_FDCWD, path + "/segments/00000001.seg", &times, 0) == 0)
            let log = try EventLog(path: path, options: .forTests)
            try log.append([makeEvent(StreamID("x"), 100)], to: StreamID("x"), expecting: .exact(9))
            #expect(throws: EventStoreError.self) { try log.append([makeEvent(StreamID("y"), 101)], to: StreamID("y"), expecting: .noStream) }
            #expect(try log.verify().isOK)
            #expect(try log.events(in: StreamID("x")).map(\.streamVersion) == Array(0...10))
        }
    }
}

/// A writer opening a big log looks up only the streams it appends to; the answers must be the
/// same as with every stream loaded.
struct LazyStreamTailTests {
    @Test func aReopenedWriterFindsEachStreamsLastVersionAndLinksWhetherLookedUpOneByOneOrAllAtOnce() throws {
        try withTemporaryStore { _, path in
            do {
                let log = try EventLog(path: path, options: .forTests)
                for n in 0..<200 { try log.append([makeEvent(StreamID("s-\(n % 20)"), n)], to: StreamID("s-\(n % 20)")) }
            }
            // One stream at a time: found by reading the index backwards.
            do {
                let log = try EventLog(path: path, options: .forTests)
                let result = try log.append([makeEvent(StreamID("s-3"), 900)], to: StreamID("s-3"), expecting: .exact(9))
                #expect(result.positions == [200])
                #expect(throws: EventStoreError.self) { try log.append([makeEvent(StreamID("s-4"), 901)], to: StreamID("s-4"), expecting: .exact(3)) }
                try log.append([makeEvent(StreamID("new"), 902)], to: StreamID("new"), expecting: .noStream)
            }
            // Many streams in one batch: every tail read in one pass, then versions still right.
            do {
                let log = try EventLog(path: path, options: .forTests)
                var expectations: [StreamID: ExpectedVersion] = [:]
                var events: [ProposedEvent] = []
                for n in 0..<20 where n != 3 {
                    expectations[StreamID("s-\(n)")] = .exact(9)
                    events.append(makeEvent(StreamID("s-\(n)"), 1000 + n))
                }
                try log.append(AppendBatch(events: events, expectations: expectations))
                try log.append([makeEvent(StreamID("s-3"), 2000)], to: StreamID("s-3"), expecting: .exact(10))
            }
            let log = try EventLog(path: path, options: .forTests)
            #expect(try log.verify().isOK)
            for n in 0..<20 {
                let stream = try log.events(in: StreamID("s-\(n)"))
                #expect(stream.map(\.streamVersion) == Array(0..<Int64(n == 3 ? 12 : 11)), "stream s-\(n)")
            }
        }
    }
}
