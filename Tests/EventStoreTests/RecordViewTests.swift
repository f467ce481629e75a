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
            image.bytes.replaceSubrange(image.frames[7], with: [UInt8](repeating: 0, count: image.frames[7].count))
            try image.write(to: segment)
            var positions: [Int64] = [], confirmed = 0
            try EventLog(path: path, options: .forTests).forEachRecord({ positions.append($0.position); return true },
                                                                        batchEnded: { confirmed = positions.count; return true })
            #expect(positions == Array(0..<7) && confirmed == 5)
        }
    }
}
