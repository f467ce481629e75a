import EventStore

/// A consent decision as the consent rules weigh it: what it covers, who gave it (nil for a
/// withdrawal), and when it happened and was recorded (the latest in force wins, then log order).
/// Read models keep their own compact form of decisions and hand them to the rules as they are.
public protocol ConsentDecision {
    var occurredAt: Timestamp { get }
    var position: LogPosition { get }
    var scope: ConsentScope { get }
    var givenBy: ConsentGiver? { get }
    var hasCompetenceNote: Bool { get }
}

/// One consent decision in a participant's record.
public struct ConsentRecord: ConsentDecision, Sendable, Codable, Hashable {
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
    @inlinable
    static func decision<Records: Sequence>(_ scope: ConsentScope, in records: Records, at time: Timestamp) -> Records.Element?
    where Records.Element: ConsentDecision {
        var latest: Records.Element?
        for r in records where r.scope == scope && r.occurredAt <= time {
            if let l = latest, (l.occurredAt, l.position) > (r.occurredAt, r.position) { continue }
            latest = r
        }
        return latest
    }

    /// The rule an attendance at `time` breaks, if any. `records` must exclude retracted decisions.
    /// Inlinable so that a read model's own decisions are weighed without generic dispatch (rebuilds
    /// judge every attendance).
    @inlinable
    public static func flag<Records: Sequence>(attendanceBy generation: Generation?, consents records: Records, at time: Timestamp) -> ConsentRule?
    where Records.Element: ConsentDecision {
        let current = decision(.participation, in: records, at: time)
        if let current, current.givenBy == nil { return .attendanceAfterWithdrawal }
        guard generation == .child || generation == .youngPerson else { return nil }
        guard let current, let by = current.givenBy else { return .participationConsentMissing }
        if by == .parentOrGuardian || current.hasCompetenceNote { return nil }
        return .participationConsentMissing
    }

    /// The rule a survey at `time` breaks, if any.
    @inlinable
    public static func flag<Records: Sequence>(surveyWith records: Records, at time: Timestamp) -> ConsentRule?
    where Records.Element: ConsentDecision {
        guard let current = decision(.surveys, in: records, at: time), current.givenBy != nil else { return .surveyConsentMissing }
        return nil
    }
}
