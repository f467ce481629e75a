import EventStore
import Foundation
import TestSupport
import Testing

struct CorruptionTests {
    static let eventCount = 50

    /// A store of 50 events, each appended as its own batch, then its first segment's image.
    func withDamageableStore(bigRecords: Set<Int> = [], _ body: (String, String, SegmentImage) throws -> Void) throws {
        try withTemporaryStore { log, path in
            for n in 0..<CorruptionTests.eventCount {
                let stream = StreamID(["alpha", "beta", "gamma"][n % 3])
                let payload = bigRecords.contains(n) ? String(repeating: "B", count: 9_000) : "payload-\(n)-" + String(repeating: "x", count: 40)
                let data = JSONObject([(key: "n", value: .int(Int64(n))), (key: "payload", value: .string(payload)),
                                       (key: "flag", value: .bool(n % 2 == 0))])
                try log.append([makeEvent(stream, n, data: data)], to: stream)
            }
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == CorruptionTests.eventCount)
            try body(path, segment, image)
        }
    }

    /// Verifies through a fresh instance (as a new process would) and checks the first error is at `position`.
    @discardableResult
    func expectDamage(at position: LogPosition, path: String, reasonContains: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> VerificationReport {
        let report = try EventLog(path: path, options: .forTests).verify()
        #expect(!report.isOK, "verify passed a damaged log (tornTail: \(report.tornTail), events: \(report.events))",
                sourceLocation: sourceLocation)
        #expect(report.error?.position == position, "\(String(describing: report.error))", sourceLocation: sourceLocation)
        #expect(report.events == Int(position), sourceLocation: sourceLocation)
        #expect(report.head?.position == position - 1, sourceLocation: sourceLocation)
        if let reasonContains {
            #expect(report.error?.reason.contains(reasonContains) == true, "\(String(describing: report.error))",
                    sourceLocation: sourceLocation)
        }
        return report
    }

    /// An append through a fresh instance must be refused as damage at `position` and must not touch the segment.
    func expectAppendRefused(at position: LogPosition, path: String, segment: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: segment))
        let log = try EventLog(path: path, options: .forTests)
        do {
            let result = try log.append([makeEvent("alpha", 999)], to: "alpha")
            Issue.record("append succeeded at \(result.positions) (recovery: \(result.recovery ?? "none")) over damage at \(position)",
                         sourceLocation: sourceLocation)
        } catch EventStoreError.damagedRecord(_, let at, _) {
            #expect(at == position, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected .damagedRecord, got \(error)", sourceLocation: sourceLocation)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment)) == before, "the refused append changed the segment",
                sourceLocation: sourceLocation)
    }

    // MARK: The format as the tests understand it

    @Test func eachRecordIsAFrameWhoseBodyCarriesItsPositionChecksumAndChainHashes() throws {
        try withDamageableStore { path, _, image in
            let events = try EventLog(path: path, options: .forTests).events()
            #expect(Array(image.bytes[0..<8]) == Array("HUBLEDG1".utf8))
            #expect(SegmentImage.u64(image.bytes, 8) == 0)
            #expect(image.frames.first?.lowerBound == 16)
            for i in 0..<CorruptionTests.eventCount {
                let body = image.body(i)
                #expect(image.position(i) == Int64(i))
                #expect(CRC32C.checksum(body) == image.storedCRC(i))
                #expect(Array(body.suffix(32)) == events[i].hash.bytes)
                #expect(Array(body.suffix(64).prefix(32)) == events[i].previousHash.bytes)
                #expect(SHA256.hash(Array(body.dropLast(32))) == events[i].hash.bytes)
            }
            // Only zeros (preallocated space) after the data.
            #expect(image.bytes[image.dataEnd...].allSatisfy { $0 == 0 })
        }
    }

    // MARK: Damage in the middle of the log

    @Test func aFlippedByteInTheBodyOfRecord20IsReportedAtPosition20() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            // A byte inside record 20's payload string.
            let body = image.body(20)
            let payloadAt = try #require(body.firstRange(of: Array("payload-20-".utf8))).lowerBound
            damaged.bytes[image.frames[20].lowerBound + 8 + payloadAt + 14] ^= 0xFF
            try damaged.write(to: segment)
            let report = try expectDamage(at: 20, path: path, reasonContains: "checksum")
            #expect(!report.tornTail)
            let error = try #require(throws: EventStoreError.self) { try EventLog(path: path, options: .forTests).events() }
            guard case .damagedRecord(_, 20, _) = error else { Issue.record("readers report \(error)"); return }
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    /// Flips each byte of record `record` in turn (XOR 0xFF) and verifies; the flips not reported as
    /// damage at that position, or reported as a torn tail.
    func misjudgedFlips(ofRecord record: Int, path: String, segment: String, image: SegmentImage) throws -> [String] {
        let frame = image.frames[record]
        var misjudged: [String] = []
        for offset in frame {
            var damaged = image
            damaged.bytes[offset] ^= 0xFF
            try damaged.write(to: segment)
            let report = try EventLog(path: path, options: .forTests).verify()
            if report.isOK || report.error?.position != LogPosition(record) || report.tornTail {
                let field = offset - frame.lowerBound < 8 ? "frame header" : "body byte \(offset - frame.lowerBound - 8)"
                misjudged.append("\(field): ok=\(report.isOK) tornTail=\(report.tornTail) events=\(report.events) error=\(String(describing: report.error))")
            }
        }
        return misjudged
    }

    @Test func flippingAnySingleByteOfAMiddleRecordIsDamageThereNeverATornTail() throws {
        try withDamageableStore { path, segment, image in
            let misjudged = try misjudgedFlips(ofRecord: 20, path: path, segment: segment, image: image)
            #expect(misjudged.isEmpty, "\(misjudged.count) of \(image.frames[20].count) single-byte flips in record 20 were misjudged:\n\(misjudged.joined(separator: "\n"))")
        }
    }

    @Test func aDamagedLengthFieldInAMiddleRecordDoesNotLetAnAppendEraseTheRecordsAfterIt() throws {
        // Record 20's stream-name length (body bytes 52...53, u16 LE): flip its high byte.
        // The records after it are intact and were acknowledged; nothing may remove them.
        try withDamageableStore { path, segment, image in
            var damaged = image
            damaged.bytes[image.frames[20].lowerBound + 8 + 53] ^= 0xFF
            try damaged.write(to: segment)
            try expectDamage(at: 20, path: path)
            try expectAppendRefused(at: 20, path: path, segment: segment)
            let after = try SegmentImage(path: segment)
            let laterRecords = image.frames[21].lowerBound..<image.dataEnd
            let intact = after.bytes.count >= image.dataEnd && after.bytes[laterRecords] == image.bytes[laterRecords]
            #expect(intact, "records 21...49 (acknowledged, undamaged) were overwritten")
            #expect(try EventLog(path: path, options: .forTests).events(from: 0, through: 19).count == 20)
        }
    }

    @Test func aDeletedRecord20IsReportedAtPosition20() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            damaged.bytes.removeSubrange(image.frames[20])
            try damaged.write(to: segment)
            try expectDamage(at: 20, path: path, reasonContains: "found position 21")
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    @Test func swappedRecords20And21AreReportedAtPosition20() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            let swapped = Array(image.bytes[image.frames[21]]) + Array(image.bytes[image.frames[20]])
            damaged.bytes.replaceSubrange(image.frames[20].lowerBound..<image.frames[21].upperBound, with: swapped)
            try damaged.write(to: segment)
            try expectDamage(at: 20, path: path, reasonContains: "found position 21")
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    @Test func aZeroedRecord20WithLaterRecordsIntactIsReportedAtPosition20() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            damaged.zero(image.frames[20])
            try damaged.write(to: segment)
            let report = try expectDamage(at: 20, path: path)
            #expect(!report.tornTail)
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    @Test func record20CutShortAndFollowedByTheLaterRecordsIsReportedAtPosition20() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            let frame = image.frames[20]
            let cut = frame.lowerBound + frame.count / 2
            damaged.bytes.removeSubrange(cut..<frame.upperBound)
            try damaged.write(to: segment)
            let report = try expectDamage(at: 20, path: path)
            #expect(!report.tornTail)
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    @Test func anEditedValueWithARecomputedChecksumIsAHashMismatchAtItsPosition() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            let body = image.body(20)
            let at = try #require(body.firstRange(of: Array("payload-20-".utf8))).lowerBound
            // "payload-20-" becomes "payload-21-": still valid UTF-8 and a well-formed record.
            damaged.bytes[image.frames[20].lowerBound + 8 + at + 9] = UInt8(ascii: "1")
            damaged.recomputeCRC(20)
            #expect(CRC32C.checksum(damaged.body(20)) == damaged.storedCRC(20))
            try damaged.write(to: segment)
            let report = try expectDamage(at: 20, path: path, reasonContains: "hash")
            #expect(!report.tornTail)
            try expectAppendRefused(at: 20, path: path, segment: segment)
        }
    }

    @Test func anEditWithARecomputedHashBreaksTheNextRecordsLink() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            let at = try #require(image.body(20).firstRange(of: Array("payload-20-".utf8))).lowerBound
            damaged.bytes[image.frames[20].lowerBound + 8 + at + 9] = UInt8(ascii: "1")
            damaged.recomputeHash(20)
            damaged.recomputeCRC(20)
            try damaged.write(to: segment)
            try expectDamage(at: 21, path: path, reasonContains: "previous-hash link")
        }
    }

    @Test func rewritingTheLastRecordConsistentlyIsCaughtByAnEarlierHead() throws {
        try withDamageableStore { path, segment, image in
            let head = try #require(try EventLog(path: path, options: .forTests).head())
            var damaged = image
            let last = CorruptionTests.eventCount - 1
            let at = try #require(image.body(last).firstRange(of: Array("payload-49-".utf8))).lowerBound
            damaged.bytes[image.frames[last].lowerBound + 8 + at + 9] = UInt8(ascii: "8")
            damaged.recomputeHash(last)
            damaged.recomputeCRC(last)
            try damaged.write(to: segment)
            let log = try EventLog(path: path, options: .forTests)
            #expect(try log.verify().isOK)           // self-consistent: only an outside head can tell
            let report = try log.verify(expecting: head)
            #expect(!report.isOK)
            #expect(report.error?.position == LogPosition(last))
        }
    }

    /// A record rewritten consistently (checksum and hash recomputed, the last, so no link breaks)
    /// with its stream's version moved on by one is a gap in that stream; moved back, a repeat.
    @Test(arguments: [1, -1])
    func aConsistentlyRewrittenVersionIsAGapOrRepeatInItsStream(shift: Int) throws {
        try withDamageableStore { path, segment, image in
            let last = CorruptionTests.eventCount - 1
            let at = image.frames[last].lowerBound + 8 + 8   // the body's second field: the stream version
            let version = Int64(bitPattern: SegmentImage.u64(image.bytes, at))
            var damaged = image
            withUnsafeBytes(of: (version + Int64(shift)).littleEndian) { damaged.bytes.replaceSubrange(at..<(at + 8), with: $0) }
            damaged.recomputeHash(last)
            damaged.recomputeCRC(last)
            try damaged.write(to: segment)
            try expectDamage(at: LogPosition(last), path: path, reasonContains: "(gap or repeat)")
        }
    }

    /// Damage inside a batch: `events` and `head` are the whole batches before it (what a reader can read),
    /// counted alike — they said 2 events with no head when the damage cut the first batch short.
    @Test func damageInsideABatchReportsTheWholeBatchesBeforeIt() throws {
        try withTemporaryStore { log, path in
            let stream = StreamID("alpha")
            try log.append((0..<2).map { makeEvent(stream, $0) }, to: stream)
            try log.append((2..<6).map { makeEvent(stream, $0) }, to: stream)
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == 6)
            var damaged = image
            damaged.bytes[image.frames[4].upperBound - 40] ^= 0xFF
            try damaged.write(to: segment)
            let report = try EventLog(path: path, options: .forTests).verify()
            #expect(report.error?.position == 4, "\(report)")
            #expect(report.events == 2 && report.head?.position == 1, "\(report)")
            #expect(report.head?.hash.hex == image.body(1).suffix(32).map { String(format: "%02x", $0) }.joined())

            var first = image
            first.bytes[image.frames[1].upperBound - 40] ^= 0xFF
            try first.write(to: segment)
            let atStart = try EventLog(path: path, options: .forTests).verify()
            #expect(atStart.error?.position == 1 && atStart.events == 0 && atStart.head == nil, "\(atStart)")
        }
    }

    @Test func aDamagedSegmentHeaderIsReportedAtPositionZero() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            damaged.bytes[3] ^= 0xFF
            try damaged.write(to: segment)
            let report = try EventLog(path: path, options: .forTests).verify()
            #expect(!report.isOK)
            #expect(report.error?.position == 0)
        }
    }

    // MARK: The last record

    @Test func aFlippedByteInTheLastWholeRecordIsDamageNotATornWrite() throws {
        try withDamageableStore { path, segment, image in
            var damaged = image
            let last = CorruptionTests.eventCount - 1
            let at = try #require(image.body(last).firstRange(of: Array("payload-49-".utf8))).lowerBound
            damaged.bytes[image.frames[last].lowerBound + 8 + at + 20] ^= 0xFF
            try damaged.write(to: segment)
            let report = try expectDamage(at: LogPosition(last), path: path, reasonContains: "checksum")
            #expect(!report.tornTail)
            try expectAppendRefused(at: LogPosition(last), path: path, segment: segment)
        }
    }

    /// Verify and writers find the end of the data by checking every byte after it is zero, reading
    /// only the ranges the file system says hold data (the preallocated rest is unwritten). A byte
    /// written far out in that space makes a data range of its own, and must still be found.
    @Test func aByteWrittenFarIntoThePreallocatedSpaceIsDamageThatVerifyAndWritersFind() throws {
        try withTemporaryStore(options: EventLog.Options(preallocationChunk: 4 << 20)) { log, path in
            for n in 0..<10 { try log.append([makeEvent("alpha", n)], to: "alpha") }
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            #expect(image.bytes.count >= image.dataEnd + (3 << 20), "the segment was not preallocated")
            #expect(try EventLog(path: path, options: .forTests).verify().isOK)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
            // Not at a sector's start, so not a page written back (the counterpart is in PowerLossTests).
            try handle.seek(toOffset: UInt64((image.dataEnd / 512 + 1) * 512 + (3 << 20) + 123))
            try handle.write(contentsOf: [0x5A])
            try handle.synchronize()
            // Out of the page cache, so the file system reports the ranges exactly: cached pages of
            // unwritten space (read earlier, or read ahead) count as data, and would hide the gap.
            #expect(posix_fadvise(handle.fileDescriptor, 0, 0, Int32(POSIX_FADV_DONTNEED)) == 0)
            try handle.close()
            let report = try expectDamage(at: 10, path: path, reasonContains: "zeroed bytes followed by data")
            #expect(!report.tornTail)
            try expectAppendRefused(at: 10, path: path, segment: segment)
        }
    }

    // MARK: Torn final writes

    /// Cuts the index back to `position` entries, as a crash before the writer filled it in leaves it
    /// (the index is written only after a batch's sync returned).
    func forgetIndexEntries(from position: Int, path: String) throws {
        let indexPath = path + "/index/positions.idx"
        let index = try #require(FileManager.default.contents(atPath: indexPath))
        try index.prefix(position * 40).write(to: URL(fileURLWithPath: indexPath))
    }

    /// After a torn tail: verify passes and notes it, the next append removes it and says so, and all is well after.
    func expectTornTailRecovered(path: String, intactEvents: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try EventLog(path: path, options: .forTests).verify()
        #expect(before.isOK, "\(String(describing: before.error))", sourceLocation: sourceLocation)
        #expect(before.tornTail, sourceLocation: sourceLocation)
        #expect(before.events == intactEvents, sourceLocation: sourceLocation)
        #expect(try EventLog(path: path, options: .forTests).events().count == intactEvents, sourceLocation: sourceLocation)

        let log = try EventLog(path: path, options: .forTests)
        let event = makeEvent("after-recovery", 1000)
        let result = try log.append([event], to: "after-recovery", expecting: .noStream)
        #expect(result.positions == [LogPosition(intactEvents)], sourceLocation: sourceLocation)
        #expect(result.recovery != nil, "the append did not report its recovery", sourceLocation: sourceLocation)
        // Only the first append after the tear reports it.
        #expect(try log.append([makeEvent("after-recovery", 1001)], to: "after-recovery").recovery == nil, sourceLocation: sourceLocation)

        let after = try EventLog(path: path, options: .forTests).verify()
        #expect(after.isOK, "\(String(describing: after.error))", sourceLocation: sourceLocation)
        #expect(!after.tornTail, sourceLocation: sourceLocation)
        #expect(after.events == intactEvents + 2, sourceLocation: sourceLocation)
        let events = try EventLog(path: path, options: .forTests).events()
        #expect(events.map(\.position) == (0..<LogPosition(intactEvents + 2)).map { $0 }, sourceLocation: sourceLocation)
        #expect(events[intactEvents].id == event.id, sourceLocation: sourceLocation)
    }

    @Test func aFileCutOffHalfwayThroughTheLastRecordIsATornTailThatTheNextAppendRemoves() throws {
        try withDamageableStore { path, segment, image in
            let last = image.frames[CorruptionTests.eventCount - 1]
            // No preallocated zeros: the file simply ends inside the record.
            try Data(image.bytes[0..<(last.lowerBound + last.count / 2)]).write(to: URL(fileURLWithPath: segment))
            try forgetIndexEntries(from: CorruptionTests.eventCount - 1, path: path)
            try expectTornTailRecovered(path: path, intactEvents: CorruptionTests.eventCount - 1)
        }
    }

    @Test func theFirst100BytesOfAFrameAfterTheDataAreATornTailThatTheNextAppendRemoves() throws {
        // Record 5 is large (about 9 KB), so its first 100 bytes stop well before its natural end,
        // past the end of the page they were written to.
        try withDamageableStore(bigRecords: [5]) { path, segment, image in
            var damaged = image
            let source = image.frames[5]
            #expect(source.count > 9_000)
            let torn = Array(image.bytes[source.lowerBound..<(source.lowerBound + 100)])
            damaged.bytes.replaceSubrange(image.dataEnd..<(image.dataEnd + 100), with: torn)
            try damaged.write(to: segment)
            try expectTornTailRecovered(path: path, intactEvents: CorruptionTests.eventCount)
            // The torn bytes are gone: the recovered file holds exactly the old data, then the two new records.
            let after = try SegmentImage(path: segment)
            #expect(Array(after.bytes[0..<image.dataEnd]) == Array(image.bytes[0..<image.dataEnd]))
            #expect(after.frames.count == CorruptionTests.eventCount + 2)
        }
    }

    @Test func aBigLastRecordWrittenOnlyUpToAPageBoundaryIsATornTail() throws {
        try withDamageableStore(bigRecords: [CorruptionTests.eventCount - 1]) { path, segment, image in
            var damaged = image
            let last = image.frames[CorruptionTests.eventCount - 1]
            let pageEnd = (last.lowerBound / 4096 + 1) * 4096
            #expect(pageEnd < last.upperBound)
            damaged.zero(pageEnd..<last.upperBound)
            try damaged.write(to: segment)
            try forgetIndexEntries(from: CorruptionTests.eventCount - 1, path: path)
            try expectTornTailRecovered(path: path, intactEvents: CorruptionTests.eventCount - 1)
        }
    }

    @Test func aLastRecordCutShortAfterItsIndexEntryWasWrittenIsDamageNotATornWrite() throws {
        // The writer fills in the index only after the batch's sync returned: an entry for the record is
        // proof it was acknowledged, so the same damage as a torn write is corruption here.
        try withDamageableStore(bigRecords: [CorruptionTests.eventCount - 1]) { path, segment, image in
            var damaged = image
            let last = image.frames[CorruptionTests.eventCount - 1]
            let pageEnd = (last.lowerBound / 4096 + 1) * 4096
            damaged.zero(pageEnd..<last.upperBound)
            try damaged.write(to: segment)
            let report = try expectDamage(at: LogPosition(CorruptionTests.eventCount - 1), path: path)
            #expect(!report.tornTail)
            try expectAppendRefused(at: LogPosition(CorruptionTests.eventCount - 1), path: path, segment: segment)
        }
    }

    @Test func anUnfinishedMultiRecordBatchIsInvisibleToReadersAndRemovedByTheNextAppend() throws {
        try withTemporaryStore { log, path in
            for n in 0..<10 { try log.append([makeEvent("s", n)], to: "s") }
            let batch = [makeEvent("s", 10), makeEvent("s", 11), makeEvent("s", 12)]
            try log.append(batch, to: "s")
            let segment = path + "/segments/00000001.seg"
            let image = try SegmentImage(path: segment)
            try #require(image.frames.count == 13)
            // The crash left the batch's first two records whole and nothing of the third; the writer
            // never got as far as updating the index.
            var damaged = image
            damaged.zero(image.frames[12])
            try damaged.write(to: segment)
            try forgetIndexEntries(from: 10, path: path)

            let reader = try EventLog(path: path, options: .forTests)
            #expect(try reader.events().map(\.position) == Array(0..<10))
            #expect(try reader.head()?.position == 9)
            #expect(try reader.events(in: "s").count == 10)
            let report = try reader.verify()
            #expect(report.isOK)
            #expect(report.tornTail)
            #expect(report.events == 10)

            // The client never saw the batch acknowledged, so it retries it, unchanged.
            let result = try EventLog(path: path, options: .forTests).append(batch, to: "s", expecting: .exact(9))
            #expect(result.positions == [10, 11, 12])
            #expect(result.appendedCount == 3)
            #expect(result.recovery?.contains("2 record(s)") == true, "\(result.recovery ?? "no recovery reported")")
            let after = try EventLog(path: path, options: .forTests)
            #expect(try after.verify().isOK)
            #expect(try after.events(in: "s").map(\.streamVersion) == Array(0...12))
            #expect(try after.events(from: 10).map(\.id) == batch.map(\.id))
        }
    }
}
