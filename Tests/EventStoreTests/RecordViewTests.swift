import EventStore
import Foundation
import TestSupport
import Testing

/// Records read in place (`forEachRecord`) carry what decoding them whole gives, are confirmed only
/// when their batch is complete, and a reader that stops inside a batch still gets that batch's end.
struct RecordViewTests {
    @Test func aViewReadsEveryFieldAsTheDecodedRecordHasIt() throws {
        try withTemporaryStore { log, _ in
            var event = makeEvent("s", 1, data: ["text": "naïve café", "n": 42, "ok": true, "no": false, "list": [1, "two", .null], "obj": ["k": 1.5]])
            event.correlationId = "corr-1"
            event.causationId = "cause-1"
            try log.append([event, makeEvent("s", 2), makeEvent("t", 3)], to: "s")
            var seen = 0
            try log.forEachRecord({ view in
                guard let recorded = view.recorded() else { Issue.record("no record"); return false }
                #expect(view.position == recorded.position && view.id == recorded.id && view.stream == recorded.stream
                        && view.type == recorded.type && view.actor == recorded.actor && view.occurredAt == recorded.occurredAt
                        && view.recordedAt == recorded.recordedAt && view.streamVersion == recorded.streamVersion && view.hash == recorded.hash)
                #expect(view.data.object == recorded.data)
                for (key, value) in recorded.data { #expect(view.data[key] == value, "\(key)") }
                #expect(view.data["absent"] == nil && view.data.string("absent") == nil)
                #expect(view.hasType("ThingHappened"))
                if view.position == 0 {
                    #expect(view.data.string("text") == "naïve café")
                    #expect(view.data.bool("ok") == true && view.data.bool("no") == false && view.data.bool("n") == nil)
                    #expect(view.data.string("n") == nil)
                }
                seen += 1
                return true
            }, batchEnded: { true })
            #expect(seen == 3)
        }
    }

    /// Keys written in the program (`StaticString`, what a rebuild asks) find what keys made at run time
    /// find, among the first fields (indexed) and past them (stepped over), and refuse a value of another kind.
    @Test func keysWrittenInTheProgramReadWhatRunTimeKeysRead() throws {
        try withTemporaryStore { log, _ in
            var data: JSONObject = ["ok": true, "n": 7]
            for i in 0..<12 { data["f\(i)"] = .string(i % 2 == 0 ? "value-\(i)" : "välue-\(i)") }
            try log.append([makeEvent("s", 1, data: data)], to: "s")
            var seen = 0
            try log.forEachRecord({ view in
                let fields = view.data
                for i in 0..<12 {
                    let key = "f\(i)"
                    #expect(fields.string(key) == data[key]?.stringValue, "\(key)")
                }
                let staticKeys: [StaticString] = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"]
                for (i, key) in staticKeys.enumerated() {
                    #expect(fields.string(key) == fields.string("f\(i)") && fields.string(key) != nil, "\(key)")
                }
                let ok: StaticString = "ok", n: StaticString = "n", absent: StaticString = "absent"
                #expect(fields.bool(ok) == true && fields.bool(n) == nil && fields.string(n) == nil)
                #expect(fields.string(absent) == nil && fields.bool(absent) == nil)
                seen += 1
                return true
            }, batchEnded: { true })
            #expect(seen == 1)
        }
    }

    @Test func onlyCompleteBatchesAreConfirmedAndAStopMidBatchStillSeesItsEnd() throws {
        try withTemporaryStore { log, path in
            try log.append((0..<5).map { makeEvent("s", $0) }, to: "s")
            try log.append((5..<8).map { makeEvent("s", $0) }, to: "s")
            // Stopping at position 2 (inside the first batch) still hears that the batch ended, and nothing after.
            var read: [Int64] = [], ends = 0
            try log.forEachRecord({ view in read.append(view.position); return view.position < 2 }, batchEnded: { ends += 1; return true })
            #expect(read == [0, 1, 2] && ends == 1)
            // The second batch's last record torn away: its first two are read but never confirmed.
            let segment = path + "/segments/00000001.seg"
            var image = try SegmentImage(path: segment)
            image.zero(image.frames[7])
            try image.write(to: segment)
            var positions: [Int64] = [], confirmed = 0
            try EventLog(path: path, options: .forTests).forEachRecord({ positions.append($0.position); return true },
                                                                        batchEnded: { confirmed = positions.count; return true })
            #expect(positions == Array(0..<7) && confirmed == 5)
        }
    }
}

extension RecordViewTests {
    /// A record whose CRC and hash are right but whose data is not a well-formed object (a writer's bug,
    /// or a forger who recomputed both) is refused the same way whether it is read whole or in place.
    @Test func malformedDataIsDamageOnBothPaths() throws {
        try withTemporaryStore { log, path in
            for n in 0..<3 { try log.append([makeEvent("s", n)], to: "s") }
            let segment = path + "/segments/00000001.seg"
            var image = try SegmentImage(path: segment)
            let frame = image.frames[2]
            var body = image.body(2)
            // Walk the three length-prefixed strings after the fixed fields, then the data length, to the data's tag.
            var at = 52
            for _ in 0..<3 { at += 2 + Int(body[at]) + Int(body[at + 1]) << 8 }
            at += 4
            #expect(body[at] == 7, "an object's tag")
            body[at] = 9
            let hash = body.withUnsafeBytes { SHA256.chainHash(of: UnsafeRawBufferPointer(rebasing: $0[0..<(body.count - 32)])) }
            body.replaceSubrange((body.count - 32)..., with: hash.bytes)
            let crc = CRC32C.checksum(body)
            image.bytes.replaceSubrange((frame.lowerBound + 8)..<frame.upperBound, with: body)
            image.bytes.replaceSubrange((frame.lowerBound + 4)..<(frame.lowerBound + 8), with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
            try image.write(to: segment)

            let reader = try EventLog(path: path, options: .forTests)
            func damage(_ read: () throws -> Void) -> (LogPosition, String)? {
                do { try read() } catch EventStoreError.damagedRecord(_, let position, let reason) { return (position, reason) } catch { return nil }
                return nil
            }
            let whole = damage { _ = try reader.events() }
            let inPlace = damage { try reader.forEachRecord({ _ in true }, batchEnded: { true }) }
            #expect(whole?.0 == 2 && whole?.1 == "record fields are malformed", "\(String(describing: whole))")
            #expect(inPlace?.0 == whole?.0 && inPlace?.1 == whole?.1, "\(String(describing: inPlace))")
        }
    }
}
