import EventStore
import Foundation
import HubDomain

/// Where everyone and everything belongs (`Locations`), checkpointed: read by the access gate
/// to keep each actor to the hubs and regions of their grants.
public struct LocationProjection: Projection {
    public static let name = "locations"
    public static let folds: HubEvent.Kinds = [.participantRegistered, .participantMoved, .sessionHeld, .referralReceived, .concernRaised, .eventRetracted]

    public private(set) var locations = Locations()

    public init() {}

    public mutating func apply(_ event: DomainEvent) { locations.apply(event) }

    public func encode(to w: inout StateWriter) {
        w.dictionary(locations.moves) { w, list in
            w.array(list) { w, move in w.uuid(move.event); w.string(move.place.hub); w.string(move.place.region) }
        }
        w.dictionary(locations.sessions) { w, place in w.string(place.hub); w.string(place.region) }
        w.dictionary(locations.referrals) { $0.string($1) }
        w.dictionary(locations.concerns) { $0.string($1) }
    }

    public init(from r: inout StateReader) throws {
        let moves = try r.dictionary { r in
            try r.array { r in Locations.Move(event: try r.uuid(), place: Place(hub: try r.string(), region: try r.string())) }
        }
        let sessions = try r.dictionary { r in Place(hub: try r.string(), region: try r.string()) }
        let referrals = try r.dictionary { try $0.string() }
        let concerns = try r.dictionary { try $0.string() }
        locations = Locations(moves: moves, sessions: sessions, referrals: referrals, concerns: concerns)
    }
}
