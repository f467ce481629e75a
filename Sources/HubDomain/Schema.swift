/// What each event type's `data` must hold: field names, kinds, and which are
/// sensitive free text (stored through one path so they can later be erased).
public struct FieldSpec: Sendable {
    public enum Kind: Sendable {
        /// An entity id; `creates` for the id a creation event introduces, else a reference that must exist.
        case id(EntityKind, creates: Bool)
        case eventID
        case text
        /// A short name staff choose freely (a flag such as `no-photography`): one line, at most 100 characters.
        /// It is shown wherever the flag is (warnings, alerts), so it is never sensitive.
        case label
        /// A calendar day (`YYYY-MM-DD`, meaning the end of that day, UTC) or an RFC 3339 date-time; see `ReviewDate`.
        case date
        case choice([String])
        case bool
        case integer(ClosedRange<Int64>)
    }

    public var name: String
    public var kind: Kind
    public var isRequired: Bool
    public var isSensitive: Bool

    init(_ name: String, _ kind: Kind, required: Bool = true, sensitive: Bool = false) {
        self.name = name; self.kind = kind; self.isRequired = required; self.isSensitive = sensitive
    }
}

public enum Schema {
    /// The fields of each event type, in the order they are written.
    public static func fields(of type: EventType) -> [FieldSpec] {
        switch type {
        case .participantRegistered:
            return [.init("participant", .id(.participant, creates: true)), .init("generation", .choice(Generation.spellings)),
                    .init("birthYear", .integer(1900...2100), required: false), .init("hub", .text), .init("region", .choice(Region.spellings)),
                    .init("name", .text, required: false, sensitive: true)]
        case .participantMoved:
            return [.init("participant", .id(.participant, creates: false)), .init("hub", .text), .init("region", .choice(Region.spellings))]
        case .consentGiven:
            return [.init("participant", .id(.participant, creates: false)), .init("scope", .choice(ConsentScope.spellings)),
                    .init("givenBy", .choice(ConsentGiver.spellings)), .init("competenceNote", .text, required: false, sensitive: true)]
        case .consentWithdrawn:
            return [.init("participant", .id(.participant, creates: false)), .init("scope", .choice(ConsentScope.spellings))]
        case .attendanceRecorded:
            return [.init("participant", .id(.participant, creates: false)), .init("session", .id(.session, creates: false))]
        case .surveyCompleted:
            return [.init("participant", .id(.participant, creates: false)), .init("session", .id(.session, creates: false)),
                    .init("happier", .bool), .init("moreConnected", .bool)]
        case .signpostGiven:
            return [.init("participant", .id(.participant, creates: false)), .init("service", .text),
                    .init("category", .choice(SignpostCategory.spellings))]
        case .flagRaised:
            // Raising a flag that is already active renews it: the new note and review date replace the old.
            return [.init("participant", .id(.participant, creates: false)), .init("flag", .label),
                    .init("note", .text, sensitive: true), .init("reviewBy", .date, required: false)]
        case .flagRemoved:
            return [.init("participant", .id(.participant, creates: false)), .init("flag", .label), .init("reason", .text, sensitive: true)]
        case .referralReceived:
            return [.init("referral", .id(.referral, creates: true)), .init("participant", .id(.participant, creates: false)),
                    .init("source", .choice(ReferralSource.spellings)), .init("referrer", .text, sensitive: true),
                    .init("reason", .text, sensitive: true), .init("urgent", .bool)]
        case .referralContacted:
            return [.init("referral", .id(.referral, creates: false)), .init("channel", .choice(ContactChannel.spellings))]
        case .referralAccepted:
            return [.init("referral", .id(.referral, creates: false))]
        case .referralDeclined:
            return [.init("referral", .id(.referral, creates: false)), .init("reason", .text, sensitive: true)]
        case .referralClosed:
            return [.init("referral", .id(.referral, creates: false)), .init("reason", .choice(ClosureReason.spellings))]
        case .sessionHeld:
            return [.init("session", .id(.session, creates: true)), .init("hub", .text), .init("region", .choice(Region.spellings)),
                    .init("programme", .text), .init("week", .integer(1...10)), .init("funder", .text, required: false)]
        case .concernRaised:
            return [.init("concern", .id(.concern, creates: true)), .init("participant", .id(.participant, creates: false)),
                    .init("category", .choice(ConcernCategory.spellings)), .init("severity", .choice(Severity.spellings)),
                    .init("account", .text, sensitive: true), .init("actionTaken", .text, sensitive: true), .init("dslInformed", .bool)]
        case .concernEscalated:
            return [.init("concern", .id(.concern, creates: false)), .init("to", .choice(EscalationTarget.spellings)),
                    .init("reference", .text, required: false)]
        case .concernClosed:
            return [.init("concern", .id(.concern, creates: false)), .init("outcome", .text, sensitive: true)]
        case .eventRetracted:
            return [.init("event", .eventID), .init("reason", .text, sensitive: true)]
        }
    }

    /// The field naming the entity whose stream the event goes to.
    public static func streamField(of type: EventType) -> String? {
        fields(of: type).first { if case .id(let kind, _) = $0.kind { return kind == type.entity } else { return false } }?.name
    }
}
