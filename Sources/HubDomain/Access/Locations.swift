import EventStore
import Foundation

/// A hub and its region: where a participant or a session belongs.
public struct Place: Sendable, Hashable, CustomStringConvertible {
    public var hub: String
    public var region: String

    public init(hub: String, region: String) { self.hub = hub; self.region = region }

    public var description: String { "hub \(hub), region \(region)" }
}

extension Scope {
    /// Whether a grant with this scope reaches something at `place`.
    public func covers(_ place: Place) -> Bool {
        isEverywhere || hubs.contains(place.hub) || regions.contains(place.region)
    }

    /// The wider of two scopes: whatever either covers.
    public func union(_ other: Scope) -> Scope {
        isEverywhere || other.isEverywhere ? .everywhere : Scope(hubs: hubs.union(other.hubs), regions: regions.union(other.regions))
    }
}

/// Where each participant, session, referral and concern belongs, as the log stands: a
/// participant where their last (unretracted) registration or move put them, a session where
/// it was held, a referral or concern with its participant. Need-to-know by hub reads this.
public struct Locations: Sendable, Equatable {
    /// Per participant, their registration and moves in log order (event id, place).
    public private(set) var moves: [String: [Move]] = [:]
    public private(set) var sessions: [String: Place] = [:]
    public private(set) var referrals: [String: String] = [:]
    public private(set) var concerns: [String: String] = [:]
    /// Whose registration or move each event was, so a retraction finds it without a search.
    private var owners: [UUID: String] = [:]

    public struct Move: Sendable, Equatable {
        public var event: UUID
        public var place: Place
        public init(event: UUID, place: Place) { self.event = event; self.place = place }
    }

    public init() {}

    /// A state as a checkpoint saved it.
    public init(moves: [String: [Move]], sessions: [String: Place], referrals: [String: String], concerns: [String: String]) {
        self.moves = moves; self.sessions = sessions; self.referrals = referrals; self.concerns = concerns
        for (participant, list) in moves { for move in list { owners[move.event] = participant } }
    }

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .participantRegistered(let p, _, _, let hub, let region), .participantMoved(let p, let hub, let region):
            moves[p, default: []].append(Move(event: event.id, place: Place(hub: hub, region: region.rawValue)))
            owners[event.id] = p
        case .sessionHeld(let session, let hub, let region, _, _, _):
            sessions[session] = Place(hub: hub, region: region.rawValue)
        case .referralReceived(let referral, let participant, _, _):
            referrals[referral] = participant
        case .concernRaised(let concern, let participant, _, _, _):
            concerns[concern] = participant
        case .eventRetracted(let target):
            // A retracted registration or move no longer places anyone.
            guard let p = owners.removeValue(forKey: target) else { break }
            moves[p]?.removeAll { $0.event == target }
        default:
            break
        }
    }

    public func place(ofParticipant participant: String) -> Place? { moves[participant]?.last?.place }
    public func place(ofSession session: String) -> Place? { sessions[session] }
    public func place(ofReferral referral: String) -> Place? { referrals[referral].flatMap { place(ofParticipant: $0) } }
    public func place(ofConcern concern: String) -> Place? { concerns[concern].flatMap { place(ofParticipant: $0) } }

    /// Every hub, with its region, where someone belongs now or a session was held: where alerts can arise.
    public var placesInUse: Set<Place> {
        Set(moves.values.compactMap { $0.last?.place }).union(sessions.values)
    }
}
