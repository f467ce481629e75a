import EventStore
import Foundation
import HubDomain

/// The audit's counts for one period and filter, taken from the log read again event by event:
/// what the figures are computed from (`figures()`), kept as counts and sets of people, never as
/// a list of the events.
///
/// Its memory grows with the people, sessions and programmes the period covers: per session its
/// attendances and surveys counted, per person whether they came, per person and programme which
/// of its weeks they came to, per referral its first attendance.
public struct AuditTally: Sendable {
    public let period: AuditPeriod
    public let filter: AuditFilter
    let basis: AuditProjection
    /// Sessions held in the period, not retracted, covered by the filter.
    let sessions: [String: AuditProjection.Session]

    var attendances = 0
    var surveys = 0, happier = 0, moreConnected = 0
    /// Who attended a session counted.
    var people: Set<String> = []
    /// Per programme, per person, the weeks (bit w−1 for week w) they attended a session counted.
    var weeksAttended: [String: [String: UInt16]] = [:]
    /// Per programme, the weeks that held a session counted.
    var weeksHeld: [String: UInt16] = [:]
    /// The referrals the figures count (received in the period, covered), each by participant.
    let countedReferrals: [String: [String]]
    /// Per counted referral, when its first attendance was held (earliest so far).
    var firstAttendance: [String: Timestamp] = [:]
    var signposts: [String: Int] = [:]
    var signpostCount = 0
    var concernCategories: [String: Int] = [:], concernSeverities: [String: Int] = [:]
    var concernCount = 0

    init(basis: AuditProjection, period: AuditPeriod, filter: AuditFilter) {
        self.basis = basis
        self.period = period
        self.filter = filter
        sessions = basis.liveSessions(period: period, filter: filter)
        var counted: [String: [String]] = [:]
        for (id, r) in basis.referrals where !basis.retracted.contains(r.eventID) && period.contains(r.receivedAt)
            && basis.covers(filter, participant: r.participant, at: r.position) {
            counted[r.participant, default: []].append(id)
        }
        countedReferrals = counted
        for s in sessions.values where (1...10).contains(s.week) { weeksHeld[s.programme, default: 0] |= 1 << (s.week - 1) }
    }

    /// The kinds of event `count` counts.
    static let counts: HubEvent.Kinds = [.attendanceRecorded, .surveyCompleted, .signpostGiven, .concernRaised]

    /// Counts one event of the log (in log order; anything the audit does not count is ignored).
    mutating func count(_ event: DomainEvent) {
        switch event.event {
        case .attendanceRecorded(let p, let s):
            guard !basis.retracted.contains(event.id) else { return }
            if let referrals = countedReferrals[p] { noteFirstAttendance(of: referrals, session: s) }
            guard let session = sessions[s] else { return }
            attendances += 1
            people.insert(p)
            if (1...10).contains(session.week) { weeksAttended[session.programme, default: [:]][p, default: 0] |= 1 << (session.week - 1) }
        case .surveyCompleted(_, let s, let isHappier, let isMoreConnected):
            guard sessions[s] != nil, !basis.retracted.contains(event.id) else { return }
            surveys += 1
            if isHappier { happier += 1 }
            if isMoreConnected { moreConnected += 1 }
        case .signpostGiven(let p, _, let category):
            guard counts(event, of: p) else { return }
            signpostCount += 1
            signposts[category.rawValue, default: 0] += 1
        case .concernRaised(_, let p, let category, let severity, _):
            guard counts(event, of: p) else { return }
            concernCount += 1
            concernCategories[category.rawValue, default: 0] += 1
            concernSeverities[severity.rawValue, default: 0] += 1
        default:
            break
        }
    }

    /// A signpost or concern counts when live, dated in the period, and its participant was then where the filter covers.
    private func counts(_ event: DomainEvent, of participant: String) -> Bool {
        !basis.retracted.contains(event.id) && period.contains(event.occurredAt) && basis.covers(filter, participant: participant, at: event.position)
    }

    /// A live attendance at a live session held on or after a referral may be its first (`FirstAttendance`):
    /// any session counts here, whatever the period or filter.
    private mutating func noteFirstAttendance(of referrals: [String], session id: String) {
        guard let session = basis.sessions[id], !basis.retracted.contains(session.id) else { return }
        for r in referrals {
            guard let receivedAt = basis.referrals[r]?.receivedAt, session.at >= receivedAt else { continue }
            if firstAttendance[r].map({ session.at < $0 }) ?? true { firstAttendance[r] = session.at }
        }
    }
}
