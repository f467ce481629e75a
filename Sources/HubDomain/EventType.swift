/// The kinds of event a hub records, and the stream each belongs to.
public enum EventType: String, Sendable, CaseIterable, Codable {
    case participantRegistered = "ParticipantRegistered"
    case participantMoved = "ParticipantMoved"
    case consentGiven = "ConsentGiven"
    case consentWithdrawn = "ConsentWithdrawn"
    case attendanceRecorded = "AttendanceRecorded"
    case surveyCompleted = "SurveyCompleted"
    case signpostGiven = "SignpostGiven"
    case flagRaised = "FlagRaised"
    case flagRemoved = "FlagRemoved"
    case referralReceived = "ReferralReceived"
    case referralContacted = "ReferralContacted"
    case referralAccepted = "ReferralAccepted"
    case referralDeclined = "ReferralDeclined"
    case referralClosed = "ReferralClosed"
    case sessionHeld = "SessionHeld"
    case concernRaised = "ConcernRaised"
    case concernEscalated = "ConcernEscalated"
    case concernClosed = "ConcernClosed"
    case eventRetracted = "EventRetracted"

    /// The type named by these UTF-8 bytes, matched without making a String of them.
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        for entry in EventType.byName where entry.name.count == bytes.count {
            if entry.name.withUnsafeBytes({ $0.hasSameBytes(as: bytes) }) { self = entry.type; return }
        }
        return nil
    }

    /// The names as bytes, the most frequent kinds first.
    private static let byName: [(name: [UInt8], type: EventType)] = {
        let frequent: [EventType] = [.attendanceRecorded, .surveyCompleted, .sessionHeld, .consentGiven, .participantRegistered]
        return (frequent + allCases.filter { !frequent.contains($0) }).map { (Array($0.rawValue.utf8), $0) }
    }()

    /// The entity whose stream holds this event (retractions go to the retracted event's stream).
    public var entity: EntityKind? {
        switch self {
        case .participantRegistered, .participantMoved, .consentGiven, .consentWithdrawn, .attendanceRecorded, .surveyCompleted, .signpostGiven,
             .flagRaised, .flagRemoved:
            return .participant
        case .referralReceived, .referralContacted, .referralAccepted, .referralDeclined, .referralClosed: return .referral
        case .sessionHeld: return .session
        case .concernRaised, .concernEscalated, .concernClosed: return .concern
        case .eventRetracted: return nil
        }
    }

    /// Whether this event brings its entity into being (appended with expected version `noStream`).
    public var isCreation: Bool {
        [.participantRegistered, .referralReceived, .sessionHeld, .concernRaised].contains(self)
    }
}

/// The things a hub keeps a stream for.
public enum EntityKind: String, Sendable, CaseIterable, Codable {
    case participant, referral, session, concern

    /// The stream of one entity, e.g. `participant-P-0001`.
    public func stream(_ id: String) -> String { "\(rawValue)-\(id)" }

    /// The event that brings one into being.
    public var creation: EventType {
        switch self {
        case .participant: .participantRegistered
        case .referral: .referralReceived
        case .session: .sessionHeld
        case .concern: .concernRaised
        }
    }

    /// How its creation is said: a participant is registered, a concern raised.
    var createdVerb: String {
        switch self {
        case .participant: "registered"
        case .referral: "received"
        case .session: "held"
        case .concern: "raised"
        }
    }
}
