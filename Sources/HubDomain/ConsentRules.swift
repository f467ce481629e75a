import EventStore

/// One consent decision in a participant's record.
public struct ConsentRecord: Sendable, Codable, Hashable {
    public var eventID: String
    public var position: LogPosition
    public var occurredAt: Timestamp
    public var scope: ConsentScope
    /// nil for a withdrawal.
    public var givenBy: ConsentGiver?
    public var hasCompetenceNote: Bool

    public init(eventID: String, position: LogPosition, occurredAt: Timestamp, scope: ConsentScope, givenBy: ConsentGiver?, hasCompetenceNote: Bool) {
        self.eventID = eventID; self.position = position; self.occurredAt = occurredAt
        self.scope = scope; self.givenBy = givenBy; self.hasCompetenceNote = hasCompetenceNote
    }
}

/// The consent rules that flag (never refuse) an attendance or survey for review.
public enum ConsentRule: String, Sendable, Codable, CaseIterable {
    /// A child or young person attended without participation consent from a parent or
    /// guardian, or from themselves with a note of their competence.
    case participationConsentMissing = "participation-consent-missing"
    /// Someone attended after withdrawing participation consent.
    case attendanceAfterWithdrawal = "attendance-after-withdrawal"
    /// A survey was completed without surveys consent.
    case surveyConsentMissing = "survey-without-consent"
}

public enum ConsentRules {
    /// The latest decision for a scope in force at `time` (by when it happened, then log order).
    static func decision(_ scope: ConsentScope, in records: [ConsentRecord], at time: Timestamp) -> ConsentRecord? {
        var latest: ConsentRecord?
        for r in records where r.scope == scope && r.occurredAt <= time {
            if let l = latest, (l.occurredAt, l.position) > (r.occurredAt, r.position) { continue }
            latest = r
        }
        return latest
    }

    /// The rule an attendance at `time` breaks, if any. `records` must exclude retracted decisions.
    public static func flag(attendanceBy generation: Generation?, consents records: [ConsentRecord], at time: Timestamp) -> ConsentRule? {
        let current = decision(.participation, in: records, at: time)
        if let current, current.givenBy == nil { return .attendanceAfterWithdrawal }
        guard generation == .child || generation == .youngPerson else { return nil }
        guard let current, let by = current.givenBy else { return .participationConsentMissing }
        if by == .parentOrGuardian || current.hasCompetenceNote { return nil }
        return .participationConsentMissing
    }

    /// The rule a survey at `time` breaks, if any.
    public static func flag(surveyWith records: [ConsentRecord], at time: Timestamp) -> ConsentRule? {
        guard let current = decision(.surveys, in: records, at: time), current.givenBy != nil else { return .surveyConsentMissing }
        return nil
    }
}
