@testable import EventStore
import Foundation
import Synchronization
import TestSupport
import Testing

/// The order a batch reaches the disk in, which the recovery rule depends on (docs/FORMAT.md, "Batches").
struct WriteOrderTests {
    /// The segment's bytes as they stood at each sync an append made.
    final class SyncSnapshots: Sendable {
        let taken = Mutex<[[UInt8]]>([])
        func take(_ path: String) {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
            taken.withLock { $0.append(bytes) }
        }
        var all: [[UInt8]] { taken.withLock { $0 } }
    }

    @Test func aBatchsEndRecordIsWrittenOnlyOnceTheRecordsBeforeItAreSynced() throws {
        let snapshots = SyncSnapshots()
        var options = EventLog.Options.forTests
        options.beforeSync = { path in if path.hasSuffix(".seg") { snapshots.take(path) } }
        try withTemporaryStore(options: options) { log, path in
            try log.append([makeEvent("s", 0)], to: "s")
            #expect(snapshots.all.count == 1, "a one-record batch takes one sync")
            try log.append([makeEvent("s", 1), makeEvent("s", 2), makeEvent("s", 3)], to: "s")
            let image = try SegmentImage(path: path + "/segments/00000001.seg")
            try #require(image.frames.count == 4)
            let syncs = snapshots.all.dropFirst()
            try #require(syncs.count == 2, "a batch of three took \(syncs.count) sync(s), not two")
            let (first, second) = (syncs[syncs.startIndex], syncs[syncs.startIndex + 1])
            let before = image.frames[1].lowerBound..<image.frames[3].lowerBound
            #expect(Array(first[before]) == Array(image.bytes[before]), "the records before the end record are written first")
            #expect(!first[image.frames[3]].contains { $0 != 0 }, "the end record was written before the first sync")
            #expect(Array(second[image.frames[3]]) == Array(image.bytes[image.frames[3]]))
        }
    }

    /// A batch larger than the write piece goes out in many writes, and still ends with its end record
    /// alone, after the sync of everything before it.
    @Test func aBatchWrittenInManyPiecesIsWholeAndItsEndRecordStillComesLast() throws {
        let snapshots = SyncSnapshots()
        var options = EventLog.Options.forTests
        options.writePieceSize = 700
        options.beforeSync = { path in if path.hasSuffix(".seg") { snapshots.take(path) } }
        try withTemporaryStore(options: options) { log, path in
            let batch = (0..<40).map { makeEvent("s", $0) }
            let result = try log.append(batch, to: "s")
            #expect(result.positions == Array(0..<40))
            let image = try SegmentImage(path: path + "/segments/00000001.seg")
            try #require(image.frames.count == 40)
            try #require(image.frames[39].lowerBound - image.frames[0].lowerBound > 10 * 700, "the batch spans many pieces")
            let syncs = snapshots.all
            try #require(syncs.count == 2, "a batch took \(syncs.count) sync(s), not two")
            let before = image.frames[0].lowerBound..<image.frames[39].lowerBound
            #expect(Array(syncs[0][before]) == Array(image.bytes[before]), "every piece before the end record is written first")
            #expect(!syncs[0][image.frames[39]].contains { $0 != 0 }, "the end record was written before the first sync")
            #expect(try log.events().map(\.data) == batch.map(\.data))
            // Each index entry holds its record's offset, across the pieces (a reader falls back to a
            // scan on a wrong one, so ask the index itself).
            let index = try PositionIndex(path: path + "/index/positions.idx")
            #expect(try (0..<40).map { try index.entry(at: LogPosition($0))?.offset } == image.frames.map(\.lowerBound))
            #expect(try log.verify().isOK)
        }
    }
}
