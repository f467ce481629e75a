import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// Referral acceptance in the pipeline, against a hand-built log worked out by hand, and
// checkpoints written before flags and acceptances existed. Only synthetic people.

/// R-1 accepted after 2.5 days and attended; R-2 contacted after a day and accepted after four, still
/// waiting; R-3's acceptance retracted; R-4 declined.
private func recordAcceptanceStory(_ h: HandLog) throws {
    try h.record(at: "2025-01-01T09:30:00Z", (1...4).map { hbRegistered("P-\($0)", "adult", "2025-01-01T09:00:00Z") })
    try h.record(at: "2025-02-01T01:00:00Z", (1...4).map { hbReferred("R-\($0)", "P-\($0)", "2025-02-01T00:00:00Z") })
    try h.record(at: "2025-02-02T01:00:00Z", [
        hbDraft(.referralContacted, "2025-02-02T00:00:00Z", ["referral": "R-2", "channel": "phone"]),
        hbDraft(.referralAccepted, "2025-02-02T00:00:00Z", ["referral": "R-3"], id: hbID(803)),
    ])
    try h.record(at: "2025-02-03T13:00:00Z", [
        hbDraft(.referralAccepted, "2025-02-03T12:00:00Z", ["referral": "R-1"]),
        hbDraft(.referralDeclined, "2025-02-03T12:00:00Z", ["referral": "R-4", "reason": "Chose another service"]),
    ])
    try h.record(at: "2025-02-05T01:00:00Z", [hbDraft(.referralAccepted, "2025-02-05T00:00:00Z", ["referral": "R-2"])])
    try h.record(at: "2025-02-06T01:00:00Z", [hbRetracted(hbID(803), "2025-02-06T00:00:00Z", reason: "Accepted in error")])
    try h.record(at: "2025-02-10T12:00:00Z", [hbHeld("S-1", "2025-02-10T10:00:00Z"), hbAttended("P-1", "S-1", "2025-02-10T10:05:00Z")])
}

@Test func acceptanceIsAStepBetweenReceiptAndFirstAttendanceNotAStatus() throws {
    try withHandLog { h in
        try recordAcceptanceStory(h)
        let pipeline = try h.runner.run(ReferralProjection.self).model.pipeline(now: hbTime("2025-03-01T00:00:00Z"), reading: h.runner.streamReader)
        let by = Dictionary(uniqueKeysWithValues: pipeline.map { ($0.referral, $0) })
        #expect(pipeline.map(\.status) == [.attended, .awaitingFirstAttendance, .awaitingFirstAttendance, .declined])
        #expect(by["R-1"]?.acceptedAt == hbTime("2025-02-03T12:00:00Z"))
        #expect(by["R-1"]?.daysToAcceptance == 2.5)
        #expect(by["R-1"].flatMap(\.daysToFirstAttendance).map { abs($0 - (9 + 10.0 / 24)) < 1e-9 } == true)
        #expect(by["R-2"]?.daysToFirstContact == 1)
        #expect(by["R-2"]?.daysToAcceptance == 4)
        #expect(by["R-3"]?.acceptedAt == nil, "a retracted acceptance never counts")
        #expect(by["R-4"]?.acceptedAt == nil)
        #expect(median(pipeline.compactMap(\.daysToAcceptance)) == 3.25)
        let json = try #require(by["R-2"]?.json.objectValue)
        #expect(json["status"] == "awaiting-first-attendance")
        #expect(json["acceptedAt"] == "2025-02-05T00:00:00Z")
        #expect(json["daysToAcceptance"]?.doubleValue == 4)
        #expect(json["daysToFirstContact"]?.doubleValue == 1)
        #expect(json["daysToFirstAttendance"] == nil)
        #expect(json["daysWaiting"]?.intValue == 28)
        #expect(by["R-3"]?.json.objectValue?["acceptedAt"] == nil)
    }
}

// MARK: - Checkpoints

@Test func acceptancesSurviveACheckpointByteForByte() throws {
    try withHandLog { h in
        try recordAcceptanceStory(h)
        let model = try h.runner.run(ReferralProjection.self).model
        let decoded = try roundTripped(model)
        let now = hbTime("2025-03-01T00:00:00Z")
        let read = h.runner.streamReader
        #expect(try decoded.pipeline(now: now, reading: read).map(\.acceptedAt) == model.pipeline(now: now, reading: read).map(\.acceptedAt))
        #expect(try decoded.pipeline(now: now, reading: read).compactMap(\.acceptedAt).count == 2)
    }
}

/// A checkpoint in another layout — an older release's, which carries no layout tag, or another
/// version's — is never read field by field into a wrong model: it is refused, the model folded
/// again from the log, and the checkpoint replaced by one in the current layout.
@Test func aCheckpointInAnotherLayoutIsRefusedAndReplaced() throws {
    try withHandLog { h in
        try recordAcceptanceStory(h)
        let head = try #require(try h.log.head())
        for type in [ReviewProjection.self, ReferralProjection.self, AuditProjection.self] as [any Projection.Type] {
            let fresh = try h.runner.runAll([type], useCheckpoint: false).models[0]
            let current = ProjectionRunner.checkpointState(of: fresh)
            // Saved checkpoints write tables in their own order; what is compared is the layout tag that leads them.
            func savedTag() -> [UInt8]? { h.log.loadCheckpoint(named: type.name).map { Array($0.state.prefix(8)) } }
            #expect(savedTag() == Array(current.prefix(8)), "\(type.name)")
            var untagged = StateWriter()
            fresh.encode(to: &untagged)
            var otherVersion = current
            otherVersion[0] &+= 1
            for state in [untagged.bytes, otherVersion] {
                try h.log.discardCheckpoints(named: type.name)
                try h.log.saveCheckpoint(Checkpoint(head: head, state: state), named: type.name)
                let resumed = try h.runner.runAll([type]).models[0]
                #expect(ProjectionRunner.checkpointState(of: resumed) == current, "\(type.name)")
                #expect(savedTag() == Array(current.prefix(8)), "\(type.name): replaced")
            }
        }
    }
}
