import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// The read models keep no attendance or survey: what a later event changes about earlier ones is
// read back from the log when asked. Each case here is one such later event, its answer worked
// out by hand; and the states are shown not to grow with attendances.

private let now = hbTime("2025-06-01T00:00:00Z")

private func review(_ h: HandLog, limit: ReadLimit? = nil) throws -> SafeguardingReview {
    try h.runner.run(ReviewProjection.self, limit: limit).model.review(now: now, reading: h.runner.streamReader)
}

private func firstAttendances(_ h: HandLog, limit: ReadLimit? = nil) throws -> [String: Timestamp?] {
    let pipeline = try h.runner.run(ReferralProjection.self, limit: limit).model.pipeline(now: now, reading: h.runner.streamReader)
    return Dictionary(uniqueKeysWithValues: pipeline.map { ($0.referral, $0.firstAttendedAt) })
}

@Test func aConsentRecordedLateButDatedBeforeTheAttendanceClearsItsFlag() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "child", "2025-03-01T09:00:00Z"), hbHeld("S-1", "2025-03-03T10:00:00Z")])
        try h.record(at: "2025-03-03T11:00:00Z", [hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z", id: hbID(1))])
        #expect(try review(h).flaggedAttendances.map(\.event) == [hbID(1)])
        // The parent's form, signed on 1 March, is found and recorded on 10 March.
        try h.record(at: "2025-03-10T09:00:00Z", [hbConsent("P-1", "participation", "2025-03-01T09:30:00Z", by: "parent-or-guardian")])
        #expect(try review(h).flaggedAttendances.isEmpty)
        // As the log stood before the form was recorded, the flag stands.
        #expect(try review(h, limit: ReadLimit("2025-03-05")).flaggedAttendances.map(\.event) == [hbID(1)])
        // Caught up from a checkpoint saved before the form, the same answer.
        let rebuilt = try h.runner.run(ReviewProjection.self, useCheckpoint: false)
        #expect(ProjectionRunner.checkpointState(of: rebuilt.model) == ProjectionRunner.checkpointState(of: try h.runner.run(ReviewProjection.self).model))
    }
}

@Test func aWithdrawalRecordedLateButDatedBeforeTheAttendanceFlagsIt() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [
            hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z"), hbConsent("P-1", "participation", "2025-03-01T09:10:00Z"),
            hbConsent("P-1", "surveys", "2025-03-01T09:10:00Z"),
            hbHeld("S-1", "2025-03-03T10:00:00Z"), hbHeld("S-2", "2025-03-10T10:00:00Z", week: 2),
        ])
        try h.record(at: "2025-03-10T11:00:00Z", [
            hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z", id: hbID(1)), hbAttended("P-1", "S-2", "2025-03-10T10:05:00Z", id: hbID(2)),
            hbSurveyed("P-1", "S-2", "2025-03-10T11:00:00Z", happier: true, connected: true, id: hbID(3)),
        ])
        #expect(try review(h).flaggedAttendances.isEmpty)
        // A withdrawal of 5 March, recorded on 12 March: S-2 (10 March) was attended after it; S-1 before.
        try h.record(at: "2025-03-12T09:00:00Z", [
            hbDraft(.consentWithdrawn, "2025-03-05T09:00:00Z", ["participant": "P-1", "scope": "participation"]),
            hbDraft(.consentWithdrawn, "2025-03-05T09:00:00Z", ["participant": "P-1", "scope": "surveys"]),
        ])
        let after = try review(h)
        #expect(after.flaggedAttendances.map(\.event) == [hbID(2)])
        #expect(after.flaggedAttendances.first?.rule == .attendanceAfterWithdrawal)
        #expect(after.flaggedSurveys.map(\.event) == [hbID(3)])
        #expect(after.flaggedSurveys.first?.rule == .surveyConsentMissing)
        // A later attendance is judged as it is folded, against the withdrawal already known.
        try h.record(at: "2025-03-20T11:00:00Z", [hbHeld("S-3", "2025-03-17T10:00:00Z", week: 3), hbAttended("P-1", "S-3", "2025-03-17T10:05:00Z", id: hbID(4))])
        #expect(try review(h).flaggedAttendances.map(\.event) == [hbID(2), hbID(4)])
    }
}

@Test func aReferralRecordedAfterThePersonAttendedFindsItsFirstAttendanceInTheLog() throws {
    try withHandLog { h in
        try h.record(at: "2025-02-01T10:00:00Z", [
            hbRegistered("P-1", "adult", "2025-02-01T09:00:00Z"), hbHeld("S-1", "2025-02-03T10:00:00Z"),
            hbHeld("S-2", "2025-02-10T10:00:00Z", week: 2), hbHeld("S-3", "2025-02-17T10:00:00Z", week: 3),
        ])
        try h.record(at: "2025-02-17T12:00:00Z", [
            hbAttended("P-1", "S-1", "2025-02-03T10:05:00Z"), hbAttended("P-1", "S-2", "2025-02-10T10:05:00Z"),
            hbAttended("P-1", "S-3", "2025-02-17T10:05:00Z"),
        ])
        // The GP's referral of 5 February reaches the hub on 20 February: S-2 is its first attendance, S-1 was before it.
        try h.record(at: "2025-02-20T09:00:00Z", [hbReferred("R-1", "P-1", "2025-02-05T09:00:00Z")])
        #expect(try firstAttendances(h) == ["R-1": hbTime("2025-02-10T10:00:00Z")])
        // Received after every session P-1 came to: still waiting.
        try h.record(at: "2025-02-21T09:00:00Z", [hbReferred("R-2", "P-1", "2025-02-18T09:00:00Z")])
        #expect(try firstAttendances(h)["R-2"] == .some(nil))
    }
}

@Test func aRetractedFirstAttendanceOrItsSessionGivesWayToTheNextOne() throws {
    try withHandLog { h in
        try h.record(at: "2025-02-01T10:00:00Z", [
            hbRegistered("P-1", "adult", "2025-02-01T09:00:00Z"), hbRegistered("P-2", "adult", "2025-02-01T09:00:00Z"),
            hbReferred("R-1", "P-1", "2025-02-01T09:30:00Z"), hbReferred("R-2", "P-2", "2025-02-01T09:30:00Z"),
            hbHeld("S-1", "2025-02-03T10:00:00Z", id: hbID(11)), hbHeld("S-2", "2025-02-10T10:00:00Z", week: 2),
            hbHeld("S-3", "2025-02-17T10:00:00Z", week: 3),
        ])
        try h.record(at: "2025-02-17T12:00:00Z", [
            hbAttended("P-1", "S-1", "2025-02-03T10:05:00Z", id: hbID(1)), hbAttended("P-1", "S-3", "2025-02-17T10:05:00Z"),
            hbAttended("P-2", "S-1", "2025-02-03T10:05:00Z"), hbAttended("P-2", "S-2", "2025-02-10T10:05:00Z"),
        ])
        #expect(try firstAttendances(h) == ["R-1": hbTime("2025-02-03T10:00:00Z"), "R-2": hbTime("2025-02-03T10:00:00Z")])
        // P-1 was marked present at S-1 in error: S-3 is now R-1's first.
        try h.record(at: "2025-02-18T09:00:00Z", [hbRetracted(hbID(1), "2025-02-18T09:00:00Z")])
        #expect(try firstAttendances(h) == ["R-1": hbTime("2025-02-17T10:00:00Z"), "R-2": hbTime("2025-02-03T10:00:00Z")])
        // S-1 itself never took place: R-2's first is S-2.
        try h.record(at: "2025-02-19T09:00:00Z", [hbRetracted(hbID(11), "2025-02-19T09:00:00Z")])
        #expect(try firstAttendances(h) == ["R-1": hbTime("2025-02-17T10:00:00Z"), "R-2": hbTime("2025-02-10T10:00:00Z")])
        // As the log stood before either retraction.
        #expect(try firstAttendances(h, limit: ReadLimit("2025-02-17")) == ["R-1": hbTime("2025-02-03T10:00:00Z"), "R-2": hbTime("2025-02-03T10:00:00Z")])
        // The audit's median agrees with the pipeline: R-1 16 days 0:30, R-2 9 days 0:30.
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner)
        let median = try #require(figures.first { $0.name == "medianDaysToFirstAttendance" }?.numericValue)
        #expect(abs(median - (12.5 + 1.0 / 48)) < 1e-9)
    }
}

/// Ten people and twenty sessions, each person coming to `visits` of them (with a survey each time):
/// every read model's state is the same size whether they came twice or twenty times.
@Test(arguments: [ReviewProjection.self, ReferralProjection.self, AuditProjection.self, ChronologyProjection.self,
                  LocationProjection.self, AlertProjection.self] as [any Projection.Type])
func aReadModelDoesNotGrowWithAttendances(_ type: any Projection.Type) throws {
    func stateSize(visits: Int) throws -> Int {
        try withHandLog { h in
            let people = (1...10).map { "P-\($0)" }
            try h.record(at: "2025-01-01T10:00:00Z", people.flatMap { p in
                [hbRegistered(p, "adult", "2025-01-01T09:00:00Z"), hbConsent(p, "participation", "2025-01-01T09:10:00Z"),
                 hbConsent(p, "surveys", "2025-01-01T09:10:00Z"), hbReferred("R-" + p, p, "2025-01-01T09:20:00Z")]
            } + (1...20).map { n in hbHeld("S-\(n)", "2025-01-\(String(format: "%02d", n + 1))T10:00:00Z", week: Int64(1 + (n - 1) % 10)) })
            for n in 1...visits {
                let at = "2025-01-\(String(format: "%02d", n + 1))T10:05:00Z"
                try h.record(at: "2025-02-01T10:00:00Z", people.flatMap { p in
                    [hbAttended(p, "S-\(n)", at), hbSurveyed(p, "S-\(n)", at, happier: true, connected: n % 2 == 0)]
                })
            }
            let model = try h.runner.runAll([type], useCheckpoint: false).models[0]
            return ProjectionRunner.checkpointState(of: model).count
        }
    }
    #expect(try stateSize(visits: 2) == stateSize(visits: 20), "\(type.name)")
}

@Test func replayingALogThatNoLongerHoldsTheHeadIsRefused() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z"), hbHeld("S-1", "2025-03-03T10:00:00Z")])
        let folded = try h.runner.run(AuditProjection.self)
        let head = try #require(folded.head)
        let elsewhere = LogHead(position: head.position, hash: try #require(ChainHash(hex: String(repeating: "ab", count: 32))))
        #expect(throws: ProjectionError.logChanged(expected: elsewhere, found: head)) {
            _ = try folded.model.tally(period: AuditPeriod(), replaying: h.runner.replay(through: elsewhere))
        }
    }
}

/// A rebuild hands each projection only the kinds of event it says it folds (`Projection.folds`):
/// folding every event of the demo into each one directly must give the very same state.
@Test func everyProjectionFoldsTheSameWithoutTheKindsItSkips() throws {
    let dir = NSTemporaryDirectory() + "hubledger-kinds-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let log = try EventLog.create(at: dir)
    _ = try Recorder(log: log, actor: "tester").submit(Demo(participants: 120).drafts())
    let events = try log.events().compactMap(DomainEvent.init)
    let runner = ProjectionRunner(log: log)
    for type in ProjectionRunner.all {
        var direct = type.init()
        for event in events { direct.apply(event) }
        let folded = try runner.runAll([type], useCheckpoint: false).models[0]
        #expect(ProjectionRunner.checkpointState(of: folded) == ProjectionRunner.checkpointState(of: direct), "\(type.name)")
    }
}

/// The chronology's checkpoint keeps its tables as saved bytes with their hash index; a model caught
/// up from it (a referral linked before it, a concern after) equals one folded from scratch, and both
/// find every stream of the participant.
@Test func aChronologyCaughtUpFromItsSavedTablesEqualsAFreshFold() throws {
    try withHandLog { h in
        try h.record(at: "2025-02-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-02-01T09:00:00Z"), hbRegistered("P-2", "adult", "2025-02-01T09:00:00Z"),
                                                  hbReferred("R-1", "P-1", "2025-02-01T09:30:00Z")])
        _ = try h.runner.run(ChronologyProjection.self)
        let saved = try #require(h.log.loadCheckpoint(named: ChronologyProjection.name))
        try h.record(at: "2025-02-02T10:00:00Z", [hbRaised("C-1", "P-1", "2025-02-02T09:00:00Z", severity: "low"),
                                                  hbReferred("R-2", "P-2", "2025-02-02T09:30:00Z")])
        let caughtUp = try h.runner.run(ChronologyProjection.self)
        let fresh = try h.runner.run(ChronologyProjection.self, useCheckpoint: false)
        #expect(caughtUp.head == fresh.head && caughtUp.head?.position != saved.head.position)
        #expect(ProjectionRunner.checkpointState(of: caughtUp.model) == ProjectionRunner.checkpointState(of: fresh.model))
        let streams = caughtUp.model.recordStreams(of: "P-1")
        #expect(Set(streams.keys.map(\.name)) == ["participant-P-1", "referral-R-1", "concern-C-1"])
        #expect(caughtUp.model.concernStreams(of: "P-1") == ["concern-C-1"])
        #expect(Set(caughtUp.model.recordStreams(of: "P-2").keys.map(\.name)) == ["participant-P-2", "referral-R-2"])
        #expect(!caughtUp.model.knows("P-3"))
        // Read back from the checkpoint just saved (its tables as bytes), the same answers.
        let reloaded = try h.runner.run(ChronologyProjection.self)
        #expect(reloaded.model.recordStreams(of: "P-1") == streams)
        #expect(try hbChronology(h, "P-1").map(\.event.type) == ["ParticipantRegistered", "ReferralReceived", "ConcernRaised"])
    }
}

/// A registration recorded with the wrong generation, retracted and recorded again: the audit counts the
/// person under the corrected generation (never the retracted one), and the consent rules judge their
/// attendances as the child they are — as it stood before the correction, as an adult.
@Test func aRetractedRegistrationGivesWayToItsCorrection() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z", id: hbID(1)), hbHeld("S-1", "2025-03-03T10:00:00Z")])
        try h.record(at: "2025-03-03T11:00:00Z", [hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z", id: hbID(2))])
        func generations() throws -> [String: Int] {
            hbBreakdown(try hbFigure(try h.runner.run(AuditProjection.self).figures(h.runner), "participants"), "byGeneration")
        }
        #expect(try generations() == ["adult": 1])
        #expect(try review(h).flaggedAttendances.isEmpty)
        // Retracted: no generation stands, so none is claimed for them.
        try h.record(at: "2025-03-05T09:00:00Z", [hbRetracted(hbID(1), "2025-03-05T09:00:00Z", reason: "Is a child")])
        #expect(try generations() == ["unknown": 1])
        // Recorded again as a child: counted as one, and the attendance without a parent's consent is flagged.
        try h.record(at: "2025-03-05T09:05:00Z", [hbRegistered("P-1", "child", "2025-03-01T09:00:00Z", id: hbID(3))])
        #expect(try generations() == ["child": 1])
        #expect(try review(h).flaggedAttendances.map(\.event) == [hbID(2)])
        // As the log stood before the correction, the adult it said then.
        #expect(try review(h, limit: ReadLimit("2025-03-04")).flaggedAttendances.isEmpty)
        // A rebuild and a catch-up from checkpoints agree.
        let rebuilt = try h.runner.run(ReviewProjection.self, useCheckpoint: false)
        #expect(ProjectionRunner.checkpointState(of: rebuilt.model) == ProjectionRunner.checkpointState(of: try h.runner.run(ReviewProjection.self).model))
    }
}

/// A referral or concern whose first record is retracted and recorded again (to correct its source, say)
/// keeps the steps that stand: it is still declined or closed, its contact still counts, and a concern
/// escalated and closed is not open again.
@Test func aReceiptOrConcernRecordedAgainKeepsItsStandingSteps() throws {
    try withHandLog { h in
        let receipt: JSONObject = ["referral": "R-1", "participant": "P-1", "source": "gp", "referrer": "Synthetic GP", "reason": "Synthetic", "urgent": false]
        let concern: JSONObject = ["concern": "C-1", "participant": "P-1", "category": "neglect", "severity": "high", "account": "Synthetic.",
                                   "actionTaken": "Synthetic.", "dslInformed": true]
        try h.record(at: "2025-03-10T10:00:00Z", [
            hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z"),
            hbDraft(.referralReceived, "2025-03-02T09:00:00Z", receipt, id: hbID(1)),
            hbDraft(.referralContacted, "2025-03-03T09:00:00Z", ["referral": "R-1", "channel": "phone"]),
            hbDraft(.referralDeclined, "2025-03-04T09:00:00Z", ["referral": "R-1", "reason": "Synthetic"]),
            hbDraft(.concernRaised, "2025-03-05T09:00:00Z", concern, id: hbID(2)),
            hbDraft(.concernEscalated, "2025-03-05T10:00:00Z", ["concern": "C-1", "to": "police"]),
            hbDraft(.concernClosed, "2025-03-06T10:00:00Z", ["concern": "C-1", "outcome": "Synthetic"]),
        ])
        func pipeline() throws -> ReferralStatus? {
            try h.runner.run(ReferralProjection.self).model.pipeline(now: now, reading: h.runner.streamReader).first { $0.referral == "R-1" }
        }
        let before = try #require(try pipeline())
        #expect(before.status == .declined && before.contactedAt != nil)
        #expect(try review(h).openConcerns.isEmpty)
        var corrected = receipt, critical = concern
        corrected["source"] = "link-worker"
        critical["severity"] = "critical"
        try h.record(at: "2025-03-11T10:00:00Z", [
            hbRetracted(hbID(1), "2025-03-11T10:00:00Z", reason: "Wrong source"),
            hbDraft(.referralReceived, "2025-03-02T09:00:00Z", corrected),
            hbRetracted(hbID(2), "2025-03-11T10:00:00Z", reason: "Wrong severity"),
            hbDraft(.concernRaised, "2025-03-05T09:00:00Z", critical),
        ])
        let after = try #require(try pipeline())
        #expect(after.source == .linkWorker)
        #expect(after.status == .declined, "\(after)")
        #expect(after.contactedAt == before.contactedAt)
        #expect(try review(h).openConcerns.isEmpty && review(h).unescalatedHighConcerns.isEmpty)
        // A rebuild from nothing agrees with the catch-up.
        let rebuilt = try h.runner.run(ReviewProjection.self, useCheckpoint: false)
        #expect(ProjectionRunner.checkpointState(of: rebuilt.model) == ProjectionRunner.checkpointState(of: try h.runner.run(ReviewProjection.self).model))
    }
}
