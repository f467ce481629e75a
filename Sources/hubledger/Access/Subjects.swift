import EventStore
import Foundation
import HubDomain

/// What a command reads or writes about, for the hub-scope check: a participant, session,
/// referral or concern by id, or the place a new one is created at.
enum Subject: Sendable, Hashable, CustomStringConvertible {
    case participant(String)
    case session(String)
    case referral(String)
    case concern(String)
    case place(Place)
    /// Every hub's records at once (`log`, `export`, raw `append`, role changes): only a role
    /// for every hub covers it.
    case wholeStore

    var description: String {
        switch self {
        case .wholeStore: return "the whole store"

        case .participant(let id): return "participant \(id)"
        case .session(let id): return "session \(id)"
        case .referral(let id): return "referral \(id)"
        case .concern(let id): return "concern \(id)"
        case .place(let place): return place.description
        }
    }

    /// Where it belongs now, or nil when the log does not know it (the rules refuse unknown ids).
    func place(in locations: Locations) -> Place? {
        switch self {
        case .participant(let id): return locations.place(ofParticipant: id)
        case .session(let id): return locations.place(ofSession: id)
        case .referral(let id): return locations.place(ofReferral: id)
        case .concern(let id): return locations.place(ofConcern: id)
        case .place(let place): return place
        case .wholeStore: return nil
        }
    }

    init?(kind: EntityKind, id: String) {
        switch kind {
        case .participant: self = .participant(id)
        case .session: self = .session(id)
        case .referral: self = .referral(id)
        case .concern: self = .concern(id)
        }
    }

    /// The entity a stream belongs to (`participant-P-0001` → participant P-0001).
    init?(stream: StreamID) {
        guard let kind = EntityKind.allCases.first(where: { stream.name.hasPrefix($0.stream("")) }) else { return nil }
        self.init(kind: kind, id: String(stream.name.dropFirst(kind.stream("").count)))
    }

    /// Everything a draft is about: each entity it names, and the place it creates one at.
    /// A retraction is about whatever the retracted event's stream belongs to (`targets`).
    static func of(_ draft: EventDraft, targets: [UUID: StreamID]) -> [Subject] {
        guard let type = EventType(rawValue: draft.type) else { return [] }
        var out: [Subject] = []
        for spec in Schema.fields(of: type) {
            guard let id = draft.data[spec.name]?.stringValue else { continue }
            switch spec.kind {
            case .id(let kind, let creates) where !creates: if let s = Subject(kind: kind, id: id) { out.append(s) }
            case .eventID: if let target = UUID(uuidString: id), let stream = targets[target], let s = Subject(stream: stream) { out.append(s) }
            default: break
            }
        }
        if [.participantRegistered, .participantMoved, .sessionHeld].contains(type),
           let hub = draft.data["hub"]?.stringValue, let region = draft.data["region"]?.stringValue {
            out.append(.place(Place(hub: hub, region: region)))
        }
        return out
    }

    /// The streams of the events the drafts retract, found in one pass over the log.
    static func retractionTargets(of drafts: [EventDraft], in log: EventLog) throws -> [UUID: StreamID] {
        let wanted = Set(drafts.filter { $0.type == EventType.eventRetracted.rawValue }
            .compactMap { $0.data["event"]?.stringValue.flatMap(UUID.init(uuidString:)) })
        guard !wanted.isEmpty else { return [:] }
        var found: [UUID: StreamID] = [:]
        try log.forEach { event in
            if wanted.contains(event.id) { found[event.id] = event.stream }
            return found.count < wanted.count
        }
        return found
    }
}
