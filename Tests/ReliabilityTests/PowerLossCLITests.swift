import EventStore
import Foundation
import TestSupport
import Testing

extension Reliability {
    /// Scenario 6: power lost while an `import` was being synced. Until its sync returns, any of the
    /// batch's 512-byte sectors may be on disk or not, in any order; the end record is written only
    /// once the rest is synced (docs/FORMAT.md, "Batches"). What was never acknowledged must be
    /// cleared and the import complete when re-run; the same loss after the acknowledgement is
    /// corruption that every writer refuses.
    @Suite(.serialized)
    struct PowerLossCLITests {
        static let segment = "/segments/00000001.seg"

        /// Zeroes each sector overlapping `region` with probability `p` (only its bytes inside
        /// `region`: the rest of a shared sector was synced before); returns the pieces zeroed.
        static func loseSectors(of region: Range<Int>, p: Double, in image: inout SegmentImage, rng: inout Rng) -> [Range<Int>] {
            var lost: [Range<Int>] = []
            for sector in stride(from: region.lowerBound / 512 * 512, to: region.upperBound, by: 512) where rng.chance(p) {
                let piece = max(sector, region.lowerBound)..<min(sector + 512, region.upperBound)
                image.zero(piece)
                lost.append(piece)
            }
            return lost
        }

        @Test func sectorsOfAnUnsyncedImportLostInAnyOrderAreClearedAndTheImportCompletesWhenRerun() throws {
            let seed = Knobs.seed
            var rng = Rng(seed, stream: 700)
            try withHub { hub in
                let before = hub.path("power-before")
                try #require(try hub.run(["init"], store: before).succeeded)
                let lines = Synth.base(sessions: 12, people: 160, overdue: 6, rng: &rng)
                let earlier = try hub.write("power-earlier.jsonl", lines: Array(lines[0..<100]))
                let last = try hub.write("power-last.jsonl", lines: Array(lines[100...]))
                let first = try hub.run(["import", earlier], store: before)
                try #require(first.succeeded, "\(first)")
                let after = hub.path("power-after")
                try hub.copyStore(before, to: after)
                let second = try hub.run(["import", last], store: after)
                try #require(second.succeeded, "\(second)")
                let beforeHead = try hub.expectVerified(before, "before the last import")
                let afterIDs = try StoreReader.ids(after)

                let image = try SegmentImage(path: after + Self.segment)
                let batchStart = try SegmentImage(path: before + Self.segment).dataEnd
                let end = try #require(image.frames.last)
                try #require(end.lowerBound > batchStart + 8 * 4096, "the last import should span many pages")
                var summary: [String] = []

                // Unacknowledged: lost during the first write (the end record not yet written) or the second.
                for trial in 0..<20 {
                    var damaged = image
                    let p = 0.1 + 0.8 * rng.unit()
                    var lost: [Range<Int>]
                    if trial % 2 == 0 {
                        lost = Self.loseSectors(of: batchStart..<end.lowerBound, p: p, in: &damaged, rng: &rng)
                        damaged.zero(end)
                    } else {
                        lost = Self.loseSectors(of: end, p: p, in: &damaged, rng: &rng)
                        if lost.isEmpty {
                            let piece = end.lowerBound..<min(end.upperBound, (end.lowerBound / 512 + 1) * 512)
                            damaged.zero(piece)
                            lost = [piece]
                        }
                    }
                    let name = "seed \(seed), trial \(trial): \(trial % 2 == 0 ? "first write" : "end record"), \(lost.count) sector(s) lost (p \(String(format: "%.2f", p)))"
                    summary.append(name)
                    let store = hub.path("power-work")
                    try hub.copyStore(before, to: store)
                    try damaged.write(to: store + Self.segment)

                    let v = try hub.verify(store)
                    #expect(v.outcome.status == 0 && v.ok && v.torn, "\(name): verify should pass and note the torn tail: \(v.outcome)")
                    #expect(v.head == beforeHead, "\(name): the head should be the last acknowledged import's")
                    let rerun = try hub.run(["import", last], store: store)
                    #expect(rerun.succeeded, "\(name): re-running the import failed: \(rerun)")
                    let again = try hub.verify(store)
                    #expect(again.outcome.status == 0 && again.ok && !again.torn, "\(name): \(again.outcome)")
                    #expect(try StoreReader.ids(store) == afterIDs, "\(name): the log after the re-run differs from the import done whole")
                }

                // Acknowledged: the same loss before a whole end record is corruption, found and refused.
                for trial in 0..<4 {
                    var damaged = image
                    var lost = Self.loseSectors(of: batchStart..<end.lowerBound, p: 0.05 + 0.3 * rng.unit(), in: &damaged, rng: &rng)
                    if lost.isEmpty {
                        let sector = (batchStart / 512 + 2) * 512
                        damaged.zero(sector..<(sector + 512))
                        lost = [sector..<(sector + 512)]
                    }
                    let frame = try #require(image.frame(containing: lost[0].lowerBound))
                    let store = hub.path("power-work")
                    try hub.copyStore(after, to: store)
                    try damaged.write(to: store + Self.segment)
                    let name = "seed \(seed), acknowledged trial \(trial): \(lost.count) sector(s) lost before the whole end record"
                    summary.append(name + " → position \(image.position(frame))")
                    try CorruptionCLITests.expectFoundAndRefused(hub, store, at: image.position(frame), name)
                }
                // Acknowledged, its index entries written: the end record's last sector lost since is
                // corruption too (the index is filled in only after the sync returned).
                do {
                    var damaged = image
                    let piece = max(end.lowerBound, (end.upperBound - 1) / 512 * 512)..<end.upperBound
                    damaged.zero(piece)
                    let store = hub.path("power-work")
                    try hub.copyStore(after, to: store)
                    try damaged.write(to: store + Self.segment)
                    let name = "seed \(seed), acknowledged and indexed: the end record's last sector lost"
                    summary.append(name + " → position \(image.position(image.frames.count - 1))")
                    try CorruptionCLITests.expectFoundAndRefused(hub, store, at: image.position(image.frames.count - 1), name)
                }
                print("[reliability] power loss (seed \(seed)), sectors of the last import lost:\n  " + summary.joined(separator: "\n  "))
            }
        }
    }
}
