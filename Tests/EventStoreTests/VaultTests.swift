import EventStore
import Foundation
import Testing

/// Sealed fields: values out of line in the vault, digests in the chain, erasure that keeps `verify` green.
struct VaultTests {
    let stream = StreamID("referral-R-1")

    func referral(_ n: Int, id: UUID = UUID(), reason: String = "Low mood (synthetic)") -> ProposedEvent {
        ProposedEvent(id: id, stream: stream, type: "ReferralReceived", occurredAt: Timestamp(microseconds: 1_700_000_000_000_000 + Int64(n)),
                      actor: "test", data: ["referral": .string("R-\(n)"), "reason": .string(reason), "urgent": false],
                      sealedFields: ["reason"])
    }

    func vaultPath(_ store: String) -> String { store + "/vault/values" }

    func vaultBytes(_ store: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: vaultPath(store)))) }

    @Test func aSealedFieldIsStoredAsASaltedDigestAndReadBackFromTheVault() throws {
        try withTemporaryStore { log, path in
            try log.append([referral(1, reason: "Isolation after a move (synthetic)")], to: stream)
            let event = try #require(try log.events().first)
            #expect(event.hasSealedValues)
            let digest = try #require(event.data["reason"]?.sealedDigest)
            #expect(digest.count == 64)
            // The digest is salted: not the plain SHA-256 of the text, which could be found by guessing.
            #expect(digest != SHA256.hash(Array("Isolation after a move (synthetic)".utf8)).hexString)
            #expect(event.data["urgent"] == false)
            // The text is not in the segment files at all.
            let segment = try Data(contentsOf: URL(fileURLWithPath: path + "/segments/00000001.seg"))
            #expect(segment.range(of: Data("Isolation after a move".utf8)) == nil)
            #expect(try log.sealedValues(of: [event]).value(of: "reason", in: event) == .text("Isolation after a move (synthetic)"))
            #expect(try log.sealedValues(of: [event]).value(of: "urgent", in: event) == nil)
            let report = try log.verify()
            #expect(report.isOK && report.vault.values == 1 && report.vault.erased == 0)
        }
    }

    @Test func erasingKeepsTheChainAndEveryHashAndMarksTheValueErased() throws {
        try withTemporaryStore { log, path in
            try log.append([referral(1), referral(2, reason: "Keep me (synthetic)")], to: stream)
            let before = try log.verify()
            let events = try log.events()
            #expect(try log.eraseSealedValues(of: [events[0].id]) == 1)
            #expect(try log.eraseSealedValues(of: [events[0].id]) == 0, "a second erasure finds nothing left")
            let values = try log.sealedValues(of: events)
            #expect(values.value(of: "reason", in: events[0]) == .erased)
            #expect(values.value(of: "reason", in: events[1]) == .text("Keep me (synthetic)"))
            let after = try log.verify()
            #expect(after.isOK)
            #expect(after.head == before.head)
            #expect(after.vault == VaultReport(values: 1, erased: 1))
            #expect(try vaultBytes(path).count > 0)
            #expect(Data(try vaultBytes(path)).range(of: Data("Low mood".utf8)) == nil, "the erased text is gone from the file")
        }
    }

    @Test func anAlteredOrDeletedVaultValueFailsVerify() throws {
        try withTemporaryStore { log, path in
            try log.append([referral(1, reason: "Original text (synthetic)")], to: stream)
            // Rewrite the value as if someone edited the file, with a valid frame around it.
            var bytes = try vaultBytes(path)
            let text = Array("Original".utf8)
            let at = try #require(bytes.indices.first { bytes[$0..<min($0 + text.count, bytes.count)].elementsEqual(text) })
            bytes.replaceSubrange(at..<(at + text.count), with: Array("Modified".utf8))
            // Fix the CRC so only the digest check can notice.
            let body = Array(bytes[16...])
            let crc = body.withUnsafeBytes { CRC32C.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[12 + i] = $0[i] } }
            try Data(bytes).write(to: URL(fileURLWithPath: vaultPath(path)))
            let altered = try log.verify()
            #expect(!altered.isOK)
            #expect(altered.vault.problem?.contains("position 0") == true)
            let event = try #require(try log.events().first)
            #expect(try log.sealedValues(of: [event]).value(of: "reason", in: event) == .missing)

            try Data().write(to: URL(fileURLWithPath: vaultPath(path)))
            #expect(try log.verify().vault.problem?.contains("no value in the vault") == true)
        }
    }

    @Test func aTornVaultTailIsRemovedByTheNextAppendButDamageInTheMiddleIsRefused() throws {
        try withTemporaryStore { log, path in
            try log.append([referral(1)], to: stream)
            let whole = try vaultBytes(path)
            // An interrupted append: half a record after the last whole one.
            try Data(whole + whole.prefix(20)).write(to: URL(fileURLWithPath: vaultPath(path)))
            let reopened = try EventLog(path: path, options: .forTests)
            #expect(try reopened.verify().isOK, "readers ignore an interrupted write")
            try reopened.append([referral(2)], to: stream)
            #expect(try reopened.verify().vault == VaultReport(values: 2, erased: 0))

            // A broken record followed by whole ones is damage: nothing that needs the vault is written.
            var damaged = try vaultBytes(path)
            damaged[20] ^= 0xFF
            try Data(damaged).write(to: URL(fileURLWithPath: vaultPath(path)))
            let again = try EventLog(path: path, options: .forTests)
            #expect(try again.verify().vault.problem?.contains("followed by whole records") == true)
            #expect(throws: EventStoreError.self) { try again.append([referral(3)], to: stream) }
            #expect(try again.events().count == 2)
            try again.append([makeEvent(StreamID("other"), 4)], to: StreamID("other"))  // events without sealed fields still land
        }
    }

    @Test func aRetryWithTheSameSealedTextIsARetryAndDifferentTextIsAConflict() throws {
        try withTemporaryStore { log, _ in
            let id = UUID()
            try log.append([referral(1, id: id, reason: "Same (synthetic)")], to: stream)
            let retry = try log.append([referral(1, id: id, reason: "Same (synthetic)")], to: stream)
            #expect(retry.appendedCount == 0 && retry.positions == [0])
            #expect(throws: EventStoreError.self) { try log.append([referral(1, id: id, reason: "Other (synthetic)")], to: stream) }
            // Once erased, the same id with any text counts as the retry: erased text never comes back.
            try log.eraseSealedValues(of: [id])
            #expect(try log.append([referral(1, id: id, reason: "Same (synthetic)")], to: stream).appendedCount == 0)
            #expect(try log.verify().vault == VaultReport(values: 0, erased: 1))
        }
    }

    @Test func aFieldSealedElsewhereKeepsItsDigestAndIsErasedHere() throws {
        try withTemporaryStore { log, _ in
            let digest = SHA256.hash(Array("salt and a text this store never sees".utf8)).hexString
            var sealedElsewhere = referral(1)
            let given = try #require(JSONValue.sealed(hex: digest.uppercased()))
            sealedElsewhere.data["reason"] = given
            try log.append([sealedElsewhere, referral(2, reason: "Held here (synthetic)")], to: stream)
            let events = try log.events()
            #expect(events[0].data["reason"]?.sealedDigest == digest, "the digest as given, in lower case")
            let values = try log.sealedValues(of: events)
            #expect(values.value(of: "reason", in: events[0]) == .erased)
            #expect(values.value(of: "reason", in: events[1]) == .text("Held here (synthetic)"))
            #expect(try log.verify().vault == VaultReport(values: 1, erased: 1))
            // Anything else in the field's place is refused, and nothing is written.
            #expect(JSONValue.sealed(hex: "abc") == nil && JSONValue.sealed(hex: String(repeating: "g", count: 64)) == nil)
            var malformed = referral(3)
            malformed.data["reason"] = ["sha256": "abc"]
            #expect(throws: EventStoreError.self) { try log.append([malformed], to: stream) }
            #expect(try log.events().count == 2)
        }
    }

    @Test func erasureDropsValuesLeftByAppendsThatNeverReachedTheLog() throws {
        try withTemporaryStore { log, path in
            try log.append([referral(1)], to: stream)
            // A value written for an event whose append failed afterwards (e.g. the disk filled up).
            let orphanLog = try vaultBytes(path)
            try log.append([referral(2, reason: "Orphan text (synthetic)")], to: stream)
            let withBoth = try vaultBytes(path)
            let secondEventRecord = Array(withBoth[orphanLog.count...])
            try log.append([makeEvent(StreamID("x"), 1)], to: StreamID("x"))
            let events = try log.events()
            // Simulate: the second record belongs to an id the log never acknowledged.
            var rewritten = orphanLog
            var orphan = secondEventRecord
            orphan[17] ^= 0x55  // first byte of the uuid inside the body
            let crc = Array(orphan[16...]).withUnsafeBytes { CRC32C.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { orphan[12 + i] = $0[i] } }
            rewritten += secondEventRecord + orphan
            try Data(rewritten).write(to: URL(fileURLWithPath: vaultPath(path)))
            let reopened = try EventLog(path: path, options: .forTests)
            #expect(try reopened.verify().isOK)
            try reopened.eraseSealedValues(of: [events[0].id])
            let after = try vaultBytes(path)
            #expect(Data(after).range(of: Data("Orphan text".utf8))?.count == Data("Orphan text".utf8).count, "the live value stays")
            #expect(after.count < rewritten.count - orphan.count + 40, "the orphan is gone")
            #expect(try reopened.verify().vault == VaultReport(values: 1, erased: 1))
        }
    }
}
