#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

extension Reliability {
    /// Scenario 4: damage to the segment files, found by `verify --json` at the right position through the
    /// binary, and every writing command refusing to write past it (segment bytes unchanged).
    @Suite(.serialized)
    struct CorruptionCLITests {
        /// A store of a few hundred domain events written by the binary in several imports (one segment).
        static func singleSegmentStore(_ hub: Hub, rng: inout Rng) throws -> String {
            let store = hub.path("damage-single-pristine")
            let created = try hub.run(["init"], store: store)
            try #require(created.succeeded, "\(created)")
            let lines = Synth.base(sessions: 20, people: 140, overdue: 10, rng: &rng)
            for (n, start) in stride(from: 0, to: lines.count, by: 40).enumerated() {
                let file = try hub.write("damage-\(n).jsonl", lines: Array(lines[start..<min(lines.count, start + 40)]))
                let imported = try hub.run(["import", file], store: store)
                try #require(imported.succeeded, "\(imported)")
            }
            return store
        }

        /// The same kind of events written through the library with 16 KiB segments, so that there are
        /// several (the binary always uses 64 MiB segments; it reads any size).
        static func multiSegmentStore(_ hub: Hub, rng: inout Rng) throws -> String {
            let store = hub.path("damage-multi-pristine")
            let log = try EventLog.create(at: store, options: EventLog.Options(segmentSize: 16 << 10, preallocationChunk: 16 << 10))
            for b in 0..<100 {
                var events: [ProposedEvent] = []
                for k in 0..<3 {
                    let p = String(format: "M-%04d", b * 3 + k)
                    events.append(ProposedEvent(id: UUID(uuidString: rng.uuid()) ?? UUID(), stream: StreamID("participant-\(p)"),
                                                type: "ParticipantRegistered", occurredAt: Timestamp(rfc3339: "2023-12-01T09:00:00Z") ?? Timestamp(microseconds: 0),
                                                actor: "reliability-test",
                                                data: ["participant": .string(p), "generation": "adult", "birthYear": 1970, "hub": "Synthetic hub", "region": "london"]))
                }
                try log.append(AppendBatch(events: events, expectations: Dictionary(uniqueKeysWithValues: events.map { ($0.stream, .noStream) })))
            }
            return store
        }

        static func segmentNames(_ store: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: store + "/segments").filter { $0.hasSuffix(".seg") }.sorted()
        }

        /// `verify --json` names `position`; `append`, `record`, `import` and `watch --once` are refused
        /// (exit 1, never a crash) and leave every segment byte as it was.
        static func expectFoundAndRefused(_ hub: Hub, _ store: String, at position: Int64, _ name: String,
                                          sourceLocation: SourceLocation = #_sourceLocation) throws {
            let v = try hub.verify(store, sourceLocation: sourceLocation)
            #expect(v.outcome.status == 1 && !v.ok, "\(name): verify passed a damaged store (torn tail: \(v.torn)): \(v.outcome)", sourceLocation: sourceLocation)
            #expect(v.errorPosition == position, "\(name): verify named position \(v.errorPosition.map(String.init) ?? "none"), the damage is at \(position): \(v.outcome.stdout)",
                    sourceLocation: sourceLocation)
            let before = try StoreReader.segments(store)
            let line = Synth.line("ThingHappened", "2024-03-01T10:00:00Z", id: UUID().uuidString.lowercased(), ["n": 1])
            let importFile = try hub.write("after-damage.jsonl", lines: [Synth.registered("AFTER-DAMAGE", "2024-03-01T10:00:00Z", id: UUID().uuidString.lowercased())])
            let writers: [([String], [UInt8]?)] = [
                (["append", "--stream", "after-damage"], Array((line + "\n").utf8)),
                (["record", "ParticipantRegistered", "--participant", "AFTER-DAMAGE", "--generation", "adult", "--hub", "Synthetic hub",
                  "--region", "london", "--occurred-at", "2024-03-01T10:00:00Z"], nil),
                (["import", importFile], nil),
                (["watch", "--once", "--now", Synth.T], nil),
            ]
            for (arguments, stdin) in writers {
                let refused = try hub.run(arguments, store: store, stdin: stdin)
                #expect(refused.status == 1, "\(name): `\(arguments[0])` was not refused with exit 1: \(refused)", sourceLocation: sourceLocation)
                #expect(!refused.stderr.isEmpty && (refused.stderr.contains("damaged") || refused.stderr.contains("position")),
                        "\(name): `\(arguments[0])` gave no clear error: \(refused.stderr)", sourceLocation: sourceLocation)
                #expect(!refused.stdout.contains("recorded") && !refused.stdout.hasPrefix("imported") && Int64(refused.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == nil,
                        "\(name): `\(arguments[0])` acknowledged a write: \(refused.stdout)", sourceLocation: sourceLocation)
            }
            let after = try StoreReader.segments(store)
            #expect(after.keys.sorted() == before.keys.sorted(), "\(name): the segment files changed: \(before.keys.sorted()) → \(after.keys.sorted())", sourceLocation: sourceLocation)
            for (file, bytes) in before where after[file] != bytes {
                Issue.record("\(name): a refused write changed \(file)", sourceLocation: sourceLocation)
            }
            let again = try hub.verify(store, sourceLocation: sourceLocation)
            #expect(again.errorPosition == position, "\(name): after the refused writes verify names \(again.errorPosition.map(String.init) ?? "none")", sourceLocation: sourceLocation)
        }

        @Test func damageAnywhereIsFoundAtItsPositionAndNoWriterWritesPastIt() throws {
            let seed = Knobs.seed
            var rng = Rng(seed, stream: 600)
            try withHub { hub in
                var data = Rng(seed, stream: 601)
                let single = try Self.singleSegmentStore(hub, rng: &data)
                try hub.expectVerified(single, "the pristine single-segment store")
                let segment = "/segments/00000001.seg"
                let image = try SegmentImage(path: single + segment)
                let n = image.frames.count
                try #require(n >= 300, "expected a few hundred records, found \(n)")
                for i in 0..<n { try #require(image.position(i) == Int64(i)) }
                // Damage well inside the data, with whole records after it (damage in the last record can
                // look like an interrupted final write, which the format lets the next writer remove).
                func middle() -> Int { 20 + rng.below(n - 60) }
                var summary: [String] = []

                func damaged(_ name: String, _ change: (inout SegmentImage, String) throws -> Int64) throws {
                    let store = hub.path("damage-work")
                    try hub.copyStore(single, to: store)
                    var copy = image
                    let position = try change(&copy, store + segment)
                    summary.append("\(name) → position \(position)")
                    try Self.expectFoundAndRefused(hub, store, at: position, name)
                }

                // One flipped bit, anywhere in a record (header, body, hashes).
                for _ in 0..<3 {
                    let k = middle()
                    let byte = image.frames[k].lowerBound + rng.below(image.frames[k].count)
                    let bit = rng.below(8)
                    try damaged("bit \(bit) of byte \(byte) flipped (record \(k))") { image, path in
                        image.bytes[byte] ^= UInt8(1 << bit)
                        try image.write(to: path)
                        return Int64(k)
                    }
                }
                // A zeroed 4 KiB block (page-aligned, as a lost disk block would be).
                let firstPage = (image.frames[10].lowerBound + 4095) / 4096
                let lastPage = (image.frames[n - 30].lowerBound) / 4096
                let page = firstPage + rng.below(max(1, lastPage - firstPage))
                let blockRecord = try #require(image.frame(containing: page * 4096))
                try damaged("4 KiB block at \(page * 4096) zeroed (from record \(blockRecord))") { image, path in
                    for i in (page * 4096)..<(page * 4096 + 4096) { image.bytes[i] = 0 }
                    try image.write(to: path)
                    return Int64(blockRecord)
                }
                // A reordered pair of records.
                let r = middle()
                try damaged("records \(r) and \(r + 1) swapped") { image, path in
                    let a = Array(image.bytes[image.frames[r]]), b = Array(image.bytes[image.frames[r + 1]])
                    image.bytes.replaceSubrange(image.frames[r].lowerBound..<image.frames[r + 1].upperBound, with: b + a)
                    try image.write(to: path)
                    return Int64(r)
                }
                // An edited JSON value with its CRC recomputed (but not the hash chain).
                let needle = Array("Synthetic hub".utf8)
                let edited = try #require((middle()..<n).first { k in
                    let body = Array(image.bytes[image.frames[k]])
                    return body.indices.contains { i in i + needle.count <= body.count && Array(body[i..<(i + needle.count)]) == needle }
                })
                try damaged("record \(edited): \"Synthetic hub\" → \"Synthetic hug\", CRC recomputed") { image, path in
                    let range = image.frames[edited]
                    let found = (range.lowerBound..<(range.upperBound - needle.count)).first { Array(image.bytes[$0..<($0 + needle.count)]) == needle }
                    let at = try #require(found)
                    image.bytes[at + needle.count - 1] = UInt8(ascii: "g")
                    image.recomputeCRC(edited)
                    try image.write(to: path)
                    return Int64(edited)
                }
                // Records cut out of the middle of the only segment (what deleting part of it does).
                let cut = middle()
                try damaged("records \(cut)…\(cut + 4) cut out of the only segment") { image, path in
                    image.bytes.removeSubrange(image.frames[cut].lowerBound..<image.frames[cut + 4].upperBound)
                    try image.write(to: path)
                    return Int64(cut)
                }

                // Several segments (written through the library: the binary only rolls at 64 MiB).
                let multi = try Self.multiSegmentStore(hub, rng: &data)
                try hub.expectVerified(multi, "the pristine multi-segment store")
                let names = try Self.segmentNames(multi)
                try #require(names.count >= 4, "expected several segments, found \(names)")
                let victim = 1 + rng.below(names.count - 2)   // neither the first nor the last
                let victimImage = try SegmentImage(path: multi + "/segments/" + names[victim])

                func damagedMulti(_ name: String, _ change: (String) throws -> Int64) throws {
                    let store = hub.path("damage-work")
                    try hub.copyStore(multi, to: store)
                    let position = try change(store)
                    summary.append("\(name) → position \(position)")
                    try Self.expectFoundAndRefused(hub, store, at: position, name)
                }
                // A segment truncated in the middle of a record.
                let t = 1 + rng.below(victimImage.frames.count - 1)
                try damagedMulti("segment \(names[victim]) truncated inside its record \(t)") { store in
                    let cutAt = victimImage.frames[t].lowerBound + victimImage.frames[t].count / 2
                    #expect(truncate(store + "/segments/" + names[victim], off_t(cutAt)) == 0)
                    return victimImage.position(t)
                }
                // A deleted segment.
                try damagedMulti("segment \(names[victim]) of \(names.count) deleted") { store in
                    #expect(unlink(store + "/segments/" + names[victim]) == 0)
                    return victimImage.firstPosition
                }
                print("[reliability] corruption (seed \(seed)), each found by verify --json and refused by append, record, import and watch:\n  " + summary.joined(separator: "\n  "))
            }
        }
    }
}
