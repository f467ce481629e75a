import EventStore
import Foundation
import HubDomain
import Testing

// Every rule of the domain issue, refused and accepted, through `Recorder.submit`
// on a real store in a temporary directory. Only synthetic people.

// MARK: - Fixture

/// The recorder's clock: "now" for the more-than-a-day-in-the-future rule.
private let rulesNow = Timestamp(rfc3339: "2025-06-01T12:00:00Z")!

/// Ids of baseline events the refusal and acceptance cases refer to.
private let attendanceA1 = UUID(uuidString: "a0000000-0000-4000-8000-000000000001")!
private let signpostSG1 = UUID(uuidString: "a0000000-0000-4000-8000-000000000002")!
private let retractionRT1 = UUID(uuidString: "a0000000-0000-4000-8000-000000000003")!

private let rulesFile = "rules.jsonl"
private let caseLine = 7

private func rulesDraft(_ type: String, _ data: JSONObject, at occurredAt: String = "2025-05-20T10:00:00Z",
                        id: UUID? = nil, line: Int = caseLine) -> EventDraft {
    EventDraft(type: type, occurredAt: occurredAt, data: data, id: id, file: rulesFile, line: line)
}

/// A small hub: an adult and a child, two sessions, one attendance, a referral, a concern,
/// and a signpost that was retracted.
private func rulesBaseline() -> [EventDraft] {
    var line = 0
    func d(_ type: String, _ at: String, _ data: JSONObject, id: UUID? = nil) -> EventDraft {
        line += 1
        return EventDraft(type: type, occurredAt: at, data: data, id: id, file: "baseline.jsonl", line: line)
    }
    return [
        d("ParticipantRegistered", "2025-05-01T09:00:00Z", ["participant": "P-A", "generation": "adult", "hub": "woking", "region": "surrey"]),
        d("ParticipantRegistered", "2025-05-01T09:05:00Z", ["participant": "P-C", "generation": "child", "birthYear": 2016, "hub": "woking", "region": "surrey"]),
        d("SessionHeld", "2025-05-05T10:00:00Z", ["session": "S-1", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 1, "funder": "tnlcf"]),
        d("SessionHeld", "2025-05-12T10:00:00Z", ["session": "S-2", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 2]),
        d("AttendanceRecorded", "2025-05-05T10:05:00Z", ["participant": "P-A", "session": "S-1"], id: attendanceA1),
        d("ReferralReceived", "2025-05-02T09:00:00Z", ["referral": "R-1", "participant": "P-A", "source": "gp", "referrer": "Synthetic GP",
                                                       "reason": "Isolation (synthetic)", "urgent": false]),
        d("ConcernRaised", "2025-05-05T12:00:00Z", ["concern": "C-1", "participant": "P-C", "category": "neglect", "severity": "medium",
                                                    "account": "Synthetic account.", "actionTaken": "Told the DSL.", "dslInformed": true]),
        d("SignpostGiven", "2025-05-05T12:30:00Z", ["participant": "P-A", "service": "Synthetic advice centre", "category": "financial"], id: signpostSG1),
        d("EventRetracted", "2025-05-06T09:00:00Z", ["event": .string(signpostSG1.uuidString.lowercased()), "reason": "Entered against the wrong person"],
          id: retractionRT1),
    ]
}

/// Runs `body` against a fresh store holding the baseline, then removes the store.
private func withRulesStore<T>(baseline: Bool = true, _ body: (EventLog, Recorder) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "hubledger-rules-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let log = try EventLog.create(at: dir)
    let recorder = Recorder(log: log, actor: "rules-test", clock: { rulesNow })
    if baseline { _ = try recorder.submit(rulesBaseline()) }
    return try body(log, recorder)
}

/// The problems of a refused submission; records an issue when it was not refused.
private func rulesRefusal(_ drafts: [EventDraft], _ recorder: Recorder, dryRun: Bool = false,
                     sourceLocation: SourceLocation = #_sourceLocation) -> [InputProblem] {
    do {
        let outcome = try recorder.submit(drafts, dryRun: dryRun)
        Issue.record("expected DomainError.rejected, but it was accepted (\(outcome.appended.count) appended)", sourceLocation: sourceLocation)
        return []
    } catch DomainError.rejected(let problems) {
        return problems
    } catch {
        Issue.record("expected DomainError.rejected, got \(error)", sourceLocation: sourceLocation)
        return []
    }
}

private func rulesEvents(_ log: EventLog) throws -> [RecordedEvent] { try log.events() }

// MARK: - Refusals

struct RulesRefusalCase: Sendable, CustomTestStringConvertible {
    var label: String
    var type: String
    var data: JSONObject
    var occurredAt = "2025-05-20T10:00:00Z"
    /// The field the problem must name.
    var field: String

    var testDescription: String { label }
}

private let rulesParticipant: JSONObject = ["participant": "P-N", "generation": "adult", "hub": "woking", "region": "surrey"]
private let rulesSession: JSONObject = ["session": "S-9", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 3]
private let rulesReferral: JSONObject = ["referral": "R-9", "participant": "P-A", "source": "gp", "referrer": "Synthetic GP",
                                     "reason": "Low mood (synthetic)", "urgent": true]
private let rulesConcern: JSONObject = ["concern": "C-9", "participant": "P-A", "category": "financial", "severity": "high",
                                    "account": "Synthetic account.", "actionTaken": "Told the DSL.", "dslInformed": true]

private func withField(_ object: JSONObject, _ key: String, _ value: JSONValue?) -> JSONObject {
    var o = object
    o[key] = value
    return o
}

private let rulesRefusalCases: [RulesRefusalCase] = [
    // A missing field.
    .init(label: "missing generation", type: "ParticipantRegistered", data: withField(rulesParticipant, "generation", nil), field: "generation"),
    .init(label: "missing urgent", type: "ReferralReceived", data: withField(rulesReferral, "urgent", nil), field: "urgent"),
    .init(label: "missing session of an attendance", type: "AttendanceRecorded", data: ["participant": "P-A"], field: "session"),
    .init(label: "missing reason of a retraction", type: "EventRetracted", data: ["event": .string(attendanceA1.uuidString)], field: "reason"),
    .init(label: "null required field", type: "ConcernRaised", data: withField(rulesConcern, "dslInformed", .null), field: "dslInformed"),
    // An unknown field.
    .init(label: "unknown field room", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2", "room": "hall"], field: "room"),
    .init(label: "unknown field name on a registration", type: "ParticipantRegistered", data: withField(rulesParticipant, "nickname", "Synthetic Name"), field: "nickname"),
    // A wrong type.
    .init(label: "happier as a string", type: "SurveyCompleted",
          data: ["participant": "P-A", "session": "S-1", "happier": "yes", "moreConnected": true], field: "happier"),
    .init(label: "week as a string", type: "SessionHeld", data: withField(rulesSession, "week", "3"), field: "week"),
    .init(label: "week as a fraction", type: "SessionHeld", data: withField(rulesSession, "week", 2.5), field: "week"),
    .init(label: "urgent as a number", type: "ReferralReceived", data: withField(rulesReferral, "urgent", 1), field: "urgent"),
    .init(label: "participant as a number", type: "AttendanceRecorded", data: ["participant": 42, "session": "S-2"], field: "participant"),
    .init(label: "hub as an object", type: "ParticipantRegistered", data: withField(rulesParticipant, "hub", ["name": "woking"]), field: "hub"),
    .init(label: "empty hub", type: "ParticipantRegistered", data: withField(rulesParticipant, "hub", "  "), field: "hub"),
    .init(label: "week out of range", type: "SessionHeld", data: withField(rulesSession, "week", 11), field: "week"),
    .init(label: "malformed participant id", type: "ParticipantRegistered", data: withField(rulesParticipant, "participant", "P 1"), field: "participant"),
    .init(label: "retraction of something that is not an event id", type: "EventRetracted",
          data: ["event": "P-A", "reason": "Wrong"], field: "event"),
    // A wrong enum value.
    .init(label: "generation teenager", type: "ParticipantRegistered", data: withField(rulesParticipant, "generation", "teenager"), field: "generation"),
    .init(label: "region wales", type: "ParticipantRegistered", data: withField(rulesParticipant, "region", "wales"), field: "region"),
    .init(label: "consent scope marketing", type: "ConsentGiven",
          data: ["participant": "P-A", "scope": "marketing", "givenBy": "self"], field: "scope"),
    .init(label: "consent given by a teacher", type: "ConsentGiven",
          data: ["participant": "P-C", "scope": "participation", "givenBy": "teacher"], field: "givenBy"),
    .init(label: "withdrawal scope photos", type: "ConsentWithdrawn", data: ["participant": "P-A", "scope": "photos"], field: "scope"),
    .init(label: "signpost category legal", type: "SignpostGiven",
          data: ["participant": "P-A", "service": "Synthetic law centre", "category": "legal"], field: "category"),
    .init(label: "referral source teacher", type: "ReferralReceived", data: withField(rulesReferral, "source", "teacher"), field: "source"),
    .init(label: "contact channel sms", type: "ReferralContacted", data: ["referral": "R-1", "channel": "sms"], field: "channel"),
    .init(label: "closure reason finished", type: "ReferralClosed", data: ["referral": "R-1", "reason": "finished"], field: "reason"),
    .init(label: "concern category bullying", type: "ConcernRaised", data: withField(rulesConcern, "category", "bullying"), field: "category"),
    .init(label: "concern severity urgent", type: "ConcernRaised", data: withField(rulesConcern, "severity", "urgent"), field: "severity"),
    .init(label: "escalation to mash", type: "ConcernEscalated", data: ["concern": "C-1", "to": "mash"], field: "to"),
    .init(label: "enum value in the wrong case", type: "ParticipantRegistered", data: withField(rulesParticipant, "generation", "Adult"), field: "generation"),
    // An unknown event type.
    .init(label: "unknown type", type: "ParticipantDeleted", data: ["participant": "P-A"], field: "type"),
    // A malformed or impossible date, or one more than a day in the future.
    .init(label: "date in words", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"], occurredAt: "yesterday", field: "occurredAt"),
    .init(label: "month 13", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-13-01T10:00:00Z", field: "occurredAt"),
    .init(label: "no time zone", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-05-12T10:00:00", field: "occurredAt"),
    .init(label: "date without a time", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-05-12", field: "occurredAt"),
    // An attendance or survey more than 12 hours before its session was held (S-2: 2025-05-12T10:00Z), found by acceptance testing.
    .init(label: "attendance 12 hours and a second before its session", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-05-11T21:59:59Z", field: "occurredAt"),
    .init(label: "survey a week before its session", type: "SurveyCompleted",
          data: ["participant": "P-A", "session": "S-1", "happier": true, "moreConnected": true], occurredAt: "2025-04-28T10:00:00Z", field: "occurredAt"),
    .init(label: "hour 24", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-05-12T24:00:00Z", field: "occurredAt"),
    .init(label: "impossible 2024-02-30", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2024-02-30T10:00:00Z", field: "occurredAt"),
    .init(label: "impossible 2023-02-29 (not a leap year)", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2023-02-29T10:00:00Z", field: "occurredAt"),
    .init(label: "impossible 2025-04-31", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-04-31T10:00:00Z", field: "occurredAt"),
    .init(label: "one second more than a day ahead", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-06-02T12:00:01Z", field: "occurredAt"),
    .init(label: "a month ahead", type: "ParticipantRegistered", data: rulesParticipant, occurredAt: "2025-07-01T09:00:00Z", field: "occurredAt"),
    .init(label: "more than a day ahead through an offset", type: "ParticipantRegistered", data: rulesParticipant,
          occurredAt: "2025-06-02T13:00:00+00:30", field: "occurredAt"),
    // A reference to something that does not exist.
    .init(label: "unknown participant", type: "AttendanceRecorded", data: ["participant": "P-Z", "session": "S-1"], field: "participant"),
    .init(label: "consent for an unknown participant", type: "ConsentGiven",
          data: ["participant": "P-Z", "scope": "participation", "givenBy": "self"], field: "participant"),
    .init(label: "referral for an unknown participant", type: "ReferralReceived", data: withField(rulesReferral, "participant", "P-Z"), field: "participant"),
    .init(label: "concern about an unknown participant", type: "ConcernRaised", data: withField(rulesConcern, "participant", "P-Z"), field: "participant"),
    .init(label: "unknown session", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-9"], field: "session"),
    .init(label: "survey for an unknown session", type: "SurveyCompleted",
          data: ["participant": "P-A", "session": "S-9", "happier": true, "moreConnected": true], field: "session"),
    .init(label: "unknown referral contacted", type: "ReferralContacted", data: ["referral": "R-9", "channel": "phone"], field: "referral"),
    .init(label: "unknown referral declined", type: "ReferralDeclined", data: ["referral": "R-9", "reason": "Chose another service"], field: "referral"),
    .init(label: "unknown referral closed", type: "ReferralClosed", data: ["referral": "R-9", "reason": "completed"], field: "referral"),
    .init(label: "unknown concern escalated", type: "ConcernEscalated", data: ["concern": "C-9", "to": "police"], field: "concern"),
    .init(label: "unknown concern closed", type: "ConcernClosed", data: ["concern": "C-9", "outcome": "Resolved"], field: "concern"),
    .init(label: "unknown event retracted", type: "EventRetracted",
          data: ["event": "0f0f0f0f-0000-4000-8000-000000000000", "reason": "Wrong"], field: "event"),
    // A second creation for the same id.
    .init(label: "second ParticipantRegistered", type: "ParticipantRegistered", data: withField(rulesParticipant, "participant", "P-A"), field: "participant"),
    .init(label: "second ReferralReceived", type: "ReferralReceived", data: withField(rulesReferral, "referral", "R-1"), field: "referral"),
    .init(label: "second SessionHeld", type: "SessionHeld", data: withField(rulesSession, "session", "S-1"), field: "session"),
    .init(label: "second ConcernRaised", type: "ConcernRaised", data: withField(rulesConcern, "concern", "C-1"), field: "concern"),
    // A survey for a session the participant did not attend.
    .init(label: "survey for a session not attended", type: "SurveyCompleted",
          data: ["participant": "P-A", "session": "S-2", "happier": true, "moreConnected": false], field: "session"),
    .init(label: "survey by someone who did not attend", type: "SurveyCompleted",
          data: ["participant": "P-C", "session": "S-1", "happier": true, "moreConnected": false], field: "session"),
    // A later step of a referral or concern dated before it began (its days would be negative).
    .init(label: "referral contacted before it was received", type: "ReferralContacted",
          data: ["referral": "R-1", "channel": "phone"], occurredAt: "2025-05-01T09:00:00Z", field: "occurredAt"),
    .init(label: "referral accepted before it was received", type: "ReferralAccepted",
          data: ["referral": "R-1"], occurredAt: "2025-05-02T08:59:59Z", field: "occurredAt"),
    .init(label: "concern escalated before it was raised", type: "ConcernEscalated",
          data: ["concern": "C-1", "to": "police"], occurredAt: "2025-05-05T11:00:00Z", field: "occurredAt"),
    // A hub's name is how grants and filters find it: another spelling of a hub in the log is a second hub.
    .init(label: "a hub with a space after it", type: "ParticipantRegistered", data: withField(rulesParticipant, "hub", "woking "), field: "hub"),
    .init(label: "a hub differing only in case", type: "SessionHeld", data: withField(rulesSession, "hub", "Woking"), field: "hub"),
    .init(label: "a hub with a soft hyphen", type: "ParticipantMoved", data: ["participant": "P-A", "hub": "wo\u{AD}king", "region": "surrey"], field: "hub"),
    // Sessions without a funder are counted under "none": a funder of that name would be counted with them.
    .init(label: "a funder named none", type: "SessionHeld", data: withField(rulesSession, "funder", "None"), field: "funder"),
    .init(label: "a funder with a space before it", type: "SessionHeld", data: withField(rulesSession, "funder", " council"), field: "funder"),
    .init(label: "a birth year in the future", type: "ParticipantRegistered", data: withField(rulesParticipant, "birthYear", 2026), field: "birthYear"),
    .init(label: "a date before 1900 (a typo in the year)", type: "SignpostGiven",
          data: ["participant": "P-A", "service": "Synthetic advice centre", "category": "financial"], occurredAt: "0025-05-20T10:00:00Z", field: "occurredAt"),
    .init(label: "week as a decimal number", type: "SessionHeld", data: withField(rulesSession, "week", 3.0), field: "week"),
    // Retracting twice, and retracting a retraction.
    .init(label: "retracting an event twice", type: "EventRetracted",
          data: ["event": .string(signpostSG1.uuidString.lowercased()), "reason": "Again"], field: "event"),
    .init(label: "retracting twice with the id in capitals", type: "EventRetracted",
          data: ["event": .string(signpostSG1.uuidString.uppercased()), "reason": "Again"], field: "event"),
    .init(label: "retracting a retraction", type: "EventRetracted",
          data: ["event": .string(retractionRT1.uuidString.lowercased()), "reason": "Undo"], field: "event"),
]

@Test(arguments: rulesRefusalCases)
func everyRuleRefusesNamingLineAndFieldAndWritesNothing(_ c: RulesRefusalCase) throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let problems = rulesRefusal([rulesDraft(c.type, c.data, at: c.occurredAt)], recorder)
        #expect(!problems.isEmpty)
        #expect(problems.contains { $0.field == c.field }, "no problem names field \(c.field): \(problems)")
        #expect(problems.allSatisfy { $0.file == rulesFile && $0.line == caseLine }, "\(problems)")
        #expect(problems.allSatisfy { !$0.reason.isEmpty })
        #expect(try log.head() == before)
        // The error a person reads names where and what.
        let text = DomainError.rejected(problems).description
        #expect(text.contains("\(rulesFile):\(caseLine)"))
        #expect(text.contains(c.field))
    }
}

@Test(arguments: rulesRefusalCases.prefix(6))
func aRefusedDryRunIsRefusedToo(_ c: RulesRefusalCase) throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let problems = rulesRefusal([rulesDraft(c.type, c.data, at: c.occurredAt)], recorder, dryRun: true)
        #expect(problems.contains { $0.field == c.field })
        #expect(try log.head() == before)
    }
}

@Test func oneBadDraftInABatchKeepsTheGoodOnesOutToo() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let drafts = [
            rulesDraft("ParticipantRegistered", rulesParticipant, line: 1),
            rulesDraft("AttendanceRecorded", ["participant": "P-N", "session": "S-2"], line: 2),
            rulesDraft("AttendanceRecorded", ["participant": "P-Z", "session": "S-2"], line: 3),
        ]
        let problems = rulesRefusal(drafts, recorder)
        #expect(problems.map(\.line) == [3])
        #expect(try log.head() == before)
        #expect(try rulesEvents(log).count == rulesBaseline().count)
    }
}

// MARK: - Acceptances

struct RulesAcceptanceCase: Sendable, CustomTestStringConvertible {
    var label: String
    var type: String
    var data: JSONObject
    var occurredAt = "2025-05-20T10:00:00Z"
    var stream: String

    var testDescription: String { label }
}

private let rulesAcceptanceCases: [RulesAcceptanceCase] = [
    .init(label: "a registration with every field", type: "ParticipantRegistered", data: withField(rulesParticipant, "birthYear", 1990), stream: "participant-P-N"),
    .init(label: "a registration without birthYear", type: "ParticipantRegistered",
          data: ["participant": "P-N", "generation": "older-adult", "hub": "salford", "region": "greater-manchester"], stream: "participant-P-N"),
    .init(label: "a young person's registration", type: "ParticipantRegistered",
          data: ["participant": "P-N", "generation": "young-person", "hub": "hackney", "region": "london"], stream: "participant-P-N"),
    .init(label: "consent from a parent", type: "ConsentGiven",
          data: ["participant": "P-C", "scope": "participation", "givenBy": "parent-or-guardian"], stream: "participant-P-C"),
    .init(label: "own consent with a competence note", type: "ConsentGiven",
          data: ["participant": "P-C", "scope": "data-sharing", "givenBy": "self", "competenceNote": "Judged able to decide (synthetic)."],
          stream: "participant-P-C"),
    .init(label: "consent withdrawn", type: "ConsentWithdrawn", data: ["participant": "P-A", "scope": "photography"], stream: "participant-P-A"),
    .init(label: "an attendance", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"], stream: "participant-P-A"),
    .init(label: "a child's attendance without consent (flagged, not refused)", type: "AttendanceRecorded",
          data: ["participant": "P-C", "session": "S-1"], stream: "participant-P-C"),
    .init(label: "a survey without surveys consent (flagged, not refused)", type: "SurveyCompleted",
          data: ["participant": "P-A", "session": "S-1", "happier": true, "moreConnected": false], stream: "participant-P-A"),
    .init(label: "a move to another hub", type: "ParticipantMoved", data: ["participant": "P-A", "hub": "salford", "region": "greater-manchester"],
          stream: "participant-P-A"),
    .init(label: "a signpost", type: "SignpostGiven",
          data: ["participant": "P-A", "service": "Synthetic housing advice", "category": "housing"], stream: "participant-P-A"),
    .init(label: "a referral", type: "ReferralReceived", data: rulesReferral, stream: "referral-R-9"),
    .init(label: "a referral contacted", type: "ReferralContacted", data: ["referral": "R-1", "channel": "in-person"], stream: "referral-R-1"),
    .init(label: "a referral declined", type: "ReferralDeclined", data: ["referral": "R-1", "reason": "Chose another service"], stream: "referral-R-1"),
    .init(label: "a referral closed", type: "ReferralClosed", data: ["referral": "R-1", "reason": "no-contact"], stream: "referral-R-1"),
    .init(label: "a session without a funder", type: "SessionHeld", data: rulesSession, stream: "session-S-9"),
    .init(label: "a session in week 10 with a funder", type: "SessionHeld", data: withField(withField(rulesSession, "week", 10), "funder", "council"), stream: "session-S-9"),
    .init(label: "a concern", type: "ConcernRaised", data: rulesConcern, stream: "concern-C-9"),
    .init(label: "an escalation with a reference", type: "ConcernEscalated", data: ["concern": "C-1", "to": "lado", "reference": "LADO-123"],
          stream: "concern-C-1"),
    .init(label: "an escalation without a reference", type: "ConcernEscalated", data: ["concern": "C-1", "to": "childrens-services"], stream: "concern-C-1"),
    .init(label: "a concern closed", type: "ConcernClosed", data: ["concern": "C-1", "outcome": "Support in place (synthetic)."], stream: "concern-C-1"),
    .init(label: "a retraction goes to the retracted event's stream", type: "EventRetracted",
          data: ["event": .string(attendanceA1.uuidString.lowercased()), "reason": "Marked present in error"], stream: "participant-P-A"),
    .init(label: "exactly one day ahead", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-06-02T12:00:00Z", stream: "participant-P-A"),
    .init(label: "a leap day", type: "SessionHeld", data: rulesSession, occurredAt: "2024-02-29T10:00:00Z", stream: "session-S-9"),
    .init(label: "an early arrival, before the session's recorded start", type: "AttendanceRecorded",
          data: ["participant": "P-A", "session": "S-2"], occurredAt: "2025-05-12T09:30:00Z", stream: "participant-P-A"),
    .init(label: "12 hours before the session, whatever day that is in UTC", type: "AttendanceRecorded",
          data: ["participant": "P-A", "session": "S-2"], occurredAt: "2025-05-12T00:00:00+02:00", stream: "participant-P-A"),
    .init(label: "a time with an offset and fractions", type: "AttendanceRecorded", data: ["participant": "P-A", "session": "S-2"],
          occurredAt: "2025-05-12T11:05:00.250+01:00", stream: "participant-P-A"),
]

@Test(arguments: rulesAcceptanceCases)
func everyValidEventIsAccepted(_ c: RulesAcceptanceCase) throws {
    try withRulesStore { log, recorder in
        let before = try #require(try log.head())
        let outcome = try recorder.submit([rulesDraft(c.type, c.data, at: c.occurredAt)])
        #expect(outcome.appended.count == 1)
        #expect(outcome.alreadyPresent == 0)
        let head = try #require(try log.head())
        #expect(head.position == before.position + 1)
        let stored = try #require(try log.event(at: head.position))
        #expect(stored.type == c.type)
        #expect(stored.stream.name == c.stream)
        #expect(stored.actor == "rules-test")
        #expect(stored.occurredAt == Timestamp(rfc3339: c.occurredAt))
        #expect(stored.id == outcome.appended[0].id)
        let sensitive = Set(SensitiveText.fields(of: try #require(EventType(rawValue: c.type))))
        let values = try log.sealedValues(of: [stored])
        for (key, value) in c.data where key != "event" {
            if sensitive.contains(key) {
                // Sensitive text is sealed: a digest in the log, the value in the vault.
                #expect(stored.data[key]?.sealedDigest != nil, "field \(key)")
                #expect(values.value(of: key, in: stored) == .text(value.stringValue ?? ""), "field \(key)")
            } else {
                #expect(stored.data[key] == value, "field \(key)")
            }
        }
    }
}

@Test func aRetractionStoresTheTargetIdInLowerCase() throws {
    try withRulesStore { log, recorder in
        let outcome = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(attendanceA1.uuidString.uppercased()), "reason": "Wrong person"])])
        let appended = try #require(outcome.appended.first)
        let stored = try #require(try log.event(at: appended.position))
        #expect(stored.data["event"] == .string(attendanceA1.uuidString.lowercased()))
        #expect(stored.stream.name == "participant-P-A")
    }
}

@Test func aDryRunChecksButWritesNothing() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let outcome = try recorder.submit([rulesDraft("ParticipantRegistered", rulesParticipant)], dryRun: true)
        #expect(outcome.appended.isEmpty)
        #expect(try log.head() == before)
    }
}

@Test func theFirstEventOfAnEmptyLogIsAccepted() throws {
    try withRulesStore(baseline: false) { log, recorder in
        #expect(try log.head() == nil)
        let outcome = try recorder.submit([rulesDraft("ParticipantRegistered", rulesParticipant)])
        #expect(outcome.appended.map(\.position) == [0])
        #expect(try log.head()?.position == 0)
    }
}

// MARK: - Imports

@Test func anImportWithErrorsOnSeveralLinesReportsThemAll() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let lines = [
            #"{"type":"ParticipantRegistered","occurredAt":"2025-05-20T09:00:00Z","data":{"participant":"P-N","generation":"adult","hub":"woking","region":"surrey"}}"#,
            #"{"type":"AttendanceRecorded","occurredAt":"2025-05-20T10:00:00Z","data":{"participant":"P-Z","session":"S-1"}}"#,
            "",
            #"{"type":"ConsentGiven","occurredAt":"2025-05-20T09:01:00Z","data":{"participant":"P-N","scope":"participation","givenBy":"self"}}"#,
            #"{"type":"SessionHeld","occurredAt":"2025-05-20T10:00:00Z","data":{"session":"S-5","hub":"woking","region":"wales","programme":"x","week":12}}"#,
            #"{not json"#,
            #"{"type":"SurveyCompleted","occurredAt":"2025-05-20T11:00:00Z","data":{"participant":"P-N","session":"S-1","happier":true,"moreConnected":true}}"#,
            #"{"type":"AttendanceRecorded","occurredAt":"2024-02-30T10:00:00Z","data":{"participant":"P-A","session":"S-2"}}"#,
            #"{"type":"AttendanceRecorded","occurredAt":"2025-05-20T10:00:00Z","data":{"participant":"P-A","session":"S-2"},"colour":"red"}"#,
        ]
        let parsed = ImportFile.drafts(from: Array(lines.joined(separator: "\n").utf8), file: "day.jsonl")
        // Lines 6 (not JSON) and 9 (unknown top-level key) fail to parse; the rest are drafts.
        #expect(Set(parsed.problems.map(\.line)) == [6, 9])
        #expect(parsed.problems.contains { $0.line == 9 && $0.field == "colour" })
        #expect(parsed.drafts.map(\.line) == [1, 2, 4, 5, 7, 8])
        #expect(parsed.drafts.allSatisfy { $0.file == "day.jsonl" })
        let problems = rulesRefusal(parsed.drafts, recorder)
        let named = Set(problems.map { "\($0.line):\($0.field ?? "-")" })
        #expect(named.isSuperset(of: ["2:participant", "5:region", "5:week", "7:session", "8:occurredAt"]), "\(named)")
        #expect(!problems.contains { [1, 4].contains($0.line) })
        #expect(try log.head() == before)
    }
}

@Test func anImportFileWithWindowsLineEndingsReadsTheSame() {
    let lines = [
        #"{"type":"ParticipantRegistered","occurredAt":"2025-05-20T09:00:00Z","data":{"participant":"P-N","generation":"adult","hub":"woking","region":"surrey"}}"#,
        "",
        #"{"type":"ConsentGiven","occurredAt":"2025-05-20T09:01:00Z","data":{"participant":"P-N","scope":"participation","givenBy":"self"}}"#,
    ]
    let parsed = ImportFile.drafts(from: Array((lines.joined(separator: "\r\n") + "\r\n").utf8), file: "crlf.jsonl")
    #expect(parsed.problems.isEmpty)
    #expect(parsed.drafts.map(\.line) == [1, 3])
    #expect(parsed.drafts.map(\.type) == ["ParticipantRegistered", "ConsentGiven"])
}

@Test func referencesToThingsCreatedEarlierInTheSameSubmissionAreAccepted() throws {
    try withRulesStore { log, recorder in
        let before = try #require(try log.head())
        let attendance = UUID(uuidString: "b0000000-0000-4000-8000-000000000001")!
        let survey = UUID(uuidString: "b0000000-0000-4000-8000-000000000002")!
        let drafts = [
            rulesDraft("ParticipantRegistered", rulesParticipant, at: "2025-05-19T09:00:00Z", line: 1),
            rulesDraft("SessionHeld", rulesSession, at: "2025-05-19T10:00:00Z", line: 2),
            rulesDraft("AttendanceRecorded", ["participant": "P-N", "session": "S-9"], at: "2025-05-19T10:05:00Z", id: attendance, line: 3),
            rulesDraft("SurveyCompleted", ["participant": "P-N", "session": "S-9", "happier": true, "moreConnected": true], at: "2025-05-19T11:00:00Z",
                       id: survey, line: 4),
            rulesDraft("ReferralReceived", withField(rulesReferral, "participant", "P-N"), at: "2025-05-18T09:00:00Z", line: 5),
            rulesDraft("ReferralContacted", ["referral": "R-9", "channel": "email"], at: "2025-05-18T12:00:00Z", line: 6),
            rulesDraft("ConcernRaised", withField(rulesConcern, "participant", "P-N"), at: "2025-05-19T12:00:00Z", line: 7),
            rulesDraft("ConcernEscalated", ["concern": "C-9", "to": "adult-social-care"], at: "2025-05-19T13:00:00Z", line: 8),
            rulesDraft("EventRetracted", ["event": .string(survey.uuidString.lowercased()), "reason": "Wrong person"], at: "2025-05-19T14:00:00Z", line: 9),
        ]
        let outcome = try recorder.submit(drafts)
        #expect(outcome.appended.count == 9)
        #expect(try log.head()?.position == before.position + 9)
        // All or nothing: one batch, positions consecutive in the given order.
        #expect(outcome.appended.map(\.position) == Array((before.position + 1)...(before.position + 9)))
    }
}

@Test func aSecondCreationInTheSameSubmissionIsRefused() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        for (type, data, field) in [("ParticipantRegistered", rulesParticipant, "participant"), ("SessionHeld", rulesSession, "session"),
                                    ("ReferralReceived", rulesReferral, "referral"), ("ConcernRaised", rulesConcern, "concern")] {
            let problems = rulesRefusal([rulesDraft(type, data, line: 1), rulesDraft(type, data, line: 2)], recorder)
            #expect(problems.map(\.line) == [2], "\(type)")
            #expect(problems.first?.field == field)
        }
        #expect(try log.head() == before)
    }
}

@Test func retractingTheSameEventTwiceInOneSubmissionIsRefused() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let target: JSONValue = .string(attendanceA1.uuidString.lowercased())
        let problems = rulesRefusal([rulesDraft("EventRetracted", ["event": target, "reason": "Wrong"], line: 1),
                                rulesDraft("EventRetracted", ["event": target, "reason": "Wrong again"], line: 2)], recorder)
        #expect(problems.map(\.line) == [2])
        #expect(problems.first?.field == "event")
        #expect(try log.head() == before)
    }
}

/// "A second ParticipantRegistered/ReferralReceived/SessionHeld/ConcernRaised for the same id" is refused while the
/// first stands. Once the first is retracted the creation may be recorded again — how a wrong registration (the
/// generation, which decides the consent rules) is corrected — on the same stream at its next version, so two
/// writers still cannot both do it; the chronology keeps both.
@Test(arguments: [
    ("ParticipantRegistered", "participant", "P-A"), ("SessionHeld", "session", "S-1"),
    ("ReferralReceived", "referral", "R-1"), ("ConcernRaised", "concern", "C-1"),
])
func aRetractedCreationMayBeRecordedAgainOnItsStream(_ type: String, _ field: String, _ id: String) throws {
    try withRulesStore { log, recorder in
        let creation = try #require(try rulesEvents(log).first { $0.type == type && $0.data[field] == .string(id) })
        let data: JSONObject = switch type {
        case "ParticipantRegistered": rulesParticipant
        case "SessionHeld": rulesSession
        case "ReferralReceived": rulesReferral
        default: rulesConcern
        }
        var second = data
        second[field] = .string(id)
        // Recorded again, a referral or concern stays the same person's (see the test below).
        if type == "ReferralReceived" || type == "ConcernRaised" { second["participant"] = creation.data["participant"] }
        // While the first stands, a second is refused.
        #expect(rulesRefusal([rulesDraft(type, second)], recorder).map(\.field) == [field])
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(creation.id.uuidString), "reason": "Recorded in error"])])
        let again = try recorder.submit([rulesDraft(type, second, at: "2025-05-01T08:00:00Z")])
        let recorded = try #require(again.appended.first)
        let stored = try #require(try rulesEvents(log).first { $0.id == recorded.id })
        #expect(stored.stream == creation.stream)
        #expect(stored.streamVersion == (try rulesEvents(log).filter { $0.stream == creation.stream }.count) - 1)
        // And then it stands: a third is refused.
        #expect(rulesRefusal([rulesDraft(type, second)], recorder).map(\.field) == [field])
    }
}

/// A referral or concern recorded for the wrong person, retracted and recorded again under the same id for another,
/// took its standing steps with it, and both people's chronologies, scope checks and erasures reached the other's
/// safeguarding text (found by acceptance testing): recorded again, it must name the person it was first recorded for.
@Test(arguments: [("ReferralReceived", "referral", "R-1", "P-A"), ("ConcernRaised", "concern", "C-1", "P-C")])
func aCreationRecordedAgainStaysThePersonItWasFirstRecordedFor(_ type: String, _ field: String, _ id: String, _ first: String) throws {
    try withRulesStore { log, recorder in
        let creation = try #require(try rulesEvents(log).first { $0.type == type && $0.data[field] == .string(id) })
        let other = first == "P-A" ? "P-C" : "P-A"
        var data = type == "ReferralReceived" ? rulesReferral : rulesConcern
        data[field] = .string(id)
        data["participant"] = .string(other)
        let retraction = rulesDraft("EventRetracted", ["event": .string(creation.id.uuidString), "reason": "Entered against the wrong person"],
                                    line: caseLine - 1)
        // In one import with its retraction, and after it.
        let together = rulesRefusal([retraction, rulesDraft(type, data, at: "2025-05-01T08:00:00Z")], recorder)
        #expect(together.map(\.field) == ["participant"] && together.first?.line == caseLine, "\(together)")
        #expect(together.first?.reason.contains("was first recorded for \(first)") == true, "\(together)")
        #expect(together.first?.reason.contains("under a new \(field) id") == true, "\(together)")
        let before = try log.head()
        _ = try recorder.submit([retraction])
        #expect(try log.head() != before)
        #expect(rulesRefusal([rulesDraft(type, data, at: "2025-05-01T08:00:00Z")], recorder).map(\.field) == ["participant"])
        // Under a new id it is the other person's own.
        data[field] = .string(id + "-B")
        #expect(try recorder.submit([rulesDraft(type, data, at: "2025-05-01T08:00:00Z")]).appended.count == 1)
    }
}

/// Recorded again, a receipt or concern may not move after the steps that still stand (its days would be negative).
@Test func aCreationRecordedAgainIsNotDatedAfterItsStandingSteps() throws {
    try withRulesStore { log, recorder in
        _ = try recorder.submit([rulesDraft("ReferralContacted", ["referral": "R-1", "channel": "phone"], at: "2025-05-03T09:00:00Z")])
        let receipt = try #require(try rulesEvents(log).first { $0.type == "ReferralReceived" && $0.data["referral"] == "R-1" })
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(receipt.id.uuidString), "reason": "Wrong source"])])
        let late = rulesRefusal([rulesDraft("ReferralReceived", withField(rulesReferral, "referral", "R-1"), at: "2025-05-04T09:00:00Z")], recorder)
        #expect(late.map(\.field) == ["occurredAt"], "\(late)")
        #expect(late.first?.reason.contains("is after referral R-1's ReferralContacted (2025-05-03T09:00:00Z), which still stands") == true, "\(late)")
        #expect(try recorder.submit([rulesDraft("ReferralReceived", withField(rulesReferral, "referral", "R-1"), at: "2025-05-02T09:00:00Z")])
            .appended.count == 1)
    }
}

/// A whole number too large for 64 bits is out of range, not "written with a decimal point" (found by acceptance testing).
@Test func aHugeWholeNumberIsOutOfRangeAndADecimalIsNotWhole() throws {
    try withRulesStore { _, recorder in
        let huge = rulesRefusal([rulesDraft("ParticipantRegistered", withField(rulesParticipant, "birthYear", .double(1e20)))], recorder)
        #expect(huge.map(\.field) == ["birthYear"] && huge.first?.reason.contains("is outside 1900…2100") == true, "\(huge)")
        let decimal = rulesRefusal([rulesDraft("SessionHeld", withField(rulesSession, "week", 3.5))], recorder)
        #expect(decimal.map(\.field) == ["week"] && decimal.first?.reason.contains("without a decimal point") == true, "\(decimal)")
    }
}

@Test func aReferenceToARetractedCreationSaysItWasRetracted() throws {
    try withRulesStore { log, recorder in
        let session = try #require(try rulesEvents(log).first { $0.type == "SessionHeld" && $0.data["session"] == "S-2" })
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(session.id.uuidString), "reason": "Cancelled"])])
        let problems = rulesRefusal([rulesDraft("AttendanceRecorded", ["participant": "P-A", "session": "S-2"])], recorder)
        #expect(problems.map(\.field) == ["session"])
        #expect(problems.first?.reason.contains("session S-2 was held and then retracted") == true, "\(problems)")
    }
}

/// Only the hub's own events are corrected by retraction: views, access changes, alerts and refusals are
/// the system's record of itself (a role is taken away with `access revoke`).
@Test(arguments: ["RecordViewed", "AccessGranted", "AlertRaised", "AccessDenied", "SomethingElse"])
func anEventThatIsNotAHubEventCannotBeRetracted(_ type: String) throws {
    try withRulesStore { log, recorder in
        let system = ProposedEvent(stream: StreamID("system-\(type)"), type: type, occurredAt: rulesNow, actor: "root", data: ["note": "synthetic"])
        let appended = try log.append([system], to: StreamID("system-\(type)"))
        let target = try #require(try rulesEvents(log).first { $0.position == appended.positions.first })
        let problems = rulesRefusal([rulesDraft("EventRetracted", ["event": .string(target.id.uuidString), "reason": "Hide it"])], recorder)
        #expect(problems.map(\.field) == ["event"])
        #expect(problems.first?.reason.contains("not a hub event") == true, "\(problems)")
    }
}

/// A survey answer stands on its attendance: retracting the attendance while the answer stands would leave an
/// answer counted for someone recorded as not there (a response rate above 100 %). Retract the survey first.
@Test func anAttendanceWithAStandingSurveyIsRetractedOnlyAfterTheSurvey() throws {
    try withRulesStore { log, recorder in
        let survey = try recorder.submit([rulesDraft("SurveyCompleted", ["participant": "P-A", "session": "S-1", "happier": true, "moreConnected": true])])
        let attendance = rulesDraft("EventRetracted", ["event": .string(attendanceA1.uuidString), "reason": "Not there"], line: 2)
        let problems = rulesRefusal([attendance], recorder)
        #expect(problems.map(\.field) == ["event"])
        #expect(problems.first?.reason.contains("P-A's exit survey at session S-1 still stands") == true, "\(problems)")
        // The survey's retraction earlier in the same submission clears the way.
        let surveyID = try #require(survey.appended.first?.id)
        let both = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(surveyID.uuidString), "reason": "Not there"], line: 1), attendance])
        #expect(both.appended.count == 2)
        _ = log
    }
}

@Test func aSurveyNeedsTheAttendanceEvenWhenItWasRetracted() throws {
    try withRulesStore { log, recorder in
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(attendanceA1.uuidString), "reason": "Not there"])])
        let before = try log.head()
        let problems = rulesRefusal([rulesDraft("SurveyCompleted", ["participant": "P-A", "session": "S-1", "happier": true, "moreConnected": true])], recorder)
        #expect(problems.map(\.field) == ["session"])
        #expect(try log.head() == before)
    }
}

/// One exit survey per attendance: a second would count the same person twice in the rates (and could
/// push the response rate past 100 %). Retracting the first answer lets a corrected one in.
@Test func aSecondExitSurveyForOneAttendanceIsRefusedUntilTheFirstIsRetracted() throws {
    try withRulesStore { log, recorder in
        let answer: JSONObject = ["participant": "P-A", "session": "S-1", "happier": true, "moreConnected": true]
        let first = try recorder.submit([rulesDraft("SurveyCompleted", answer)])
        let before = try log.head()
        let again = rulesRefusal([rulesDraft("SurveyCompleted", withField(answer, "happier", false))], recorder)
        #expect(again.map(\.field) == ["session"])
        #expect(again.first?.reason.contains("already answered") == true, "\(again)")
        let twiceInOne = rulesRefusal([rulesDraft("EventRetracted", ["event": .string(first.appended[0].id.uuidString), "reason": "Wrong answer"], line: 1),
                                       rulesDraft("SurveyCompleted", answer, line: 2), rulesDraft("SurveyCompleted", answer, line: 3)], recorder)
        #expect(twiceInOne.map(\.line) == [3], "the second of two in one submission is refused: \(twiceInOne)")
        #expect(try log.head() == before)
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(first.appended[0].id.uuidString), "reason": "Wrong answer"])])
        let corrected = try recorder.submit([rulesDraft("SurveyCompleted", withField(answer, "happier", false))])
        #expect(corrected.appended.count == 1)
    }
}

@Test func aReferralIsClosedOnceAndAStepAtTheMomentItBeganIsAccepted() throws {
    try withRulesStore { log, recorder in
        let contacted = try recorder.submit([rulesDraft("ReferralContacted", ["referral": "R-1", "channel": "phone"], at: "2025-05-02T09:00:00Z")])
        #expect(contacted.appended.count == 1, "the same instant as the receipt is not before it")
        let closed = try recorder.submit([rulesDraft("ReferralClosed", ["referral": "R-1", "reason": "completed"])])
        let before = try log.head()
        let again = rulesRefusal([rulesDraft("ReferralClosed", ["referral": "R-1", "reason": "disengaged"])], recorder)
        #expect(again.map(\.field) == ["referral"], "\(again)")
        #expect(try log.head() == before)
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(closed.appended[0].id.uuidString), "reason": "Closed in error"])])
        #expect(try recorder.submit([rulesDraft("ReferralClosed", ["referral": "R-1", "reason": "disengaged"])]).appended.count == 1)
    }
}

// MARK: - Idempotence

private func rulesIDDrafts() -> [EventDraft] {
    [
        rulesDraft("ParticipantRegistered", rulesParticipant, at: "2025-05-19T09:00:00Z", id: UUID(uuidString: "c0000000-0000-4000-8000-000000000001")!, line: 1),
        rulesDraft("ConsentGiven", ["participant": "P-N", "scope": "participation", "givenBy": "self"], at: "2025-05-19T09:01:00Z",
                   id: UUID(uuidString: "c0000000-0000-4000-8000-000000000002")!, line: 2),
        rulesDraft("AttendanceRecorded", ["participant": "P-N", "session": "S-2"], at: "2025-05-12T10:05:00Z",
                   id: UUID(uuidString: "c0000000-0000-4000-8000-000000000003")!, line: 3),
        rulesDraft("EventRetracted", ["event": .string(attendanceA1.uuidString.uppercased()), "reason": "Wrong person"], at: "2025-05-19T12:00:00Z",
                   id: UUID(uuidString: "c0000000-0000-4000-8000-000000000004")!, line: 4),
    ]
}

@Test func resubmittingDraftsWithIdsChangesNothing() throws {
    try withRulesStore { log, recorder in
        let first = try recorder.submit(rulesIDDrafts())
        #expect(first.appended.count == 4)
        #expect(first.alreadyPresent == 0)
        let head = try log.head()
        let again = try recorder.submit(rulesIDDrafts())
        #expect(again.appended.isEmpty)
        #expect(again.alreadyPresent == 4)
        #expect(try log.head() == head)
        // A file that grew by one line: only the new line is appended.
        var grown = rulesIDDrafts()
        grown.append(rulesDraft("SignpostGiven", ["participant": "P-N", "service": "Synthetic advice", "category": "social"],
                                id: UUID(uuidString: "c0000000-0000-4000-8000-000000000005")!, line: 5))
        let third = try recorder.submit(grown)
        #expect(third.appended.count == 1)
        #expect(third.alreadyPresent == 4)
        #expect(try log.head()?.position == (head?.position ?? -99) + 1)
    }
}

@Test(arguments: [
    ("a different field value", 1, "value"),
    ("a different occurredAt", 2, "time"),
    ("a different type", 1, "type"),
    ("an extra optional field", 1, "extra"),
])
func theSameIdWithDifferentContentIsRefused(_ label: String, _ index: Int, _ change: String) throws {
    try withRulesStore { log, recorder in
        _ = try recorder.submit(rulesIDDrafts())
        let head = try log.head()
        var drafts = rulesIDDrafts()
        switch change {
        case "value": drafts[index].data["scope"] = "surveys"
        case "time": drafts[index].occurredAt = "2025-05-12T10:06:00Z"
        case "type": drafts[index].type = "ConsentWithdrawn"
        default: drafts[index].data["competenceNote"] = "Added later (synthetic)."
        }
        let problems = rulesRefusal(drafts, recorder)
        #expect(problems.count == 1, "\(label): \(problems)")
        #expect(problems.first?.field == "id")
        #expect(problems.first?.line == drafts[index].line)
        #expect(try log.head() == head)
    }
}

@Test func theSameIdTwiceInOneSubmissionIsRefused() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let id = UUID(uuidString: "d0000000-0000-4000-8000-000000000001")!
        let problems = rulesRefusal([rulesDraft("AttendanceRecorded", ["participant": "P-A", "session": "S-2"], id: id, line: 1),
                                rulesDraft("AttendanceRecorded", ["participant": "P-C", "session": "S-2"], id: id, line: 2)], recorder)
        #expect(problems.map(\.line) == [2])
        #expect(problems.first?.field == "id")
        #expect(try log.head() == before)
    }
}

// MARK: - Registers

private func rulesRegisterDrafts(_ csv: String, session: String = "S-2", log: EventLog) throws -> (drafts: [EventDraft], problems: [InputProblem]) {
    try Register.drafts(from: Array(csv.utf8), file: "register.csv", session: session, log: log)
}

/// A register saved by a spreadsheet on Windows ends its lines with CR LF; it must read the same.
@Test(arguments: ["LF", "CRLF"])
func aRegisterBecomesAttendancesAndSurveysAtTheSessionsTime(lineEndings: String) throws {
    let lineEnding = lineEndings == "CRLF" ? "\r\n" : "\n"
    try withRulesStore { log, recorder in
        let before = try #require(try log.head())
        let csv = ["participant,happier,more_connected", "P-A,yes,no", "P-C,,", "", ""].joined(separator: lineEnding)
        let parsed = try rulesRegisterDrafts(csv, log: log)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.drafts.map(\.type) == ["AttendanceRecorded", "SurveyCompleted", "AttendanceRecorded"])
        #expect(parsed.drafts.map(\.line) == [2, 2, 3])
        #expect(parsed.drafts.allSatisfy { Timestamp(rfc3339: $0.occurredAt) == Timestamp(rfc3339: "2025-05-12T10:00:00Z") })
        try #require(parsed.drafts.count == 3, "\(parsed.drafts.map { ($0.line, $0.type, $0.data) })")
        let survey = parsed.drafts[1]
        #expect(survey.data["happier"] == .bool(true))
        #expect(survey.data["moreConnected"] == .bool(false))
        let outcome = try recorder.submit(parsed.drafts)
        #expect(outcome.appended.count == 3)
        #expect(try log.head()?.position == before.position + 3)
    }
}

@Test func reimportingARegisterDoesNotDoubleCount() throws {
    try withRulesStore { log, recorder in
        let csv = "participant,happier,more_connected\nP-A,yes,yes\nP-C,no,no\n"
        _ = try recorder.submit(try rulesRegisterDrafts(csv, log: log).drafts)
        let head = try log.head()
        let again = try recorder.submit(try rulesRegisterDrafts(csv, log: log).drafts)
        #expect(again.appended.isEmpty)
        #expect(again.alreadyPresent == 4)
        #expect(try log.head() == head)
        let attendances = try rulesEvents(log).filter { $0.type == "AttendanceRecorded" && $0.data["session"] == "S-2" }
        #expect(attendances.count == 2)
        // A register with one more row adds only that row.
        _ = try recorder.submit([rulesDraft("ParticipantRegistered", rulesParticipant)])
        let grown = try recorder.submit(try rulesRegisterDrafts(csv + "P-N,,\n", log: log).drafts)
        #expect(grown.appended.count == 1)
        #expect(grown.alreadyPresent == 4)
        // The same register with an answer changed is not a retry: refused, naming the row and the way to correct it.
        let changed = try rulesRegisterDrafts("participant,happier,more_connected\nP-A,no,yes\nP-C,no,no\n", log: log)
        #expect(changed.problems.map(\.line) == [2])
        #expect(changed.problems.first?.reason.contains("P-A already answered the exit survey at session S-2 (happier yes, more connected yes); retract that answer") == true,
                "\(changed.problems)")
    }
}

/// The README's way to correct an answer — retract it, then give the right one — works through a register too:
/// the corrected row is a new event, and importing either register again changes nothing.
@Test func aCorrectedRegisterRecordsTheNewAnswerOnceTheOldIsRetracted() throws {
    try withRulesStore { log, recorder in
        let first = "participant,happier,more_connected\nP-A,yes,yes\n", corrected = "participant,happier,more_connected\nP-A,no,yes\n"
        _ = try recorder.submit(try rulesRegisterDrafts(first, log: log).drafts)
        let answer = try #require(try rulesEvents(log).last { $0.type == "SurveyCompleted" })
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(answer.id.uuidString), "reason": "Ticked the wrong box"])])
        let parsed = try rulesRegisterDrafts(corrected, log: log)
        #expect(parsed.problems.isEmpty, "\(parsed.problems)")
        let outcome = try recorder.submit(parsed.drafts)
        #expect(outcome.appended.map(\.type) == ["SurveyCompleted"])
        #expect(outcome.appended.first?.id != answer.id)
        let head = try log.head()
        for csv in [corrected, first] {
            let again = try recorder.submit(try rulesRegisterDrafts(csv, log: log).drafts)
            #expect(again.appended.isEmpty)
        }
        #expect(try log.head() == head)
        // The first register again: its answer is in the log but retracted, and is said to be.
        #expect(try recorder.submit(try rulesRegisterDrafts(first, log: log).drafts).alreadyRetracted == 1)
        // A second correction goes the same way.
        let live = try #require(try rulesEvents(log).last { $0.type == "SurveyCompleted" })
        _ = try recorder.submit([rulesDraft("EventRetracted", ["event": .string(live.id.uuidString), "reason": "Still wrong"])])
        let third = try recorder.submit(try rulesRegisterDrafts("participant,happier,more_connected\nP-A,no,no\n", log: log).drafts)
        #expect(third.appended.map(\.type) == ["SurveyCompleted"])
    }
}

/// Spreadsheets quote cells (RFC 4180): quoted cells, a quote doubled inside one, spaces around them.
@Test func aRegisterWithQuotedCellsReadsTheSame() throws {
    try withRulesStore { log, _ in
        let parsed = try rulesRegisterDrafts("\"participant\",\"happier\",\"more_connected\"\n\"P-A\", \"yes\" ,\"no\"\nP-C,,\n", log: log)
        #expect(parsed.problems.isEmpty, "\(parsed.problems)")
        #expect(parsed.drafts.map(\.type) == ["AttendanceRecorded", "SurveyCompleted", "AttendanceRecorded"])
        #expect(parsed.drafts.first?.data["participant"] == "P-A")
        let unclosed = try rulesRegisterDrafts("participant\n\"P-A\n", log: log)
        #expect(unclosed.problems.map(\.line) == [2])
    }
}

/// Every problem of a row is told at once: an unknown person with two bad answers is three problems.
@Test func aRegisterRowReportsEveryProblemItHas() throws {
    try withRulesStore { log, recorder in
        let parsed = try rulesRegisterDrafts("participant,happier,more_connected\nP-Z,maybe,perhaps\n", log: log)
        #expect(Set(parsed.problems.compactMap(\.field)) == ["happier", "more_connected"], "\(parsed.problems)")
        let rules = rulesRefusal(parsed.drafts, recorder, dryRun: true)
        #expect(rules.map(\.field) == ["participant"], "\(rules)")
    }
}

@Test(arguments: [
    ("participant,happier,more_connected\nP-A,maybe,no\n", 2, "happier"),
    ("participant,happier,more_connected\nP-A,yes,no\nP-C,yes,perhaps\n", 3, "more_connected"),
    ("participant,happier,more_connected\nP-A,yes,\n", 2, "more_connected"),
    ("participant,happier,more_connected\nP-A,,no\n", 2, "happier"),
    ("participant,mood\nP-A,good\n", 1, "mood"),
    ("happier,more_connected\nyes,no\n", 1, "participant"),
])
func aBadRegisterCellIsNamedByLineAndColumn(_ csv: String, _ line: Int, _ field: String) throws {
    try withRulesStore { log, _ in
        let parsed = try rulesRegisterDrafts(csv, log: log)
        #expect(parsed.problems.contains { $0.line == line && $0.field == field && $0.file == "register.csv" }, "\(parsed.problems)")
    }
}

@Test func aRegisterRowWithTheWrongNumberOfCellsIsRefused() throws {
    try withRulesStore { log, _ in
        let parsed = try rulesRegisterDrafts("participant,happier,more_connected\nP-A,yes\n", log: log)
        #expect(parsed.problems.map(\.line) == [2])
    }
}

@Test func aRegisterNamingAnUnknownParticipantIsRefusedWhole() throws {
    try withRulesStore { log, recorder in
        let before = try log.head()
        let parsed = try rulesRegisterDrafts("participant\nP-A\nP-Z\nP-C\n", log: log)
        #expect(parsed.problems.isEmpty)
        let problems = rulesRefusal(parsed.drafts, recorder)
        #expect(problems.map(\.line) == [3])
        #expect(problems.first?.field == "participant")
        #expect(problems.first?.file == "register.csv")
        #expect(try log.head() == before)
    }
}

@Test func aRegisterForAnUnknownSessionIsRefused() throws {
    try withRulesStore { log, _ in
        let parsed = try rulesRegisterDrafts("participant\nP-A\n", session: "S-404", log: log)
        #expect(parsed.drafts.isEmpty)
        #expect(parsed.problems.contains { $0.field == "session" })
    }
}

@Test func aRegisterRowForSomeoneAlreadyRecordedAsAttendingIsRefused() throws {
    try withRulesStore { log, recorder in
        // P-A's attendance at S-1 is in the baseline under another id.
        let parsed = try rulesRegisterDrafts("participant\nP-A\n", session: "S-1", log: log)
        let before = try log.head()
        let problems = rulesRefusal(parsed.drafts, recorder)
        #expect(problems.map(\.line) == [2])
        #expect(try log.head() == before)
    }
}

// MARK: - Derived ids

@Test func derivedIdsAreStableNameBasedUUIDs() {
    // Worked out independently: SHA-256 of the parts joined by U+001F, first 16 bytes, version 5, RFC 4122 variant.
    #expect(DerivedID.make("register", "S-2", "P-A", "attendance") == UUID(uuidString: "7dd489e5-3036-55d4-a500-652c89e8520e"))
    #expect(DerivedID.make("register", "S-2", "P-A", "survey") == UUID(uuidString: "17694b64-957e-55e0-82d0-be026b0edb6f"))
    #expect(DerivedID.make("a", "bc") == UUID(uuidString: "624ce4e2-2aa1-57da-83bf-f3bcb4717e5b"))
    #expect(DerivedID.make("ab", "c") == UUID(uuidString: "9617c506-357d-5d46-bb66-0dbde5253de2"))
    #expect(DerivedID.make("x", "y") == DerivedID.make("x", "y"))
    let bytes = DerivedID.make("register", "S-2", "P-A", "attendance").uuid
    #expect(bytes.6 >> 4 == 5, "version 5 (name-based)")
    #expect(bytes.8 >> 6 == 0b10, "RFC 4122 variant")
    #expect(DerivedID.make("x", "y") != DerivedID.make("y", "x"))
}

@Test func aRegistersIdsAreDerivedFromSessionAndParticipant() throws {
    try withRulesStore { log, _ in
        let parsed = try rulesRegisterDrafts("participant,happier,more_connected\nP-A,yes,no\n", log: log)
        #expect(parsed.drafts.map(\.id) == [UUID(uuidString: "7dd489e5-3036-55d4-a500-652c89e8520e"),
                                            UUID(uuidString: "17694b64-957e-55e0-82d0-be026b0edb6f")])
    }
}

