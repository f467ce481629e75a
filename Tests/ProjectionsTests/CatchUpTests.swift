import EventStore
import Foundation
import HubDomain
import Projections
import Testing

/// A model held in memory and caught up before each question gives what a fold from scratch gives.
@Test func aHeldModelCaughtUpEqualsAFreshFold() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-03-01T10:00:00Z"), hbHeld("S-1", "2025-03-03T10:00:00Z")])
        var held = try h.runner.run(AuditProjection.self)
        try h.record(at: "2025-03-03T11:00:00Z", [hbAttended("P-1", "S-1", "2025-03-03T10:30:00Z", id: hbID(3))])
        held = try h.runner.catchUp(held)
        try h.record(at: "2025-03-04T09:00:00Z", [hbRetracted(hbID(3), "2025-03-04T09:00:00Z")])
        held = try h.runner.catchUp(held)
        let fresh = try h.runner.run(AuditProjection.self, useCheckpoint: false)
        #expect(held.head == fresh.head)
        var a = StateWriter(), b = StateWriter()
        held.model.encode(to: &a)
        fresh.model.encode(to: &b)
        #expect(a.bytes == b.bytes)
        let attendances = try held.figures(h.runner).first { $0.name == "attendances" }
        #expect(attendances?.value == 0, "the retracted attendance no longer counts")
        // Nothing new: the same model and head come back.
        let again = try h.runner.catchUp(held)
        #expect(again.head == held.head)
    }
}

@Test func aHeldModelWhoseHeadIsNoLongerInTheLogIsFoldedAgain() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-03-01T10:00:00Z")])
        var held = try h.runner.run(ChronologyProjection.self)
        // A head the log never had (as after a restore from an older backup).
        held.head = LogHead(position: 0, hash: try #require(ChainHash(hex: String(repeating: "ab", count: 32))))
        let refolded = try h.runner.catchUp(held)
        #expect(refolded.head == (try h.log.head()))
        #expect(refolded.model.knows("P-1"))
    }
}

/// A state of several megabytes is written in chunks and saved part by part; it reads back whole.
@Test func aLargeStateIsWrittenInChunksAndSavedAndLoadedWhole() throws {
    try withHandLog { h in
        var writer = StateWriter()
        for n in 0..<300_000 { writer.string("participant-\(n)"); writer.int(n) }
        #expect(writer.chunks.count >= 3)
        let joined = writer.bytes
        #expect(joined.count == writer.parts.reduce(0) { $0 + $1.count })
        let head = LogHead(position: 7, hash: try #require(ChainHash(hex: String(repeating: "cd", count: 32))))
        try h.log.saveCheckpoint(head: head, parts: writer.parts, named: "chunked")
        let loaded = try #require(h.log.loadCheckpoint(named: "chunked"))
        #expect(loaded.head == head)
        #expect(loaded.state == joined)
        var reader = StateReader(loaded.state)
        #expect(try reader.string() == "participant-0")
        #expect(try reader.int() == 0)
    }
}

/// Streamed straight to its file, the same state gives the same checkpoint; a save that fails part
/// way leaves the checkpoint there before it, and no stray file.
@Test func aStateStreamedToItsCheckpointReadsBackTheSameAndAFailedSaveChangesNothing() throws {
    try withHandLog { h in
        func encode(_ writer: inout StateWriter) { for n in 0..<300_000 { writer.string("participant-\(n)"); writer.int(n) } }
        var whole = StateWriter()
        encode(&whole)
        var parts = 0
        let head = LogHead(position: 7, hash: try #require(ChainHash(hex: String(repeating: "cd", count: 32))))
        try h.log.saveCheckpoint(head: head, named: "streamed") { write in
            try withoutActuallyEscaping(write) { write in
                var writer = StateWriter(spillingTo: { parts += 1; try write($0) })
                encode(&writer)
                try writer.finish()
            }
        }
        #expect(parts >= 3, "written a chunk at a time")
        let loaded = try #require(h.log.loadCheckpoint(named: "streamed"))
        #expect(loaded.head == head)
        #expect(loaded.state == whole.bytes)

        struct DiskFull: Error {}
        let later = LogHead(position: 9, hash: head.hash)
        #expect(throws: DiskFull.self) {
            try h.log.saveCheckpoint(head: later, named: "streamed") { write in
                try withoutActuallyEscaping(write) { write in
                    var count = 0
                    var writer = StateWriter(spillingTo: { count += 1; if count == 2 { throw DiskFull() }; try write($0) })
                    encode(&writer)
                    try writer.finish()
                }
            }
        }
        #expect(h.log.loadCheckpoint(named: "streamed") == loaded)
        let files = try FileManager.default.contentsOfDirectory(atPath: h.log.path + "/checkpoints")
        #expect(!files.contains { $0.contains(".tmp.") }, "\(files)")
    }
}

/// The daemon's way: every projection held between cycles, caught up, checkpoints written only every
/// thousand events or when it stops — and always the same state as a fold from scratch.
@Test func heldModelsCaughtUpEqualAFreshFoldAndTheirCheckpointsAreWrittenWhenDue() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-03-01T10:00:00Z"), hbHeld("S-1", "2025-03-03T10:00:00Z")])
        let runner = ProjectionRunner(log: h.log, minimumEventsToSave: 1_000)
        var held = try ProjectionRunner(log: h.log).hold(ProjectionRunner.all)
        let savedAt = h.log.loadCheckpoint(named: AuditProjection.name)?.head
        try h.record(at: "2025-03-03T11:00:00Z", [hbAttended("P-1", "S-1", "2025-03-03T10:30:00Z", id: hbID(3)),
                                                  hbReferred("R-1", "P-1", "2025-03-02T09:00:00Z")])
        held = try runner.catchUp(held)
        try h.record(at: "2025-03-04T09:00:00Z", [hbRetracted(hbID(3), "2025-03-04T09:00:00Z")])
        held = try runner.catchUp(held)
        #expect(held.head == (try h.log.head()))
        #expect(h.log.loadCheckpoint(named: AuditProjection.name)?.head == savedAt, "three events are not worth rewriting a checkpoint")
        let fresh = try ProjectionRunner(log: h.log).runAll(ProjectionRunner.all, useCheckpoint: false)
        for (kept, scratch) in zip(held.models, fresh.models) {
            var a = StateWriter(), b = StateWriter()
            kept.encode(to: &a)
            scratch.encode(to: &b)
            #expect(a.bytes == b.bytes, "\(type(of: kept).name)")
        }
        try runner.saveUnsaved(held)
        #expect(h.log.loadCheckpoint(named: AuditProjection.name)?.head == (try h.log.head()), "stopping writes what is due")
    }
}
