import EventStore
import Foundation
import HubDomain
import Testing

// The consent rules flag (never refuse) attendances and surveys for the safeguarding review:
// a child or young person without participation consent from a parent or guardian (or from
// themselves with a competence note); attendance after participation consent was withdrawn;
// a survey without surveys consent. Only decisions made by the time of the attendance count.

private func consentTime(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

/// One consent decision, as a compact table entry.
struct ConsentDecisionRow: Sendable {
    var when: String
    var scope: ConsentScope
    /// nil for a withdrawal.
    var givenBy: ConsentGiver?
    var hasNote = false

    static func parent(_ when: String, _ scope: ConsentScope = .participation) -> ConsentDecisionRow { .init(when: when, scope: scope, givenBy: .parentOrGuardian) }
    static func own(_ when: String, _ scope: ConsentScope = .participation, note: Bool = false) -> ConsentDecisionRow {
        .init(when: when, scope: scope, givenBy: .self, hasNote: note)
    }
    static func withdrawn(_ when: String, _ scope: ConsentScope = .participation) -> ConsentDecisionRow { .init(when: when, scope: scope, givenBy: nil) }
}

private func consentRecords(_ decisions: [ConsentDecisionRow]) -> [ConsentRecord] {
    decisions.enumerated().map { i, d in
        ConsentRecord(eventID: "00000000-0000-4000-8000-\(String(format: "%012d", i))", position: LogPosition(i + 10),
                      occurredAt: consentTime(d.when), scope: d.scope, givenBy: d.givenBy, hasCompetenceNote: d.hasNote)
    }
}

struct AttendanceConsentCase: Sendable, CustomTestStringConvertible {
    var label: String
    var generation: Generation?
    var decisions: [ConsentDecisionRow]
    var expected: ConsentRule?
    var testDescription: String { label }
}

/// Every attendance in the table happens at this time.
private let consentAttendanceTime = "2025-03-10T10:00:00Z"

private let consentAttendanceCases: [AttendanceConsentCase] = [
    // No consent at all.
    .init(label: "child, no consent", generation: .child, decisions: [], expected: .participationConsentMissing),
    .init(label: "young person, no consent", generation: .youngPerson, decisions: [], expected: .participationConsentMissing),
    .init(label: "adult, no consent", generation: .adult, decisions: [], expected: nil),
    .init(label: "older adult, no consent", generation: .olderAdult, decisions: [], expected: nil),
    // Consent from a parent or guardian.
    .init(label: "child, parent consent", generation: .child, decisions: [.parent("2025-03-01T09:00:00Z")], expected: nil),
    .init(label: "young person, parent consent", generation: .youngPerson, decisions: [.parent("2025-03-01T09:00:00Z")], expected: nil),
    .init(label: "adult, parent consent", generation: .adult, decisions: [.parent("2025-03-01T09:00:00Z")], expected: nil),
    // Own consent, with and without a competence note.
    .init(label: "young person, own consent without a note", generation: .youngPerson, decisions: [.own("2025-03-01T09:00:00Z")],
          expected: .participationConsentMissing),
    .init(label: "young person, own consent with a note", generation: .youngPerson, decisions: [.own("2025-03-01T09:00:00Z", note: true)],
          expected: nil),
    .init(label: "child, own consent without a note", generation: .child, decisions: [.own("2025-03-01T09:00:00Z")],
          expected: .participationConsentMissing),
    .init(label: "child, own consent with a note", generation: .child, decisions: [.own("2025-03-01T09:00:00Z", note: true)], expected: nil),
    .init(label: "adult, own consent", generation: .adult, decisions: [.own("2025-03-01T09:00:00Z")], expected: nil),
    .init(label: "older adult, own consent", generation: .olderAdult, decisions: [.own("2025-03-01T09:00:00Z")], expected: nil),
    // Consent for another purpose does not count.
    .init(label: "child, parent consent for photography only", generation: .child,
          decisions: [.parent("2025-03-01T09:00:00Z", .photography), .parent("2025-03-01T09:00:00Z", .surveys)],
          expected: .participationConsentMissing),
    .init(label: "adult, photography withdrawn", generation: .adult,
          decisions: [.own("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z", .photography)], expected: nil),
    .init(label: "child, parent consent, photography withdrawn", generation: .child,
          decisions: [.parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z", .photography)], expected: nil),
    // Withdrawal, then attendance.
    .init(label: "child, parent consent then withdrawn", generation: .child,
          decisions: [.parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z")], expected: .attendanceAfterWithdrawal),
    .init(label: "young person, consent with a note then withdrawn", generation: .youngPerson,
          decisions: [.own("2025-03-01T09:00:00Z", note: true), .withdrawn("2025-03-05T09:00:00Z")], expected: .attendanceAfterWithdrawal),
    .init(label: "adult, own consent then withdrawn", generation: .adult,
          decisions: [.own("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z")], expected: .attendanceAfterWithdrawal),
    .init(label: "older adult, withdrawn without an earlier consent", generation: .olderAdult,
          decisions: [.withdrawn("2025-03-05T09:00:00Z")], expected: .attendanceAfterWithdrawal),
    .init(label: "adult, withdrawn a second before attending", generation: .adult,
          decisions: [.own("2025-03-01T09:00:00Z"), .withdrawn("2025-03-10T09:59:59Z")], expected: .attendanceAfterWithdrawal),
    // Consent given again after a withdrawal.
    .init(label: "young person, withdrawn then re-given by a parent", generation: .youngPerson,
          decisions: [.parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z"), .parent("2025-03-08T09:00:00Z")], expected: nil),
    .init(label: "adult, withdrawn then re-given", generation: .adult,
          decisions: [.own("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z"), .own("2025-03-08T09:00:00Z")], expected: nil),
    .init(label: "child, withdrawn then re-given, recorded out of order", generation: .child,
          decisions: [.parent("2025-03-08T09:00:00Z"), .parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z")], expected: nil),
    .init(label: "child, withdrawn then re-given only after the attendance", generation: .child,
          decisions: [.parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-05T09:00:00Z"), .parent("2025-03-11T09:00:00Z")],
          expected: .attendanceAfterWithdrawal),
    // Decisions after the attendance do not count.
    .init(label: "child, parent consent given after the attendance", generation: .child,
          decisions: [.parent("2025-03-10T10:00:01Z")], expected: .participationConsentMissing),
    .init(label: "young person, parent consent a day after", generation: .youngPerson,
          decisions: [.parent("2025-03-11T10:00:00Z")], expected: .participationConsentMissing),
    .init(label: "child, parent consent at the very time of the attendance", generation: .child,
          decisions: [.parent(consentAttendanceTime)], expected: nil),
    .init(label: "adult, withdrawal after the attendance", generation: .adult,
          decisions: [.own("2025-03-01T09:00:00Z"), .withdrawn("2025-03-10T10:00:01Z")], expected: nil),
    .init(label: "child, withdrawal after the attendance", generation: .child,
          decisions: [.parent("2025-03-01T09:00:00Z"), .withdrawn("2025-03-12T10:00:00Z")], expected: nil),
]

@Test(arguments: consentAttendanceCases)
func anAttendanceIsFlaggedByTheConsentInForceAtTheTime(_ c: AttendanceConsentCase) {
    #expect(ConsentRules.flag(attendanceBy: c.generation, consents: consentRecords(c.decisions), at: consentTime(consentAttendanceTime)) == c.expected)
}

struct SurveyConsentCase: Sendable, CustomTestStringConvertible {
    var label: String
    var decisions: [ConsentDecisionRow]
    var isFlagged: Bool
    var testDescription: String { label }
}

/// Every survey in the table is completed at this time.
private let consentSurveyTime = "2025-03-10T11:30:00Z"

private let consentSurveyCases: [SurveyConsentCase] = [
    .init(label: "no consent at all", decisions: [], isFlagged: true),
    .init(label: "own surveys consent", decisions: [.own("2025-03-01T09:00:00Z", .surveys)], isFlagged: false),
    .init(label: "parent's surveys consent", decisions: [.parent("2025-03-01T09:00:00Z", .surveys)], isFlagged: false),
    .init(label: "participation consent only", decisions: [.own("2025-03-01T09:00:00Z")], isFlagged: true),
    .init(label: "data-sharing and photography consent only",
          decisions: [.own("2025-03-01T09:00:00Z", .dataSharing), .own("2025-03-01T09:00:00Z", .photography)], isFlagged: true),
    .init(label: "surveys consent withdrawn",
          decisions: [.own("2025-03-01T09:00:00Z", .surveys), .withdrawn("2025-03-05T09:00:00Z", .surveys)], isFlagged: true),
    .init(label: "surveys consent withdrawn then re-given",
          decisions: [.own("2025-03-01T09:00:00Z", .surveys), .withdrawn("2025-03-05T09:00:00Z", .surveys), .own("2025-03-06T09:00:00Z", .surveys)],
          isFlagged: false),
    .init(label: "surveys consent given after the survey", decisions: [.own("2025-03-10T11:30:01Z", .surveys)], isFlagged: true),
    .init(label: "surveys consent withdrawn after the survey",
          decisions: [.own("2025-03-01T09:00:00Z", .surveys), .withdrawn("2025-03-10T12:00:00Z", .surveys)], isFlagged: false),
    .init(label: "participation withdrawn, surveys consent stands",
          decisions: [.own("2025-03-01T09:00:00Z", .surveys), .withdrawn("2025-03-05T09:00:00Z")], isFlagged: false),
]

@Test(arguments: consentSurveyCases)
func aSurveyIsFlaggedWithoutSurveysConsentInForce(_ c: SurveyConsentCase) {
    let flag = ConsentRules.flag(surveyWith: consentRecords(c.decisions), at: consentTime(consentSurveyTime))
    #expect(flag == (c.isFlagged ? .surveyConsentMissing : nil))
}

@Test func ofTwoDecisionsAtTheSameMomentTheLaterInTheLogStands() {
    let given = ConsentRecord(eventID: "a", position: 1, occurredAt: consentTime("2025-03-01T09:00:00Z"), scope: .participation,
                              givenBy: .parentOrGuardian, hasCompetenceNote: false)
    let withdrawn = ConsentRecord(eventID: "b", position: 2, occurredAt: consentTime("2025-03-01T09:00:00Z"), scope: .participation,
                                  givenBy: nil, hasCompetenceNote: false)
    #expect(ConsentRules.flag(attendanceBy: .child, consents: [given, withdrawn], at: consentTime(consentAttendanceTime)) == .attendanceAfterWithdrawal)
    #expect(ConsentRules.flag(attendanceBy: .child, consents: [withdrawn, given], at: consentTime(consentAttendanceTime)) == .attendanceAfterWithdrawal)
    var regiven = given
    regiven.position = 3
    #expect(ConsentRules.flag(attendanceBy: .child, consents: [given, withdrawn, regiven], at: consentTime(consentAttendanceTime)) == nil)
}

@Test func theRulesHaveStableNames() {
    #expect(ConsentRule.participationConsentMissing.rawValue == "participation-consent-missing")
    #expect(ConsentRule.attendanceAfterWithdrawal.rawValue == "attendance-after-withdrawal")
    #expect(ConsentRule.surveyConsentMissing.rawValue == "survey-without-consent")
}
