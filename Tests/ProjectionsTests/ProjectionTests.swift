import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// Each projection against small hand-built logs whose right answers are worked out
// here by hand, plus catch-up-equals-rebuild on the demo data. Only synthetic people.

// MARK: - Hand-built logs (shared with the other files of this target)

func hbTime(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

/// The store's clock, moved by hand so `recordedAt` is known. `lock` guards `current`.
final class HandClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Timestamp(microseconds: 0)
    func set(_ text: String) { lock.lock(); current = hbTime(text); lock.unlock() }
    func read() -> Timestamp { lock.lock(); defer { lock.unlock() }; return current }
}

struct HandLog {
    let log: EventLog
    let clock: HandClock
    let recorder: Recorder
    var runner: ProjectionRunner { ProjectionRunner(log: log) }

    /// Appends drafts as one submission recorded at `recordedAt`.
    @discardableResult
    func record(at recordedAt: String, _ drafts: [EventDraft]) throws -> Recorder.Outcome {
        clock.set(recordedAt)
        return try recorder.submit(drafts)
    }
}

func withHandLog<T>(_ body: (HandLog) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "hubledger-projections-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let clock = HandClock()
    let log = try EventLog.create(at: dir, options: EventLog.Options(clock: { clock.read() }))
    // The recorder's own clock only bounds occurredAt; it is set well after every event here.
    let recorder = Recorder(log: log, actor: "tester", clock: { hbTime("2030-01-01T00:00:00Z") })
    return try body(HandLog(log: log, clock: clock, recorder: recorder))
}

/// The model read back from its own checkpoint encoding, after checking that the encoding is read to
/// its end and that the model read back encodes to the very same bytes.
func roundTripped<P: Projection>(_ model: P, sourceLocation: SourceLocation = #_sourceLocation) throws -> P {
    var writer = StateWriter()
    model.encode(to: &writer)
    var reader = StateReader(writer.bytes)
    let decoded = try P(from: &reader)
    #expect(reader.isAtEnd, sourceLocation: sourceLocation)
    var again = StateWriter()
    decoded.encode(to: &again)
    #expect(again.bytes == writer.bytes, sourceLocation: sourceLocation)
    return decoded
}

extension Folded where Model == AuditProjection {
    /// The audit's figures for a period and filter, its counts taken from the log read again by
    /// `runner` up to this model's head, as the CLI takes them.
    func figures(_ runner: ProjectionRunner, period: AuditPeriod = AuditPeriod(), filter: AuditFilter = AuditFilter()) throws -> [AuditFigure] {
        try tally(runner, period: period, filter: filter).figures()
    }

    func tally(_ runner: ProjectionRunner, period: AuditPeriod = AuditPeriod(), filter: AuditFilter = AuditFilter()) throws -> AuditTally {
        try model.tally(period: period, filter: filter, replaying: runner.replay(through: head))
    }
}

/// A deterministic event id: `hbID(12)` is 00000000-0000-4000-8000-000000000012.
func hbID(_ n: Int) -> UUID { UUID(uuidString: "00000000-0000-4000-8000-" + String(format: "%012d", n))! }

func hbDraft(_ type: EventType, _ at: String, _ data: JSONObject, id: UUID? = nil) -> EventDraft {
    EventDraft(type: type.rawValue, occurredAt: at, data: data, id: id, file: "hand", line: 1)
}

func hbRegistered(_ p: String, _ generation: String, _ at: String, hub: String = "woking", region: String = "surrey", id: UUID? = nil) -> EventDraft {
    hbDraft(.participantRegistered, at, ["participant": .string(p), "generation": .string(generation), "hub": .string(hub), "region": .string(region)], id: id)
}

func hbMoved(_ p: String, _ at: String, hub: String, region: String, id: UUID? = nil) -> EventDraft {
    hbDraft(.participantMoved, at, ["participant": .string(p), "hub": .string(hub), "region": .string(region)], id: id)
}

func hbConsent(_ p: String, _ scope: String, _ at: String, by: String = "self", id: UUID? = nil) -> EventDraft {
    hbDraft(.consentGiven, at, ["participant": .string(p), "scope": .string(scope), "givenBy": .string(by)], id: id)
}

func hbHeld(_ s: String, _ at: String, programme: String = "woking-2025-1", week: Int64 = 1,
          hub: String = "woking", region: String = "surrey", funder: String? = nil, id: UUID? = nil) -> EventDraft {
    var data: JSONObject = ["session": .string(s), "hub": .string(hub), "region": .string(region), "programme": .string(programme), "week": .int(week)]
    if let funder { data["funder"] = .string(funder) }
    return hbDraft(.sessionHeld, at, data, id: id)
}

func hbAttended(_ p: String, _ s: String, _ at: String, id: UUID? = nil) -> EventDraft {
    hbDraft(.attendanceRecorded, at, ["participant": .string(p), "session": .string(s)], id: id)
}

func hbSurveyed(_ p: String, _ s: String, _ at: String, happier: Bool, connected: Bool, id: UUID? = nil) -> EventDraft {
    hbDraft(.surveyCompleted, at, ["participant": .string(p), "session": .string(s), "happier": .bool(happier), "moreConnected": .bool(connected)], id: id)
}

func hbReferred(_ r: String, _ p: String, _ at: String, source: String = "gp", urgent: Bool = false, id: UUID? = nil) -> EventDraft {
    hbDraft(.referralReceived, at, ["referral": .string(r), "participant": .string(p), "source": .string(source),
                               "referrer": "Synthetic referrer", "reason": "Isolation (synthetic)", "urgent": .bool(urgent)], id: id)
}

func hbRaised(_ c: String, _ p: String, _ at: String, severity: String, category: String = "emotional", id: UUID? = nil) -> EventDraft {
    hbDraft(.concernRaised, at, ["concern": .string(c), "participant": .string(p), "category": .string(category), "severity": .string(severity),
                            "account": "Synthetic account.", "actionTaken": "Told the DSL.", "dslInformed": true], id: id)
}

func hbRetracted(_ target: UUID, _ at: String, reason: String = "Entered in error", id: UUID? = nil) -> EventDraft {
    hbDraft(.eventRetracted, at, ["event": .string(target.uuidString.lowercased()), "reason": .string(reason)], id: id)
}

func hbSignposted(_ p: String, _ at: String, category: String, id: UUID? = nil) -> EventDraft {
    hbDraft(.signpostGiven, at, ["participant": .string(p), "service": "Synthetic service", "category": .string(category)], id: id)
}

func hbFigure(_ figures: [AuditFigure], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> AuditFigure {
    try #require(figures.first { $0.name == name }, "no figure \(name)", sourceLocation: sourceLocation)
}

func hbBreakdown(_ f: AuditFigure, _ key: String) -> [String: Int] {
    f.breakdowns.first { $0.0 == key }?.1 ?? [:]
}

func hbChronology(_ h: HandLog, _ participant: String, limit: ReadLimit? = nil) throws -> [ChronologyEntry] {
    let folded = try h.runner.run(ChronologyProjection.self, limit: limit)
    return try folded.model.chronology(of: participant) { try SensitiveText.revealed(h.log.events(inStreamsEndingAt: $0), from: h.log) }
}

// MARK: - Chronology

/// P-1's year at the hub, with P-2 alongside. Worked out by hand below.
private func recordChronologyStory(_ h: HandLog) throws {
    try h.record(at: "2025-03-01T09:30:00Z", [
        hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z", id: hbID(1)),
        hbRegistered("P-2", "adult", "2025-03-01T09:05:00Z", id: hbID(2)),
        hbHeld("S-1", "2025-03-03T10:00:00Z", week: 1, id: hbID(3)),
        hbHeld("S-2", "2025-03-10T10:00:00Z", week: 2, id: hbID(4)),
        hbHeld("S-3", "2025-03-17T10:00:00Z", week: 3, id: hbID(17)),
    ])
    try h.record(at: "2025-03-03T13:00:00Z", [
        hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z", id: hbID(5)),
        hbSurveyed("P-1", "S-1", "2025-03-03T11:00:00Z", happier: true, connected: true, id: hbID(6)),
        hbAttended("P-2", "S-1", "2025-03-03T10:06:00Z", id: hbID(7)),
        hbSignposted("P-1", "2025-03-03T12:00:00Z", category: "housing", id: hbID(16)),
    ])
    try h.record(at: "2025-03-10T14:00:00Z", [
        hbAttended("P-1", "S-2", "2025-03-10T10:05:00Z", id: hbID(8)),
        hbAttended("P-2", "S-2", "2025-03-10T10:06:00Z", id: hbID(9)),
        hbRaised("C-1", "P-1", "2025-03-10T12:00:00Z", severity: "high", id: hbID(10)),
        hbDraft(.concernEscalated, "2025-03-10T13:00:00Z", ["concern": "C-1", "to": "adult-social-care"], id: hbID(11)),
        hbRaised("C-2", "P-2", "2025-03-10T12:30:00Z", severity: "low", id: hbID(15)),
    ])
    try h.record(at: "2025-03-11T09:30:00Z", [hbRetracted(hbID(16), "2025-03-11T09:00:00Z", reason: "Entered against the wrong person", id: hbID(12))])
    // Recorded late: a referral received on 2 March, entered on 12 March.
    try h.record(at: "2025-03-12T15:00:00Z", [
        hbReferred("R-1", "P-1", "2025-03-02T08:00:00Z", id: hbID(13)),
        hbDraft(.referralContacted, "2025-03-12T14:00:00Z", ["referral": "R-1", "channel": "phone"], id: hbID(14)),
    ])
    try h.record(at: "2025-03-17T12:00:00Z", [hbAttended("P-2", "S-3", "2025-03-17T10:05:00Z", id: hbID(18))])
}

@Test func aChronologyListsEveryStreamOfTheParticipantInTheOrderThingsHappened() throws {
    try withHandLog { h in
        try recordChronologyStory(h)
        let entries = try hbChronology(h, "P-1")
        // By occurredAt: registered 1 Mar; referral 2 Mar (recorded 12 Mar); S-1, attendance, survey, signpost on 3 Mar;
        // S-2, attendance, concern, escalation on 10 Mar; the signpost's retraction 11 Mar; the referral contact 12 Mar.
        // Not P-2's events, and not S-3, which P-1 did not attend.
        #expect(entries.map(\.event.id) == [hbID(1), hbID(13), hbID(3), hbID(5), hbID(6), hbID(16), hbID(4), hbID(8), hbID(10), hbID(11), hbID(12), hbID(14)])
        #expect(entries.map(\.event.type) == ["ParticipantRegistered", "ReferralReceived", "SessionHeld", "AttendanceRecorded", "SurveyCompleted",
                                              "SignpostGiven", "SessionHeld", "AttendanceRecorded", "ConcernRaised", "ConcernEscalated",
                                              "EventRetracted", "ReferralContacted"])
        #expect(entries.allSatisfy { $0.event.actor == "tester" })
    }
}

@Test func aBackdatedEntryShowsBothTimesAndIsMarkedLate() throws {
    try withHandLog { h in
        try recordChronologyStory(h)
        let entries = try hbChronology(h, "P-1")
        let referral = try #require(entries.first { $0.event.id == hbID(13) })
        #expect(referral.event.occurredAt == hbTime("2025-03-02T08:00:00Z"))
        #expect(referral.event.recordedAt == hbTime("2025-03-12T15:00:00Z"))
        #expect(referral.isRecordedLate)
        let json = try #require(referral.json.objectValue)
        #expect(json["occurredAt"] == "2025-03-02T08:00:00Z")
        #expect(json["recordedAt"] == "2025-03-12T15:00:00Z")
        // Recorded within a day (or before it happened): not late.
        let late = entries.filter(\.isRecordedLate).map(\.event.id)
        #expect(late == [hbID(13)])
    }
}

@Test func aRetractedEntryIsShownAsRetractedWithTheReason() throws {
    try withHandLog { h in
        try recordChronologyStory(h)
        let entries = try hbChronology(h, "P-1")
        let signpost = try #require(entries.first { $0.event.id == hbID(16) })
        let retraction = try #require(signpost.retraction)
        #expect(signpost.isRetracted)
        #expect(retraction.reason == "Entered against the wrong person")
        #expect(retraction.event == hbID(12))
        #expect(retraction.recordedAt == hbTime("2025-03-11T09:30:00Z"))
        #expect(retraction.actor == "tester")
        let json = try #require(signpost.json.objectValue)
        #expect(json["retracted"] == .bool(true))
        #expect(json["retraction"]?.objectValue?["reason"] == "Entered against the wrong person")
        #expect(entries.filter(\.isRetracted).map(\.event.id) == [hbID(16)])
    }
}

@Test func aChronologyAsOfAnEarlierTimeShowsTheRecordAsItStoodThen() throws {
    try withHandLog { h in
        try recordChronologyStory(h)
        _ = try hbChronology(h, "P-1")  // leaves a checkpoint at the head
        let then = try hbChronology(h, "P-1", limit: .recordedBy(hbTime("2025-03-11T00:00:00Z")))
        #expect(then.map(\.event.id) == [hbID(1), hbID(3), hbID(5), hbID(6), hbID(16), hbID(4), hbID(8), hbID(10), hbID(11)])
        #expect(!then.contains { $0.isRetracted })
    }
}

@Test func anUnknownParticipantIsNotKnown() throws {
    try withHandLog { h in
        try recordChronologyStory(h)
        let folded = try h.runner.run(ChronologyProjection.self)
        #expect(folded.model.knows("P-1"))
        #expect(folded.model.knows("P-2"))
        #expect(!folded.model.knows("P-404"))
        #expect(!folded.model.knows("S-1"))
    }
}

// MARK: - Safeguarding review

private let reviewNow = hbTime("2025-04-01T12:00:00Z")

private func recordReviewStory(_ h: HandLog) throws {
    try h.record(at: "2024-09-01T09:30:00Z", [
        hbRegistered("P-1", "adult", "2024-09-01T09:00:00Z"),
        hbRegistered("P-2", "child", "2024-09-01T09:00:00Z"),
        hbRegistered("P-3", "older-adult", "2024-09-01T09:00:00Z"),
        hbConsent("P-1", "participation", "2024-09-01T09:10:00Z"),
        hbConsent("P-1", "surveys", "2024-09-01T09:10:00Z"),
        hbConsent("P-3", "participation", "2024-09-01T09:10:00Z"),
    ])
    try h.record(at: "2024-10-01T11:00:00Z", [hbRaised("C-5", "P-2", "2024-10-01T10:00:00Z", severity: "medium")])
    try h.record(at: "2024-10-15T11:00:00Z", [hbDraft(.concernClosed, "2024-10-15T10:00:00Z", ["concern": "C-5", "outcome": "Resolved (synthetic)."])])
    try h.record(at: "2024-11-01T12:00:00Z", [
        hbRaised("C-6", "P-3", "2024-11-01T10:00:00Z", severity: "critical", category: "self-neglect"),
        hbDraft(.concernEscalated, "2024-11-01T11:00:00Z", ["concern": "C-6", "to": "adult-social-care"], id: hbID(106)),
    ])
    try h.record(at: "2025-01-10T11:00:00Z", [hbRaised("C-4", "P-2", "2025-01-10T10:00:00Z", severity: "low", category: "neglect")])
    try h.record(at: "2025-01-20T11:00:00Z", [hbDraft(.concernClosed, "2025-01-20T10:00:00Z", ["concern": "C-4", "outcome": "Resolved (synthetic)."])])
    try h.record(at: "2025-01-31T11:00:00Z", [hbRaised("C-7", "P-3", "2025-01-31T10:00:00Z", severity: "medium", category: "financial")])
    try h.record(at: "2025-02-01T11:00:00Z", [hbRaised("C-8", "P-3", "2025-02-01T10:00:00Z", severity: "low", category: "financial", id: hbID(108))])
    try h.record(at: "2025-02-05T11:00:00Z", [hbDraft(.concernClosed, "2025-02-05T10:00:00Z", ["concern": "C-7", "outcome": "Closed (synthetic)."], id: hbID(107))])
    try h.record(at: "2025-03-01T13:00:00Z", [
        hbRaised("C-3", "P-2", "2025-03-01T10:00:00Z", severity: "high", category: "physical"),
        hbDraft(.concernEscalated, "2025-03-01T12:00:00Z", ["concern": "C-3", "to": "childrens-services"]),
    ])
    try h.record(at: "2025-03-15T10:00:00Z", [
        hbRetracted(hbID(106), "2025-03-15T09:00:00Z", reason: "Escalation recorded against the wrong concern"),
        hbRetracted(hbID(107), "2025-03-15T09:00:00Z", reason: "Closed by mistake"),
        hbRetracted(hbID(108), "2025-03-15T09:00:00Z", reason: "Raised in error"),
    ])
    try h.record(at: "2025-03-20T10:00:00Z", [hbDraft(.consentWithdrawn, "2025-03-20T09:00:00Z", ["participant": "P-3", "scope": "participation"])])
    try h.record(at: "2025-03-24T12:00:00Z", [
        hbHeld("S-1", "2025-03-24T10:00:00Z"),
        hbAttended("P-1", "S-1", "2025-03-24T10:05:00Z", id: hbID(201)),
        hbAttended("P-2", "S-1", "2025-03-24T10:05:00Z", id: hbID(202)),
        hbAttended("P-3", "S-1", "2025-03-24T10:05:00Z", id: hbID(203)),
        hbSurveyed("P-1", "S-1", "2025-03-24T11:00:00Z", happier: true, connected: true, id: hbID(211)),
        hbSurveyed("P-2", "S-1", "2025-03-24T11:00:00Z", happier: true, connected: false, id: hbID(212)),
    ])
    try h.record(at: "2025-03-30T13:00:00Z", [hbRaised("C-1", "P-1", "2025-03-30T12:00:00Z", severity: "high", category: "psychological")])
    try h.record(at: "2025-03-31T14:00:00Z", [hbRaised("C-2", "P-1", "2025-03-31T13:00:00Z", severity: "critical", category: "domestic")])
}

@Test func theReviewListsOpenConcernsBySeverityWithAgeAndEscalation() throws {
    try withHandLog { h in
        try recordReviewStory(h)
        let review = try h.runner.run(ReviewProjection.self).model.review(now: reviewNow, reading: h.runner.streamReader)
        // Closed: C-4, C-5. Retracted: C-8. C-7's closure and C-6's escalation were retracted.
        let open = Dictionary(uniqueKeysWithValues: review.openConcerns.map { ($0.concern, $0) })
        #expect(Set(open.keys) == ["C-1", "C-2", "C-3", "C-6", "C-7"])
        // Whole days from raisedAt to 2025-04-01T12:00Z.
        #expect(open["C-1"]?.ageDays == 2)
        #expect(open["C-2"]?.ageDays == 0)
        #expect(open["C-3"]?.ageDays == 31)
        #expect(open["C-6"]?.ageDays == 151)
        #expect(open["C-7"]?.ageDays == 60)
        #expect(open["C-3"]?.escalated == true)
        #expect(open["C-6"]?.escalated == false)
        #expect(open["C-1"]?.escalated == false)
        #expect(open["C-2"]?.severity == .critical)
        #expect(open["C-6"]?.participant == "P-3")
        #expect(open["C-6"]?.category == .selfNeglect)
        #expect(open["C-6"]?.raisedAt == hbTime("2024-11-01T10:00:00Z"))
        // By severity, most severe first.
        let ranks = review.openConcerns.map { Severity.allCases.firstIndex(of: $0.severity) ?? 0 }
        #expect(ranks == ranks.sorted(by: >))
    }
}

@Test func highConcernsOpenOverADayWithoutEscalationAreListed() throws {
    try withHandLog { h in
        try recordReviewStory(h)
        let model = try h.runner.run(ReviewProjection.self).model
        // C-1 (high, 48 h, no escalation) and C-6 (critical, escalation retracted); not C-2 (23 h), not C-3 (escalated), not C-7 (medium).
        #expect(Set(try model.review(now: reviewNow, reading: h.runner.streamReader).unescalatedHighConcerns.map(\.concern)) == ["C-1", "C-6"])
        // Two hours later C-2 has waited 25 hours.
        #expect(Set(try model.review(now: hbTime("2025-04-01T14:00:00Z"), reading: h.runner.streamReader).unescalatedHighConcerns.map(\.concern)) == ["C-1", "C-2", "C-6"])
        // Exactly 24 hours is not yet "more than 24 hours".
        #expect(Set(try model.review(now: hbTime("2025-04-01T13:00:00Z"), reading: h.runner.streamReader).unescalatedHighConcerns.map(\.concern)) == ["C-1", "C-6"])
    }
}

@Test func participantsWithMoreThanOneConcernWithin90DaysAreListed() throws {
    try withHandLog { h in
        try recordReviewStory(h)
        let review = try h.runner.run(ReviewProjection.self).model.review(now: reviewNow, reading: h.runner.streamReader)
        // P-1: C-1 and C-2 a day apart. P-2: C-5 (1 Oct), C-4 (10 Jan, 101 days on), C-3 (1 Mar, 50 days on).
        // P-3: C-6 and C-7 are 91 days apart; C-8, a day after C-7, was retracted.
        let repeated = Dictionary(uniqueKeysWithValues: review.repeatedConcerns.map { ($0.participant, $0.concerns) })
        #expect(Set(repeated.keys) == ["P-1", "P-2"])
        #expect(Set(repeated["P-1"] ?? []) == ["C-1", "C-2"])
        #expect(Set(repeated["P-2"] ?? []) == ["C-3", "C-4", "C-5"])
    }
}

@Test func theReviewFlagsAttendancesAndSurveysByTheConsentRules() throws {
    try withHandLog { h in
        try recordReviewStory(h)
        let review = try h.runner.run(ReviewProjection.self).model.review(now: reviewNow, reading: h.runner.streamReader)
        // P-1 (adult, consents given) is not flagged; P-2 (child, no consent); P-3 withdrew participation on 20 March.
        let attendances = Dictionary(uniqueKeysWithValues: review.flaggedAttendances.map { ($0.event, $0.rule) })
        #expect(attendances == [hbID(202): .participationConsentMissing, hbID(203): .attendanceAfterWithdrawal])
        let surveys = Dictionary(uniqueKeysWithValues: review.flaggedSurveys.map { ($0.event, $0.rule) })
        #expect(surveys == [hbID(212): .surveyConsentMissing])
        #expect(review.flaggedAttendances.allSatisfy { $0.session == "S-1" })
        let json = review.json(head: nil).objectValue
        let first = json?["flaggedAttendances"]?.arrayValue?.first?.objectValue
        #expect(first?["rule"]?.stringValue != nil)
        #expect(first?["event"]?.stringValue.flatMap(UUID.init(uuidString:)) != nil)
    }
}

@Test func aRetractedConsentNoLongerCountsInTheReview() throws {
    try withHandLog { h in
        try h.record(at: "2025-03-01T10:00:00Z", [
            hbRegistered("P-1", "child", "2025-03-01T09:00:00Z"),
            hbConsent("P-1", "participation", "2025-03-01T09:10:00Z", by: "parent-or-guardian", id: hbID(601)),
            hbConsent("P-1", "surveys", "2025-03-01T09:10:00Z", by: "parent-or-guardian", id: hbID(602)),
            hbHeld("S-1", "2025-03-03T10:00:00Z"),
            hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z", id: hbID(603)),
            hbSurveyed("P-1", "S-1", "2025-03-03T11:00:00Z", happier: true, connected: true, id: hbID(604)),
        ])
        let before = try h.runner.run(ReviewProjection.self).model.review(now: reviewNow, reading: h.runner.streamReader)
        #expect(before.flaggedAttendances.isEmpty)
        #expect(before.flaggedSurveys.isEmpty)
        // Both consents were recorded against the wrong child.
        try h.record(at: "2025-03-05T10:00:00Z", [hbRetracted(hbID(601), "2025-03-05T09:00:00Z"), hbRetracted(hbID(602), "2025-03-05T09:00:00Z")])
        let after = try h.runner.run(ReviewProjection.self).model.review(now: reviewNow, reading: h.runner.streamReader)
        #expect(after.flaggedAttendances.map(\.event) == [hbID(603)])
        #expect(after.flaggedAttendances.first?.rule == .participationConsentMissing)
        #expect(after.flaggedSurveys.map(\.event) == [hbID(604)])
    }
}

// MARK: - Referral pipeline

private let pipelineNow = hbTime("2025-05-01T00:00:00Z")

private func recordReferralStory(_ h: HandLog) throws {
    try h.record(at: "2025-01-01T09:30:00Z", (1...5).map { hbRegistered("P-\($0)", "adult", "2025-01-01T09:00:00Z") })
    try h.record(at: "2025-02-01T01:00:00Z", [
        hbReferred("R-3", "P-3", "2025-02-01T00:00:00Z", source: "gp"),
        hbReferred("R-4", "P-4", "2025-02-01T00:00:00Z", source: "self"),
        hbReferred("R-5", "P-5", "2025-02-01T00:00:00Z", source: "school"),
        hbReferred("R-7", "P-2", "2025-02-01T00:00:00Z", source: "other", id: hbID(307)),
    ])
    try h.record(at: "2025-02-02T10:00:00Z", [
        hbDraft(.referralContacted, "2025-02-02T09:00:00Z", ["referral": "R-3", "channel": "phone"]),
        hbRetracted(hbID(307), "2025-02-02T09:30:00Z", reason: "Duplicate referral"),
    ])
    try h.record(at: "2025-02-03T12:00:00Z", [
        hbHeld("S-1", "2025-02-03T10:00:00Z", week: 1),
        hbAttended("P-1", "S-1", "2025-02-03T10:05:00Z"),
        hbAttended("P-3", "S-1", "2025-02-03T10:05:00Z", id: hbID(331)),
    ])
    try h.record(at: "2025-02-04T11:00:00Z", [hbDraft(.referralDeclined, "2025-02-04T10:00:00Z", ["referral": "R-4", "reason": "Chose another service"])])
    try h.record(at: "2025-02-05T10:00:00Z", [hbReferred("R-1", "P-1", "2025-02-05T09:00:00Z", source: "mental-health-team", urgent: true)])
    try h.record(at: "2025-02-10T12:00:00Z", [hbHeld("S-2", "2025-02-10T10:00:00Z", week: 2), hbAttended("P-5", "S-2", "2025-02-10T10:05:00Z")])
    try h.record(at: "2025-02-17T12:00:00Z", [hbHeld("S-3", "2025-02-17T10:00:00Z", week: 3), hbAttended("P-1", "S-3", "2025-02-17T10:05:00Z")])
    try h.record(at: "2025-02-20T12:00:00Z", [hbRetracted(hbID(331), "2025-02-20T11:00:00Z", reason: "Marked present in error")])
    try h.record(at: "2025-03-01T12:00:00Z", [hbDraft(.referralClosed, "2025-03-01T11:00:00Z", ["referral": "R-5", "reason": "completed"])])
    try h.record(at: "2025-04-20T07:00:00Z", [hbReferred("R-2", "P-2", "2025-04-20T06:00:00Z", source: "link-worker")])
}

@Test func eachReferralHasTheStatusWorkedOutByHand() throws {
    try withHandLog { h in
        try recordReferralStory(h)
        let pipeline = try h.runner.run(ReferralProjection.self).model.pipeline(now: pipelineNow, reading: h.runner.streamReader)
        // R-7 was retracted.
        #expect(pipeline.map(\.referral) == ["R-1", "R-2", "R-3", "R-4", "R-5"])
        let by = Dictionary(uniqueKeysWithValues: pipeline.map { ($0.referral, $0) })
        #expect(by["R-1"]?.status == .attended)
        #expect(by["R-2"]?.status == .awaitingFirstAttendance)
        // P-3's only attendance was retracted.
        #expect(by["R-3"]?.status == .awaitingFirstAttendance)
        #expect(by["R-4"]?.status == .declined)
        #expect(by["R-5"]?.status == .closed)
        #expect(by["R-1"]?.urgent == true)
        #expect(by["R-1"]?.source == .mentalHealthTeam)
        #expect(by["R-1"]?.participant == "P-1")
    }
}

@Test func onlyASessionOnOrAfterTheReferralCountsAsFirstAttendance() throws {
    try withHandLog { h in
        try recordReferralStory(h)
        let pipeline = try h.runner.run(ReferralProjection.self).model.pipeline(now: pipelineNow, reading: h.runner.streamReader)
        let r1 = try #require(pipeline.first { $0.referral == "R-1" })
        // P-1 attended S-1 on 3 Feb, before the referral of 5 Feb 09:00; S-3 on 17 Feb 10:00 is the first after.
        #expect(r1.firstAttendedAt == hbTime("2025-02-17T10:00:00Z"))
        #expect(r1.daysWaiting == nil)
        let days = try #require(r1.daysToFirstAttendance)
        #expect(abs(days - (12 + 1.0 / 24)) < 1e-9)
    }
}

@Test func awaitingReferralsCountWholeDaysWaitingToNow() throws {
    try withHandLog { h in
        try recordReferralStory(h)
        let pipeline = try h.runner.run(ReferralProjection.self).model.pipeline(now: pipelineNow, reading: h.runner.streamReader)
        let by = Dictionary(uniqueKeysWithValues: pipeline.map { ($0.referral, $0) })
        // 20 Apr 06:00 to 1 May 00:00 is 10 days 18 hours.
        #expect(by["R-2"]?.daysWaiting == 10)
        // 1 Feb to 1 May: 28 + 31 + 30 days.
        #expect(by["R-3"]?.daysWaiting == 89)
        #expect(by["R-3"]?.contactedAt == hbTime("2025-02-02T09:00:00Z"))
        #expect(by["R-3"]?.firstAttendedAt == nil)
        #expect(by["R-4"]?.daysWaiting == nil)
        #expect(by["R-5"]?.daysWaiting == nil)
        let json = try #require(by["R-2"]?.json.objectValue)
        #expect(json["daysWaiting"]?.intValue == 10)
        #expect(json["status"] == "awaiting-first-attendance")
        #expect(json["receivedAt"] == "2025-04-20T06:00:00Z")
    }
}

// MARK: - Outcome audit

/// Two programmes (A misses week 3), a third programme whose only session was retracted, and
/// retracted attendances, surveys, signposts and concerns. Every figure is worked out in the tests.
private func recordAuditStory(_ h: HandLog) throws {
    try h.record(at: "2025-01-01T00:00:00Z", [
        hbRegistered("P-1", "child", "2024-12-20T09:00:00Z"),
        hbRegistered("P-2", "young-person", "2024-12-20T09:00:00Z"),
        hbRegistered("P-3", "adult", "2024-12-20T09:00:00Z"),
        hbRegistered("P-4", "older-adult", "2024-12-20T09:00:00Z"),
        hbRegistered("P-5", "adult", "2024-12-20T09:00:00Z"),
        hbReferred("R-1", "P-3", "2024-12-31T10:00:00Z", source: "gp"),
    ])
    try h.record(at: "2025-01-06T12:00:00Z", [
        hbHeld("SA1", "2025-01-06T10:00:00Z", programme: "A", week: 1, funder: "tnlcf"),
        hbAttended("P-1", "SA1", "2025-01-06T10:05:00Z"), hbAttended("P-2", "SA1", "2025-01-06T10:05:00Z"), hbAttended("P-3", "SA1", "2025-01-06T10:05:00Z"),
        hbSurveyed("P-1", "SA1", "2025-01-06T11:30:00Z", happier: true, connected: true),
        hbSurveyed("P-2", "SA1", "2025-01-06T11:30:00Z", happier: false, connected: true),
        hbSignposted("P-1", "2025-01-06T12:00:00Z", category: "health"),
    ])
    try h.record(at: "2025-01-13T12:00:00Z", [
        hbHeld("SA2", "2025-01-13T10:00:00Z", programme: "A", week: 2, funder: "tnlcf"),
        hbAttended("P-1", "SA2", "2025-01-13T10:05:00Z"), hbAttended("P-2", "SA2", "2025-01-13T10:05:00Z"),
        hbSurveyed("P-1", "SA2", "2025-01-13T11:30:00Z", happier: true, connected: false),
        hbSignposted("P-2", "2025-01-13T12:00:00Z", category: "housing"),
        hbRaised("C-1", "P-1", "2025-01-13T11:00:00Z", severity: "high"),
    ])
    try h.record(at: "2025-01-20T12:00:00Z", [hbReferred("R-2", "P-4", "2025-01-20T10:00:00Z", source: "link-worker")])
    try h.record(at: "2025-01-25T12:00:00Z", [hbReferred("R-3", "P-5", "2025-01-25T10:00:00Z", source: "self")])
    try h.record(at: "2025-01-27T12:00:00Z", [
        hbHeld("SA4", "2025-01-27T10:00:00Z", programme: "A", week: 4, funder: "tnlcf"),
        hbAttended("P-1", "SA4", "2025-01-27T10:05:00Z"), hbAttended("P-2", "SA4", "2025-01-27T10:05:00Z"), hbAttended("P-3", "SA4", "2025-01-27T10:05:00Z"),
    ])
    try h.record(at: "2025-02-03T12:00:00Z", [
        hbHeld("SB1", "2025-02-03T10:00:00Z", programme: "B", week: 1, region: "london"),
        hbHeld("SC1", "2025-02-03T10:00:00Z", programme: "C", week: 1, region: "greater-manchester", funder: "council", id: hbID(401)),
        hbAttended("P-1", "SB1", "2025-02-03T10:05:00Z"), hbAttended("P-4", "SB1", "2025-02-03T10:05:00Z"),
        hbAttended("P-5", "SC1", "2025-02-03T10:05:00Z"),
        hbSurveyed("P-4", "SB1", "2025-02-03T11:30:00Z", happier: true, connected: false),
        hbSurveyed("P-5", "SC1", "2025-02-03T11:30:00Z", happier: false, connected: false),
        hbSignposted("P-3", "2025-02-03T12:00:00Z", category: "housing", id: hbID(402)),
        hbRaised("C-3", "P-4", "2025-02-03T12:00:00Z", severity: "critical", category: "financial", id: hbID(403)),
    ])
    try h.record(at: "2025-02-10T12:00:00Z", [
        hbHeld("SB2", "2025-02-10T10:00:00Z", programme: "B", week: 2, region: "london"),
        hbAttended("P-4", "SB2", "2025-02-10T10:05:00Z"), hbAttended("P-3", "SB2", "2025-02-10T10:05:00Z", id: hbID(404)),
        hbSurveyed("P-4", "SB2", "2025-02-10T11:30:00Z", happier: true, connected: true, id: hbID(405)),
        hbRaised("C-2", "P-3", "2025-02-10T12:00:00Z", severity: "low", category: "financial"),
    ])
    try h.record(at: "2025-02-12T12:00:00Z", [
        hbRetracted(hbID(401), "2025-02-12T09:00:00Z", reason: "Session cancelled"),
        hbRetracted(hbID(402), "2025-02-12T09:00:00Z"),
        hbRetracted(hbID(403), "2025-02-12T09:00:00Z"),
        hbRetracted(hbID(404), "2025-02-12T09:00:00Z", reason: "Marked present in error"),
        hbRetracted(hbID(405), "2025-02-12T09:00:00Z"),
    ])
}

@Test func theAuditCountsOnlyWhatWasNotRetracted() throws {
    try withHandLog { h in
        try recordAuditStory(h)
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner, period: AuditPeriod())
        let sessions = try hbFigure(figures, "sessions")
        #expect(sessions.value.intValue == 5)  // SA1, SA2, SA4, SB1, SB2; SC1 retracted
        #expect(hbBreakdown(sessions, "byRegion") == ["surrey": 3, "london": 2])
        #expect(hbBreakdown(sessions, "byFunder")["tnlcf"] == 3)
        #expect(hbBreakdown(sessions, "byFunder")["council"] == nil)
        #expect(hbBreakdown(sessions, "byFunder").values.reduce(0, +) == 5)
        // SA1 3, SA2 2, SA4 3, SB1 2, SB2 1 (P-3's retracted); P-5 only attended the retracted SC1.
        #expect(try hbFigure(figures, "attendances").value.intValue == 11)
        let participants = try hbFigure(figures, "participants")
        #expect(participants.value.intValue == 4)
        #expect(hbBreakdown(participants, "byGeneration") == ["child": 1, "young-person": 1, "adult": 1, "older-adult": 1])
        // Live surveys: P-1 SA1 (yes, yes), P-2 SA1 (no, yes), P-1 SA2 (yes, no), P-4 SB1 (yes, no).
        let happier = try hbFigure(figures, "happierRate")
        #expect(happier.numerator == 3)
        #expect(happier.denominator == 4)
        #expect(happier.numericValue == 0.75)
        let connected = try hbFigure(figures, "connectedRate")
        #expect(connected.numerator == 2)
        #expect(connected.denominator == 4)
        let response = try hbFigure(figures, "surveyResponseRate")
        #expect(response.numerator == 4)
        #expect(response.denominator == 11)
        #expect(abs((response.numericValue ?? -1) - 4.0 / 11.0) < 1e-12)
        let signposts = try hbFigure(figures, "signposts")
        #expect(signposts.value.intValue == 2)
        #expect(hbBreakdown(signposts, "byCategory") == ["health": 1, "housing": 1])
        let concerns = try hbFigure(figures, "concerns")
        #expect(concerns.value.intValue == 2)
        #expect(hbBreakdown(concerns, "byCategory") == ["emotional": 1, "financial": 1])
        #expect(hbBreakdown(concerns, "bySeverity") == ["high": 1, "low": 1])
        let referrals = try hbFigure(figures, "referrals")
        #expect(referrals.value.intValue == 3)
        #expect(hbBreakdown(referrals, "bySource") == ["gp": 1, "link-worker": 1, "self": 1])
        // R-1 (31 Dec 10:00): SA1 on 6 Jan 10:00 is 6 days after; R-2 (20 Jan 10:00): SB1 on 3 Feb 10:00 is 14 days after;
        // R-3: P-5 only attended the retracted SC1. Median of [6, 14].
        #expect(try hbFigure(figures, "medianDaysToFirstAttendance").numericValue == 10)
    }
}

@Test func aProgrammeWithAMissingWeekSkipsThosePairsInTheWeeklyReturnRate() throws {
    try withHandLog { h in
        try recordAuditStory(h)
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner, period: AuditPeriod())
        let weekly = try hbFigure(figures, "weeklyReturnRate")
        // A: week 1 {P-1,P-2,P-3} → week 2 {P-1,P-2}: 2 of 3; weeks 2→3 and 3→4 skipped (no week 3).
        // B: week 1 {P-1,P-4} → week 2 {P-4}: 1 of 2 (P-3's week-2 attendance was retracted). C: its session was retracted.
        #expect(weekly.numerator == 3)
        #expect(weekly.denominator == 5)
        #expect(abs((weekly.numericValue ?? -1) - 0.6) < 1e-12)
    }
}

@Test func theAuditPeriodFiltersBySessionDate() throws {
    try withHandLog { h in
        try recordAuditStory(h)
        let model = try h.runner.run(AuditProjection.self)
        let february = try model.figures(h.runner, period: AuditPeriod(from: hbTime("2025-02-01T00:00:00Z"), to: hbTime("2025-02-28T23:59:59.999999Z")))
        #expect(try hbFigure(february, "sessions").value.intValue == 2)
        #expect(try hbFigure(february, "attendances").value.intValue == 3)
        #expect(try hbFigure(february, "participants").value.intValue == 2)
        #expect(try hbFigure(february, "happierRate").numerator == 1)
        #expect(try hbFigure(february, "happierRate").denominator == 1)
        #expect(try hbFigure(february, "connectedRate").numerator == 0)
        #expect(try hbFigure(february, "weeklyReturnRate").numerator == 1)
        #expect(try hbFigure(february, "weeklyReturnRate").denominator == 2)
        #expect(try hbFigure(february, "referrals").value.intValue == 0)
        #expect(try hbFigure(february, "medianDaysToFirstAttendance").value == .null)
        #expect(try hbFigure(february, "signposts").value.intValue == 0)
        #expect(try hbFigure(february, "concerns").value.intValue == 1)

        let january = try model.figures(h.runner, period: AuditPeriod(from: hbTime("2025-01-01T00:00:00Z"), to: hbTime("2025-01-31T23:59:59.999999Z")))
        #expect(try hbFigure(january, "sessions").value.intValue == 3)
        #expect(try hbFigure(january, "attendances").value.intValue == 8)
        #expect(try hbFigure(january, "participants").value.intValue == 3)
        #expect(try hbFigure(january, "happierRate").numerator == 2)
        #expect(try hbFigure(january, "happierRate").denominator == 3)
        #expect(try hbFigure(january, "weeklyReturnRate").numerator == 2)
        #expect(try hbFigure(january, "weeklyReturnRate").denominator == 3)
        // R-2 and R-3 were received in January; R-1 on 31 December.
        #expect(try hbFigure(january, "referrals").value.intValue == 2)
        #expect(try hbFigure(january, "medianDaysToFirstAttendance").numericValue == 14)
        #expect(try hbFigure(january, "signposts").value.intValue == 2)
        #expect(try hbFigure(january, "concerns").value.intValue == 1)
    }
}

@Test func anEmptyPeriodHasZeroCountsAndNoRates() throws {
    try withHandLog { h in
        try recordAuditStory(h)
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner, period: AuditPeriod(from: hbTime("2030-01-01T00:00:00Z"), to: hbTime("2030-12-31T00:00:00Z")))
        for name in ["sessions", "participants", "attendances", "referrals", "signposts", "concerns"] {
            #expect(try hbFigure(figures, name).value.intValue == 0, "\(name)")
        }
        for name in ["happierRate", "connectedRate", "surveyResponseRate", "weeklyReturnRate"] {
            let f = try hbFigure(figures, name)
            #expect(f.value == .null, "\(name)")
            #expect(f.numericValue == nil)
            #expect(f.denominator == 0)
        }
        #expect(try hbFigure(figures, "medianDaysToFirstAttendance").value == .null)
        #expect(hbBreakdown(try hbFigure(figures, "sessions"), "byRegion").isEmpty)
    }
}

@Test func anEmptyLogHasNoFigures() throws {
    try withHandLog { h in
        let folded = try h.runner.run(AuditProjection.self)
        #expect(folded.head == nil)
        let figures = try folded.figures(h.runner)
        #expect(try hbFigure(figures, "sessions").value.intValue == 0)
        #expect(try hbFigure(figures, "happierRate").value == .null)
    }
}

@Test func withoutSurveysTheSurveyRatesAreNullAndTheResponseRateZero() throws {
    try withHandLog { h in
        try h.record(at: "2025-01-06T12:00:00Z", [
            hbRegistered("P-1", "adult", "2025-01-01T09:00:00Z"),
            hbHeld("S-1", "2025-01-06T10:00:00Z"),
            hbAttended("P-1", "S-1", "2025-01-06T10:05:00Z"),
        ])
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner, period: AuditPeriod())
        #expect(try hbFigure(figures, "happierRate").value == .null)
        #expect(try hbFigure(figures, "connectedRate").value == .null)
        #expect(try hbFigure(figures, "happierRate").denominator == 0)
        let response = try hbFigure(figures, "surveyResponseRate")
        #expect(response.numerator == 0)
        #expect(response.denominator == 1)
        #expect(response.numericValue == 0)
        // One session of week 1 only: no pair of weeks.
        #expect(try hbFigure(figures, "weeklyReturnRate").value == .null)
    }
}

@Test func everyFigureCarriesItsDefinition() throws {
    try withHandLog { h in
        try recordAuditStory(h)
        let figures = try h.runner.run(AuditProjection.self).figures(h.runner, period: AuditPeriod())
        let names = Set(figures.map(\.name))
        #expect(names.isSuperset(of: ["sessions", "participants", "attendances", "happierRate", "connectedRate", "surveyResponseRate",
                                      "weeklyReturnRate", "referrals", "medianDaysToFirstAttendance", "signposts", "concerns"]))
        #expect(figures.allSatisfy { !$0.definition.isEmpty })
        // The audit prints no participant id or free text.
        let text = JSONValue.array(figures.map(\.json)).jsonText
        #expect(!text.contains("P-1"))
        #expect(!text.contains("Synthetic"))
    }
}

// MARK: - As of

/// Figures published on 31 March, then a correction on 10 April.
private func recordPublishedThenCorrected(_ h: HandLog) throws -> LogHead {
    try h.record(at: "2025-03-03T12:00:00Z", [
        hbRegistered("P-1", "adult", "2025-03-01T09:00:00Z"),
        hbRegistered("P-2", "adult", "2025-03-01T09:00:00Z"),
        hbHeld("S-1", "2025-03-03T10:00:00Z"),
        hbAttended("P-1", "S-1", "2025-03-03T10:05:00Z"),
        hbAttended("P-2", "S-1", "2025-03-03T10:05:00Z", id: hbID(501)),
        hbSurveyed("P-1", "S-1", "2025-03-03T11:00:00Z", happier: true, connected: true),
    ])
    let published = try #require(try h.log.head())
    try h.record(at: "2025-04-10T09:00:00Z", [
        hbRetracted(hbID(501), "2025-04-10T08:00:00Z", reason: "Marked present in error"),
        hbHeld("S-2", "2025-04-07T10:00:00Z", week: 2),
        hbAttended("P-1", "S-2", "2025-04-07T10:05:00Z"),
        hbSurveyed("P-1", "S-2", "2025-04-07T11:00:00Z", happier: false, connected: true),
    ])
    return published
}

private func hbHeadline(_ folded: Folded<AuditProjection>, _ h: HandLog) throws -> [String: Int] {
    let f = try folded.figures(h.runner)
    return ["sessions": Int(try hbFigure(f, "sessions").value.intValue ?? -1),
            "attendances": Int(try hbFigure(f, "attendances").value.intValue ?? -1),
            "participants": Int(try hbFigure(f, "participants").value.intValue ?? -1),
            "happy": try hbFigure(f, "happierRate").numerator ?? -1,
            "surveys": try hbFigure(f, "happierRate").denominator ?? -1]
}

@Test func asOfByTimeOrPositionReproducesTheFigurePublishedBeforeACorrection() throws {
    try withHandLog { h in
        let published = try recordPublishedThenCorrected(h)
        let atPublication = ["sessions": 1, "attendances": 2, "participants": 2, "happy": 1, "surveys": 1]
        // Before any full run (no checkpoint yet).
        #expect(try hbHeadline(h.runner.run(AuditProjection.self, limit: .recordedBy(hbTime("2025-03-31T17:00:00Z"))), h) == atPublication)
        // Today, after the correction.
        let today = try h.runner.run(AuditProjection.self)
        #expect(try hbHeadline(today, h) == ["sessions": 2, "attendances": 2, "participants": 1, "happy": 1, "surveys": 2])
        // Again as of publication, now that a checkpoint past that time exists.
        let byTime = try h.runner.run(AuditProjection.self, limit: .recordedBy(hbTime("2025-03-31T17:00:00Z")))
        #expect(try hbHeadline(byTime, h) == atPublication)
        #expect(byTime.head == published)
        let byPosition = try h.runner.run(AuditProjection.self, limit: .position(published.position))
        #expect(try hbHeadline(byPosition, h) == atPublication)
        #expect(byPosition.head == published)
        // The --as-of spellings: a bare date is the end of that day; a bare integer is a position.
        let endOfPublicationDay: ReadLimit = try #require(ReadLimit("2025-03-31"))
        let publishedPosition: ReadLimit = try #require(ReadLimit(String(published.position)))
        let afterCorrection: ReadLimit = try #require(ReadLimit("2025-04-10"))
        #expect(try hbHeadline(h.runner.run(AuditProjection.self, limit: endOfPublicationDay), h) == atPublication)
        #expect(try hbHeadline(h.runner.run(AuditProjection.self, limit: publishedPosition), h) == atPublication)
        #expect(try hbHeadline(h.runner.run(AuditProjection.self, limit: afterCorrection), h) != atPublication)
        // And a full run still gives today's figures (as-of runs saved nothing that misleads it).
        #expect(try hbHeadline(h.runner.run(AuditProjection.self), h) == (try hbHeadline(today, h)))
    }
}

@Test func asOfAppliesToEveryProjection() throws {
    try withHandLog { h in
        let published = try recordPublishedThenCorrected(h)
        _ = try h.runner.run(ReferralProjection.self)
        _ = try h.runner.run(ReviewProjection.self)
        let then = ReadLimit.position(published.position)
        // P-2's attendance is live as of publication, retracted today.
        let chronologyThen = try hbChronology(h, "P-2", limit: then)
        #expect(chronologyThen.first { $0.event.id == hbID(501) }?.isRetracted == false)
        let chronologyNow = try hbChronology(h, "P-2")
        #expect(chronologyNow.first { $0.event.id == hbID(501) }?.isRetracted == true)
        #expect(try h.runner.run(ReviewProjection.self, limit: then).head == published)
        #expect(try h.runner.run(ReferralProjection.self, limit: then).head == published)
    }
}

@Test func asOfBeforeTheFirstEventIsEmpty() throws {
    try withHandLog { h in
        _ = try recordPublishedThenCorrected(h)
        let folded = try h.runner.run(AuditProjection.self, limit: .recordedBy(hbTime("2025-01-01T00:00:00Z")))
        #expect(folded.head == nil)
        #expect(try hbHeadline(folded, h)["sessions"] == 0)
    }
}

// MARK: - Catch-up equals rebuild

private let outputNow = hbTime("2026-01-01T00:00:00Z")

/// Every projection's JSON as the CLI builds it (audit figures for two periods and two hub/region
/// filters, the referral pipeline with its KPIs, the safeguarding review, and a few chronologies).
private func hbOutputs(_ log: EventLog, useCheckpoint: Bool) throws -> [String: String] {
    let runner = ProjectionRunner(log: log)
    var out: [String: String] = [:]
    let audit = try runner.run(AuditProjection.self, useCheckpoint: useCheckpoint)
    for (label, period) in [("all", AuditPeriod()), ("spring", AuditPeriod(from: hbTime("2025-03-01T00:00:00Z"), to: hbTime("2025-05-31T23:59:59Z")))] {
        let figures = try audit.figures(runner, period: period)
        out["audit-" + label] = JSONValue.object(["head": HeadJSON.value(audit.head),
                                                  "metrics": .object(JSONObject(figures.map { (key: $0.name, value: $0.json) }))]).jsonText
    }
    for (label, filter) in [("london", AuditFilter(regions: [.london])), ("woking+gm", AuditFilter(hubs: ["woking"], regions: [.greaterManchester]))] {
        let figures = try audit.figures(runner, filter: filter)
        out["audit-" + label] = JSONValue.object(JSONObject(figures.map { (key: $0.name, value: $0.json) })).jsonText
    }
    let referrals = try runner.run(ReferralProjection.self, useCheckpoint: useCheckpoint)
    let all = try referrals.model.pipeline(now: outputNow, reading: runner.streamReader)
    var bySource: [String: Int] = [:], byStatus: [String: Int] = [:]
    for r in all { bySource[r.source.rawValue, default: 0] += 1; byStatus[r.status.rawValue, default: 0] += 1 }
    func table(_ t: [String: Int]) -> JSONValue { .object(JSONObject(t.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int(Int64($0.value))) })) }
    out["referrals"] = JSONValue.object([
        "head": HeadJSON.value(referrals.head), "now": .string(outputNow.rfc3339), "referrals": .array(all.map(\.json)),
        "kpis": ["bySource": table(bySource), "byStatus": table(byStatus),
                 "medianDaysToFirstContact": median(all.compactMap(\.daysToFirstContact)).map { .double($0) } ?? .null,
                 "medianDaysToAcceptance": median(all.compactMap(\.daysToAcceptance)).map { .double($0) } ?? .null,
                 "medianDaysToFirstAttendance": median(all.compactMap(\.daysToFirstAttendance)).map { .double($0) } ?? .null],
    ]).jsonText
    let review = try runner.run(ReviewProjection.self, useCheckpoint: useCheckpoint)
    out["review"] = try review.model.review(now: outputNow, reading: runner.streamReader).json(head: review.head).jsonText
    let chronology = try runner.run(ChronologyProjection.self, useCheckpoint: useCheckpoint)
    var people = ["P-0001", "P-0002", "P-0077", "P-0150", "P-0299"]
    people += try review.model.review(now: outputNow, reading: runner.streamReader).openConcerns.map(\.participant)
    people += all.prefix(3).map(\.participant)
    people += try review.model.review(now: outputNow, reading: runner.streamReader).activeFlags.prefix(4).map(\.participant)
    for p in people {
        let entries = try chronology.model.chronology(of: p) { try log.events(inStreamsEndingAt: $0) }
        out["history-" + p] = JSONValue.object(["participant": .string(p), "head": HeadJSON.value(chronology.head),
                                                "flags": .array(FlagSummary.active(in: entries).map(\.json)),
                                                "entries": .array(entries.map(\.json))]).jsonText
    }
    return out
}

private func withDemoLog<T>(participants: Int, _ body: (EventLog, Recorder, [EventDraft]) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "hubledger-catchup-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let log = try EventLog.create(at: dir)
    let recorder = Recorder(log: log, actor: "demo", clock: { hbTime("2030-01-01T00:00:00Z") })
    return try body(log, recorder, Demo(participants: participants).drafts())
}

/// A rebuild makes its events straight from the stored bytes (`DomainEvent(RecordView)`); they must be
/// exactly what decoding each record whole gives, for every kind of event, and nil for the same ones.
@Test func eventsReadInPlaceEqualEventsDecodedWhole() throws {
    try withDemoLog(participants: 300) { log, recorder, drafts in
        _ = try recorder.submit(drafts)
        try log.append([AccessRecords.grantEvent("ana", .auditor, scope: Scope(hubs: ["hackney"], regions: ["surrey"]), by: "admin")], to: "access")
        try log.append([ProposedEvent(stream: AccessRecords.viewsStream(of: "P-0001"), type: AccessRecords.viewed, occurredAt: .now,
                                      actor: "ana", data: AccessRecords.view(participant: "P-0001", viewer: "ana", purpose: "a review"),
                                      sealedFields: ["purpose"])], to: AccessRecords.viewsStream(of: "P-0001"))
        try log.append([ProposedEvent(stream: "alerts", type: AlertRecord.type, occurredAt: .now, actor: "daemon",
                                      data: ["kind": "referral-waiting", "level": "warning", "referral": "R-0001", "nested": ["a": [1, 2, ["b": .null]]]])],
                       to: "alerts")
        var inPlace: [DomainEvent?] = [], confirmed = 0, batches = 0
        try log.forEachRecord({ view in inPlace.append(DomainEvent(view)); return true }, batchEnded: { confirmed = inPlace.count; batches += 1; return true })
        let whole = try log.events()
        #expect(inPlace.count == whole.count && confirmed == whole.count && batches > 1)
        var kinds = Set<String>(), skipped = 0
        for (view, record) in zip(inPlace, whole) {
            let decoded = DomainEvent(record)
            #expect((view == nil) == (decoded == nil), "\(record.type) at \(record.position)")
            guard let view, let decoded else { skipped += 1; continue }
            kinds.insert(record.type)
            #expect(view.event == decoded.event, "\(record.type) at \(record.position)")
            #expect(view.id == decoded.id && view.position == decoded.position && view.occurredAt == decoded.occurredAt
                    && view.recordedAt == decoded.recordedAt && view.stream == decoded.stream
                    && view.streamVersion == decoded.streamVersion && view.actor == decoded.actor)
        }
        #expect(skipped == 1, "only the view is not folded")
        #expect(kinds.isSuperset(of: ["ParticipantRegistered", "AttendanceRecorded", "SurveyCompleted", "ConsentGiven", "SessionHeld",
                                      "ReferralReceived", "ConcernRaised", "EventRetracted", "AccessGranted", AlertRecord.type]), "\(kinds.sorted())")
    }
}

@Test func catchUpFromCheckpointsEqualsARebuildByteForByte() throws {
    try withDemoLog(participants: 300) { log, recorder, drafts in
        let third = drafts.count / 3
        _ = try recorder.submit(Array(drafts[..<third]))
        // Every tenth person registered so far moves to Hackney, so filtered audits place some referrals,
        // signposts and concerns by a move; one move is retracted after the first checkpoint.
        let movers = drafts[..<third].filter { $0.type == "ParticipantRegistered" }.compactMap { $0.data["participant"]?.stringValue }
            .enumerated().filter { $0.offset % 10 == 0 }.map(\.element)
        let moves = movers.enumerated().map { i, p in
            hbMoved(p, "2025-03-01T09:00:00Z", hub: "hackney", region: "london", id: hbID(7000 + i))
        }
        try #require(moves.count >= 3)
        _ = try recorder.submit(moves)
        let early = try hbOutputs(log, useCheckpoint: true)  // saves checkpoints a third of the way
        _ = try recorder.submit([hbRetracted(hbID(7001), "2025-03-02T09:00:00Z", reason: "Moved in error")])
        _ = try recorder.submit(Array(drafts[third..<(2 * third)]))
        _ = try hbOutputs(log, useCheckpoint: true)  // catches up, saves again
        _ = try recorder.submit(Array(drafts[(2 * third)...]))
        let head = try #require(try log.head())
        let caughtUp = try hbOutputs(log, useCheckpoint: true)
        for name in ChronologyProjectionNames.all {
            #expect(log.loadCheckpoint(named: name)?.head == head, "checkpoint \(name) was not moved to the head")
        }
        let rebuilt = try hbOutputs(log, useCheckpoint: false)
        #expect(caughtUp.keys.sorted() == rebuilt.keys.sorted())
        for key in rebuilt.keys.sorted() {
            #expect(caughtUp[key] == rebuilt[key], "\(key) differs between catch-up and rebuild")
        }
        // And reading again from the saved checkpoints (nothing new to fold) is the same too.
        #expect(try hbOutputs(log, useCheckpoint: true) == rebuilt)
        // The demo is big enough to matter: 240 sessions and referrals still waiting, accepted referrals,
        // flags active (some overdue for review, some renewed) and one raise retracted.
        #expect(rebuilt["audit-all"]?.contains(#""sessions":{"value":240"#) == true)
        #expect(rebuilt["audit-london"]?.contains(#""sessions":{"value":80"#) == true)
        #expect(rebuilt["audit-london"] != rebuilt["audit-all"] && rebuilt["audit-woking+gm"] != rebuilt["audit-london"])
        #expect(rebuilt["referrals"]?.contains(#""acceptedAt""#) == true)
        #expect(rebuilt["review"]?.contains(#""reviewOverdue":true"#) == true)
        #expect(rebuilt.contains { $0.key.hasPrefix("history-") && $0.value.contains(#""renewedAt""#) })
        #expect(drafts.contains { $0.type == "EventRetracted" && $0.data["reason"]?.stringValue?.contains("Flag") == true })
        #expect(early != rebuilt)
    }
}

/// The checkpoint names of the four read models.
private enum ChronologyProjectionNames {
    static let all = [ChronologyProjection.name, ReviewProjection.name, ReferralProjection.name, AuditProjection.name]
}

/// A checkpoint whose state is an empty model: trusted, it would drop every event before its position.
private func bogusCheckpoint<P: Projection>(_ type: P.Type, at position: LogPosition) -> Checkpoint {
    Checkpoint(head: LogHead(position: position, hash: ChainHash(bytes: [UInt8](repeating: 0xAB, count: 32))),
               state: ProjectionRunner.checkpointState(of: P()))
}

private func saveBogusCheckpoints(_ log: EventLog, at position: LogPosition) throws {
    try log.saveCheckpoint(bogusCheckpoint(ChronologyProjection.self, at: position), named: ChronologyProjection.name)
    try log.saveCheckpoint(bogusCheckpoint(ReviewProjection.self, at: position), named: ReviewProjection.name)
    try log.saveCheckpoint(bogusCheckpoint(ReferralProjection.self, at: position), named: ReferralProjection.name)
    try log.saveCheckpoint(bogusCheckpoint(AuditProjection.self, at: position), named: AuditProjection.name)
}

@Test func aCheckpointWhoseHashNoLongerMatchesIsNotTrusted() throws {
    try withDemoLog(participants: 60) { log, recorder, drafts in
        _ = try recorder.submit(drafts)
        let head = try #require(try log.head())
        try saveBogusCheckpoints(log, at: head.position / 2)
        let resumed = try hbOutputs(log, useCheckpoint: true)
        let rebuilt = try hbOutputs(log, useCheckpoint: false)
        #expect(resumed == rebuilt)
        // The run replaced the bad checkpoints with good ones at the head.
        for name in ChronologyProjectionNames.all { #expect(log.loadCheckpoint(named: name)?.head == head, "\(name)") }
    }
}

@Test func aMismatchedCheckpointAtTheHeadIsDiscardedAndReplaced() throws {
    try withDemoLog(participants: 60) { log, recorder, drafts in
        _ = try recorder.submit(drafts)
        let head = try #require(try log.head())
        // A checkpoint at the head's position but from another history (say, a restored older copy of the store).
        try saveBogusCheckpoints(log, at: head.position)
        let resumed = try hbOutputs(log, useCheckpoint: true)
        #expect(resumed == (try hbOutputs(log, useCheckpoint: false)))
        // "Discarded, never trusted": after a run the store must hold a checkpoint that matches the log,
        // or every later run folds the whole log again.
        for name in ChronologyProjectionNames.all {
            #expect(log.loadCheckpoint(named: name)?.head == head, "\(name): the mismatched checkpoint was kept")
        }
    }
}

@Test func aCheckpointBeyondTheEndOfTheLogIsNotTrusted() throws {
    try withDemoLog(participants: 30) { log, recorder, drafts in
        _ = try recorder.submit(drafts)
        let head = try #require(try log.head())
        try saveBogusCheckpoints(log, at: head.position + 1000)
        let resumed = try hbOutputs(log, useCheckpoint: true)
        #expect(resumed == (try hbOutputs(log, useCheckpoint: false)))
        #expect(resumed["audit-all"]?.contains(#""sessions":{"value":240"#) == true)
        // New events appended later must be reflected, and a usable checkpoint saved.
        _ = try recorder.submit([hbDraft(.sessionHeld, "2025-12-01T10:00:00Z",
                                    ["session": "S-EXTRA", "hub": "woking", "region": "surrey", "programme": "extra", "week": 1])])
        let after = try hbOutputs(log, useCheckpoint: true)
        #expect(after["audit-all"]?.contains(#""sessions":{"value":241"#) == true)
        let newHead = try #require(try log.head())
        for name in ChronologyProjectionNames.all {
            #expect(log.loadCheckpoint(named: name)?.head == newHead, "\(name): the checkpoint beyond the log was kept")
        }
    }
}
