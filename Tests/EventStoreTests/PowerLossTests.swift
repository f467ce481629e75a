import EventStore
import Foundation
import TestSupport
import Testing

/// A power loss before a batch's sync returns can leave any of the batch's sectors on disk, in any
/// order, the rest reading as zeros (docs/FORMAT.md, "Recovery rule"). Such a batch was never
/// acknowledged: the next writer must clear it. A batch that was acknowledged must never be.
extension CorruptionTests {
    static let batchStart = 10, batchSize = 20

    /// Ten single-event batches, then one batch of twenty events of about a kilobyte each (five
    /// pages); the index cut back to the first ten, as the writer updates it only after the sync.
    /// - Parameter bigEnd: the batch's end record is about 9 KB.
    func withLastBatchOnDisk(bigEnd: Bool = false, _ body: (String, String, SegmentImage) throws -> Void) throws {
        try withTemporaryStore { log, path in
            for n in 0..<Self.batchStart { try log.append([makeEvent("s", n)], to: "s") }
            let batch = (Self.batchStart..<(Self.batchStart + Self.batchSize)).map { n in
                let size = bigEnd && n == Self.batchStart + Self.batchSize - 1 ? 9_000 : 1_000
                return makeEvent("s", n, data: JSONObject([(key: "n", value: .int(Int64(n))),
                                                          (key: "payload", value: .string(String(repeating: "p", count: size)))]))
            }
            try log.append(batch, to: "s")
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == Self.batchStart + Self.batchSize)
            try forgetIndexEntries(from: Self.batchStart, path: path)
            try body(path, segment, image)
        }
    }

    /// An event of stream "s" whose data is one string of `payload` bytes, so that its record's size is chosen.
    func sized(_ n: Int, payload: Int) -> ProposedEvent {
        makeEvent("s", n, data: JSONObject([(key: "payload", value: .string(String(repeating: "q", count: payload)))]))
    }

    /// Appends `sized(0, payload: 100)`; returns what every `sized` frame holds besides its payload,
    /// and where the data ends, for tests that place a record against a sector boundary.
    func appendSizingProbe(to log: EventLog, segment: String) throws -> (fixedPart: Int, dataEnd: Int) {
        try log.append([sized(0, payload: 100)], to: "s")
        let image = try SegmentImage(path: segment)
        return (image.frames[0].count - 100, image.dataEnd)
    }

    /// The 4 KiB page holding `offset`.
    func page(containing offset: Int) -> Range<Int> { (offset / 4096 * 4096)..<(offset / 4096 * 4096 + 4096) }

    /// Damage in the last batch: reported at `frame`; the head is the batch before; no torn tail.
    func expectDamageInsideTheLastBatch(at frame: Int, path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let report = try EventLog(path: path, options: .forTests).verify()
        #expect(!report.isOK, "verify passed a damaged log", sourceLocation: sourceLocation)
        #expect(report.error?.position == LogPosition(frame), "\(String(describing: report.error))", sourceLocation: sourceLocation)
        #expect(!report.tornTail, sourceLocation: sourceLocation)
        #expect(report.head?.position == LogPosition(Self.batchStart - 1), sourceLocation: sourceLocation)
    }

    @Test func aBatchWithAnEarlierPageUnwrittenAndLaterPagesWrittenIsATornWriteTheNextAppendRemoves() throws {
        try withLastBatchOnDisk { path, segment, image in
            var damaged = image
            let hole = page(containing: image.frames[15].lowerBound)
            try #require(hole.lowerBound > image.frames[Self.batchStart].lowerBound && hole.upperBound < image.frames[27].lowerBound)
            damaged.zero(hole)
            // The end record is written only after the rest of the batch is on disk: not yet.
            damaged.zero(image.frames[Self.batchStart + Self.batchSize - 1])
            try damaged.write(to: segment)
            try expectTornTailRecovered(path: path, intactEvents: Self.batchStart)
            let after = try SegmentImage(path: segment)
            #expect(Array(after.bytes[0..<image.frames[Self.batchStart].lowerBound]) == Array(image.bytes[0..<image.frames[Self.batchStart].lowerBound]))
        }
    }

    @Test func anEndRecordWithOneSectorUnwrittenIsATornWrite() throws {
        try withLastBatchOnDisk(bigEnd: true) { path, segment, image in
            let end = image.frames[Self.batchStart + Self.batchSize - 1]
            let sector = ((end.lowerBound / 512) + 8) * 512
            try #require(sector + 512 < end.upperBound - 512)
            var damaged = image
            damaged.zero(sector..<(sector + 512))
            try damaged.write(to: segment)
            try expectTornTailRecovered(path: path, intactEvents: Self.batchStart)
        }
    }

    @Test func anEndRecordWhoseFirstSectorIsUnwrittenIsATornWrite() throws {
        try withLastBatchOnDisk(bigEnd: true) { path, segment, image in
            let end = image.frames[Self.batchStart + Self.batchSize - 1]
            var damaged = image
            // Its header and the sector it starts in; the sectors after were written.
            damaged.zero(end.lowerBound..<((end.lowerBound / 512 + 1) * 512))
            try damaged.write(to: segment)
            try expectTornTailRecovered(path: path, intactEvents: Self.batchStart)
        }
    }

    @Test func anEndRecordWhoseHeaderStraddlesAnUnwrittenSectorIsATornWrite() throws {
        // The end record starts 4 bytes before a sector boundary. Its batch's first record was
        // synced with zeros after it in that sector; the rewrite of the sector with the end record's
        // first 4 bytes was lost, the sectors after it written.
        try withTemporaryStore { log, path in
            let segment = path + "/segments/00000001.seg"
            let (fixedPart, dataEnd) = try appendSizingProbe(to: log, segment: segment)
            let padding = ((508 - (dataEnd + fixedPart)) % 512 + 512) % 512 + 512
            try log.append([sized(1, payload: padding), sized(2, payload: 9_000)], to: "s")
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == 3 && image.frames[2].lowerBound % 512 == 508)
            var damaged = image
            damaged.zero(image.frames[2].lowerBound..<(image.frames[2].lowerBound + 4))
            try damaged.write(to: segment)
            try forgetIndexEntries(from: 1, path: path)
            try expectTornTailRecovered(path: path, intactEvents: 1)
        }
    }

    @Test func aRecordWhoseLastFewBytesLieInAnUnwrittenSectorIsATornWrite() throws {
        // The batch's first record ends 4 bytes into a sector that was not written (the next record's
        // start with it); later sectors were, and the end record was not yet.
        try withTemporaryStore { log, path in
            let segment = path + "/segments/00000001.seg"
            let (fixedPart, dataEnd) = try appendSizingProbe(to: log, segment: segment)
            let padding = ((4 - (dataEnd + fixedPart)) % 512 + 512) % 512 + 512
            try log.append([sized(1, payload: padding), sized(2, payload: 2_000), sized(3, payload: 100)], to: "s")
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == 4 && image.frames[1].upperBound % 512 == 4)
            var damaged = image
            let sector = image.frames[1].upperBound - 4
            damaged.zero(sector..<(sector + 512))
            damaged.zero(image.frames[3])
            try damaged.write(to: segment)
            try forgetIndexEntries(from: 1, path: path)
            try expectTornTailRecovered(path: path, intactEvents: 1)
        }
    }

    @Test func aFrameWhoseFieldsStateMoreThanTheLargestRecordWithDataBeyondIsDamage() throws {
        try withTemporaryStore { log, path in
            for n in 0..<10 { try log.append([makeEvent("s", n)], to: "s") }
            let segment = path + "/segments/00000001.seg"
            var image = try SegmentImage(path: segment)
            let at = image.dataEnd
            // An impossible frame length, and fields (no optional strings, three empty ones) whose data
            // length says 17 MiB; those bytes written, and one beyond them.
            var frame: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 50) + [0, 1, 0, 0, 0, 0, 0, 0]
            withUnsafeBytes(of: UInt32(17 << 20).littleEndian) { frame += $0 }
            let beyond = at + 80 + (17 << 20) + 512
            if image.bytes.count < beyond + 1 { image.bytes += [UInt8](repeating: 0, count: beyond + 1 - image.bytes.count) }
            image.bytes.replaceSubrange(at..<(at + frame.count), with: frame)
            image.bytes.replaceSubrange((at + frame.count)...beyond, with: [UInt8](repeating: 0x41, count: beyond + 1 - at - frame.count))
            try image.write(to: segment)
            let report = try EventLog(path: path, options: .forTests).verify()
            #expect(!report.isOK && report.error?.position == 10 && !report.tornTail, "\(report)")
        }
    }

    @Test func aZeroedPageInsideABatchWhoseEndRecordIsWholeIsCorruption() throws {
        try withLastBatchOnDisk { path, segment, image in
            var damaged = image
            let hole = page(containing: image.frames[15].lowerBound)
            damaged.zero(hole)
            try damaged.write(to: segment)
            let first = try #require(image.frame(containing: hole.lowerBound))
            try expectDamageInsideTheLastBatch(at: first, path: path)
            try expectAppendRefused(at: LogPosition(first), path: path, segment: segment)
        }
    }

    @Test func aWholeEndRecordWhoseLengthStartsWithAZeroByteStillMakesDamageBeforeItCorruption() throws {
        // The end record's body length is a multiple of 256: its frame's first byte is zero.
        try withTemporaryStore { log, path in
            let segment = path + "/segments/00000001.seg"
            let fixedBody = try appendSizingProbe(to: log, segment: segment).fixedPart - 8
            try log.append([sized(1, payload: 3_000), sized(2, payload: 1_024 - fixedBody)], to: "s")
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == 3 && (image.frames[2].count - 8) % 256 == 0 && image.bytes[image.frames[2].lowerBound] == 0)
            var damaged = image
            let sector = (image.frames[1].lowerBound / 512 + 2) * 512
            damaged.zero(sector..<(sector + 512))
            try damaged.write(to: segment)
            try forgetIndexEntries(from: 1, path: path)
            let report = try EventLog(path: path, options: .forTests).verify()
            #expect(!report.isOK && report.error?.position == 1 && !report.tornTail, "\(report)")
            try expectAppendRefused(at: 1, path: path, segment: segment)
        }
    }

    @Test func aZeroedSectorInARecordBeforeAWholeEndRecordIsCorruption() throws {
        // What the write order buys: the records before the end record were on disk before it was
        // written, so a whole end record after the damage means the batch was acknowledged.
        try withLastBatchOnDisk { path, segment, image in
            var damaged = image
            let inner = image.frames[Self.batchStart + Self.batchSize - 2]
            let sector = (inner.lowerBound / 512 + 1) * 512
            try #require(sector + 512 <= inner.upperBound)
            damaged.zero(sector..<(sector + 512))
            try damaged.write(to: segment)
            try expectDamageInsideTheLastBatch(at: Self.batchStart + Self.batchSize - 2, path: path)
            try expectAppendRefused(at: LogPosition(Self.batchStart + Self.batchSize - 2), path: path, segment: segment)
        }
    }

    @Test func flippingAnySingleByteOfTheLastRecordIsDamageNeverATornWrite() throws {
        // Nothing follows the last record to show it was whole: only its own shape can.
        try withDamageableStore { path, segment, image in
            let last = CorruptionTests.eventCount - 1
            let misjudged = try misjudgedFlips(ofRecord: last, path: path, segment: segment, image: image)
            #expect(misjudged.isEmpty, "\(misjudged.count) of \(image.frames[last].count) single-byte flips in the last record were misjudged:\n\(misjudged.joined(separator: "\n"))")
        }
    }

    @Test func aByteWrittenAtASectorsStartFarIntoThePreallocatedSpaceIsClearedAsAnUnfinishedWrite() throws {
        // The counterpart of the stray byte away from a sector's start (damage): at a sector's start
        // it is what a page of an unfinished batch written back ahead of the rest looks like.
        try withTemporaryStore(options: EventLog.Options(preallocationChunk: 4 << 20)) { log, path in
            for n in 0..<10 { try log.append([makeEvent("alpha", n)], to: "alpha") }
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
            try handle.seek(toOffset: UInt64((image.dataEnd / 512 + 1) * 512 + (1 << 20)))
            try handle.write(contentsOf: [0x5A])
            try handle.close()
            try expectTornTailRecovered(path: path, intactEvents: 10)
        }
    }
}
