import EventStore
import Foundation
import HubDomain

/// What the published figures are computed over: the sessions, the referrals, who belongs to which
/// generation and where, and which events were retracted. Never free text.
///
/// It keeps no attendance, survey, signpost or concern: those are most of the log, and a figure
/// asked for any period needs them one by one. `tally(period:filter:replaying:)` reads them again
/// from the log instead, counting only what the question needs (`AuditTally`), so this state —
/// and the memory of both — grows with people, sessions and referrals, not with attendances.
///
/// Where each item belongs, for figures limited to some hubs or regions (`AuditFilter`): a session's
/// hub and region, and for referrals, signposts and concerns the log position of the event, which
/// `ParticipantPlaces` turns into where the participant was then.
public struct AuditProjection: Projection {
    public static let name = "audit"
    public static let stateVersion = 3
    public static let folds: HubEvent.Kinds = [.sessionHeld, .participantRegistered, .participantMoved, .referralReceived, .eventRetracted]

    struct Session: Sendable {
        var id: UUID
        var at: Timestamp
        var region: Region
        var funder: String?
        var programme: String
        var week: Int
        var hub: String
    }

    /// What the referral figures need; first attendances are found while tallying, by the pipeline's
    /// definition (`FirstAttendance`).
    struct Referral: Sendable {
        var participant: String
        var source: ReferralSource
        var receivedAt: Timestamp
        var eventID: UUID
        /// The log position of the `ReferralReceived`, to place it where its participant was then.
        var position: LogPosition
    }

    var referrals: [String: Referral] = [:]
    var sessions: [String: Session] = [:]
    /// Each participant's registrations in log order (a retracted one may be followed by its correction).
    var registrations: [String: [(event: UUID, generation: Generation)]] = [:]
    var retracted = IDSet()
    var places = ParticipantPlaces()

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .sessionHeld(let s, let hub, let region, let programme, let week, let funder):
            sessions[s] = Session(id: event.id, at: event.occurredAt, region: region, funder: funder, programme: programme, week: week, hub: hub)
        case .participantRegistered(let p, let generation, _, _, _):
            registrations[p, default: []].append((event.id, generation))
            places.apply(event)
        case .participantMoved:
            places.apply(event)
        case .referralReceived(let r, let p, let source, _):
            referrals[r] = Referral(participant: p, source: source, receivedAt: event.occurredAt, eventID: event.id, position: event.position)
        case .eventRetracted(let target): retracted.insert(target)
        default: break
        }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(referrals) { w, r in w.string(r.participant); w.raw(r.source); w.time(r.receivedAt); w.uuid(r.eventID); w.int(r.position) }
        w.dictionary(sessions) { w, s in
            w.uuid(s.id); w.time(s.at); w.raw(s.region); w.optional(s.funder) { $0.string($1) }; w.string(s.programme); w.int(s.week)
            w.string(s.hub)
        }
        w.dictionary(registrations) { w, list in w.array(list) { w, r in w.uuid(r.event); w.raw(r.generation) } }
        w.uuids(retracted)
        places.encode(to: &w)
    }

    public init(from r: inout StateReader) throws {
        referrals = try r.dictionary { r in
            Referral(participant: try r.string(), source: try r.raw(ReferralSource.self), receivedAt: try r.time(), eventID: try r.uuid(),
                     position: try r.int())
        }
        sessions = try r.dictionary { r in
            Session(id: try r.uuid(), at: try r.time(), region: try r.raw(Region.self), funder: try r.optional { try $0.string() },
                    programme: try r.string(), week: Int(try r.int()), hub: try r.string())
        }
        registrations = try r.dictionary { r in try r.array { r in (event: try r.uuid(), generation: try r.raw(Generation.self)) } }
        retracted = try r.uuids()
        places = try ParticipantPlaces(from: &r)
    }

    /// The figures' raw material for sessions held within `period` (both ends inclusive; nil =
    /// unbounded), limited to the hubs and regions `filter` covers (see `AuditFilter` for what
    /// "covers" means per figure): the attendances, surveys, signposts and concerns of the log
    /// read again through `replay`, which must end at the head this model was folded to.
    ///
    /// - Throws: what reading the log throws, or `ProjectionError.logChanged` if it no longer ends
    ///   where this model was folded.
    public func tally(period: AuditPeriod, filter: AuditFilter = AuditFilter(), replaying replay: LogReplay) throws -> AuditTally {
        var tally = AuditTally(basis: self, period: period, filter: filter)
        try replay.only(AuditTally.counts).forEach { tally.count($0) }
        return tally
    }

    /// The generation of the participant's last registration not retracted (nil: none stands).
    func generation(of participant: String) -> Generation? {
        registrations[participant]?.last { !retracted.contains($0.event) }?.generation
    }

    /// Sessions held in the period, not retracted, at a place the filter covers.
    func liveSessions(period: AuditPeriod, filter: AuditFilter) -> [String: Session] {
        sessions.filter { _, s in
            !retracted.contains(s.id) && period.contains(s.at) && (filter.isEverything || filter.covers(Place(hub: s.hub, region: s.region.rawValue)))
        }
    }

    /// Whether the filter covers `participant` as placed just before the event at `position`.
    func covers(_ filter: AuditFilter, participant: String, at position: LogPosition) -> Bool {
        filter.isEverything || filter.covers(places.place(of: participant, before: position, retracted: retracted))
    }
}
