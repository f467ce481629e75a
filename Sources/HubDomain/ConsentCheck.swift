import EventStore
import Foundation

extension ConsentRules {
    /// The consent rule an attendance or survey of `participant` at `time` breaks, judged on their own record as
    /// the log holds it (registrations and consent decisions not retracted) — what `review` will flag. For
    /// `record` to say so at once: the person entering it can then put a consent's real time right.
    public static func flag(of type: EventType, by participant: String, at time: Timestamp, in log: EventLog) throws -> ConsentRule? {
        guard type == .attendanceRecorded || type == .surveyCompleted else { return nil }
        let events = try log.events(in: StreamID(EntityKind.participant.stream(participant))).compactMap(DomainEvent.init)
        var retracted = Set<UUID>()
        for e in events { if case .eventRetracted(let target) = e.event { retracted.insert(target) } }
        var generation: Generation?
        var consents: [ConsentRecord] = []
        for e in events where !retracted.contains(e.id) {
            switch e.event {
            case .participantRegistered(let p, let g, _, _, _) where p == participant:
                generation = g
            case .consentGiven(let p, let scope, let by, let note) where p == participant:
                consents.append(ConsentRecord(eventID: e.id.lowercasedString, position: e.position, occurredAt: e.occurredAt, scope: scope,
                                              givenBy: by, hasCompetenceNote: note))
            case .consentWithdrawn(let p, let scope) where p == participant:
                consents.append(ConsentRecord(eventID: e.id.lowercasedString, position: e.position, occurredAt: e.occurredAt, scope: scope,
                                              givenBy: nil, hasCompetenceNote: false))
            default:
                continue
            }
        }
        return type == .surveyCompleted ? flag(surveyWith: consents, at: time) : flag(attendanceBy: generation, consents: consents, at: time)
    }
}
