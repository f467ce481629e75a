import EventStore
import Foundation
import HubDomain

/// Where each participant belonged at any point of the log: their registration and moves with
/// the log position of each, so a figure can ask where someone was when a referral, signpost or
/// concern about them was recorded.
///
/// Unlike `Locations` (which only needs the present), nothing is dropped when a move is
/// retracted: the question "where were they at position p" is answered with the retracted set in
/// hand, so a move retracted later no longer counts for events recorded before the retraction either.
struct ParticipantPlaces: Sendable {
    struct Move: Sendable { var id: UUID; var position: LogPosition; var place: Place }

    /// Per participant, in log order.
    private(set) var moves: [String: [Move]] = [:]

    init() {}

    mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .participantRegistered(let p, _, _, let hub, let region), .participantMoved(let p, let hub, let region):
            moves[p, default: []].append(Move(id: event.id, position: event.position, place: Place(hub: hub, region: region.rawValue)))
        default: break
        }
    }

    /// The place of the participant's last registration or move before `position` that was not retracted.
    func place(of participant: String, before position: LogPosition, retracted: IDSet) -> Place? {
        moves[participant]?.last { $0.position < position && !retracted.contains($0.id) }?.place
    }

    func encode(to w: inout StateWriter) {
        w.dictionary(moves) { w, list in
            w.array(list) { w, m in w.uuid(m.id); w.int(m.position); w.string(m.place.hub); w.string(m.place.region) }
        }
    }

    init(from r: inout StateReader) throws {
        moves = try r.dictionary { r in
            try r.array { r in Move(id: try r.uuid(), position: try r.int(), place: Place(hub: try r.string(), region: try r.string())) }
        }
    }
}
