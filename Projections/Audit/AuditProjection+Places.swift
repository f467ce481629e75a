import EventStore
import HubDomain

/// Which items an `AuditFilter` keeps: sessions by where they were held, referrals, signposts and
/// concerns by where their participant belonged when the event was recorded.
extension AuditProjection {
    /// Added to a session figure's definition when a filter is given.
    static let sessionNote = " Only sessions held at one of the chosen hubs or in one of the chosen regions."
    /// Added to a referral, signpost or concern figure's definition when a filter is given.
    static let participantNote = " Only those whose participant belonged, by the registration or last move (not retracted) before it"
        + " in the log, to one of the chosen hubs or regions."

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
