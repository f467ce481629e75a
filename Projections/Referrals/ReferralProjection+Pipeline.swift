import EventStore
import Foundation
import HubDomain

extension ReferralProjection {
    /// Every live referral's state as of `now`, in referral-id order. A referral received after `now` had not
    /// arrived then, so it is left out (its wait would be negative); a step or first attendance after `now` had
    /// not happened then, so the referral shows as it stood at `now`. (Retractions hold whenever they were
    /// recorded: a correction says what truly happened. For the log as it stood, fold with a read limit.)
    ///
    /// - Parameter read: reads back the attendances of people whose first attendance the fold could
    ///   not settle (usually none; `ProjectionRunner.streamReader`).
    /// - Throws: what `read` throws (a damaged log).
    public func pipeline(now: Timestamp, reading read: StreamReader) throws -> [ReferralStatus] {
        let live = referrals.values.filter { !retracted.contains($0.eventID) && $0.receivedAt <= now }.sorted { $0.referral < $1.referral }
        let firsts = try firstAttendances(of: live, reading: read)
        return live.map { r in
            let first = firsts[r.referral].flatMap { $0 <= now ? $0 : nil }
            let contacted = r.contacts.live(by: now, retracted: retracted).map(\.at).min()
            let accepted = (acceptances[r.referral] ?? []).live(by: now, retracted: retracted).map(\.at).min()
            let status: ReferralStatus.Status
            if !r.declines.live(by: now, retracted: retracted).isEmpty { status = .declined }
            else if !r.closures.live(by: now, retracted: retracted).isEmpty { status = .closed }
            else if first != nil { status = .attended }
            else { status = .awaitingFirstAttendance }
            let waiting = status == .awaitingFirstAttendance ? Int((now.microseconds - r.receivedAt.microseconds).floorDivided(86_400_000_000)) : nil
            return ReferralStatus(referral: r.referral, participant: r.participant, source: r.source, urgent: r.urgent,
                                  receivedAt: r.receivedAt, status: status, contactedAt: contacted, acceptedAt: accepted, firstAttendedAt: first,
                                  daysWaiting: waiting)
        }
    }

    /// When each referral's first attendance was held (`FirstAttendance`): the one the fold found
    /// while it still stands, else from the person's attendances read back.
    func firstAttendances(of list: [Referral], reading read: StreamReader) throws -> [String: Timestamp] {
        var out: [String: Timestamp] = [:]
        var unsettled: [Referral] = []
        for r in list {
            if r.isUnsettled || sessionHeldTwice || r.first.map({ retracted.contains($0.attendance) || retracted.contains($0.session) }) ?? false {
                unsettled.append(r)
            } else if let first = r.first {
                out[r.referral] = first.at
            }
        }
        guard !unsettled.isEmpty else { return out }
        var heads: [StreamID: LogPosition] = [:]
        for p in Set(unsettled.map(\.participant)) { heads.include(people[p]?.trail.heads(of: p) ?? [:]) }
        var attended: [String: [(id: UUID, session: String)]] = [:]
        for recorded in try read(heads) {
            guard let event = DomainEvent(recorded), case .attendanceRecorded(let p, let s) = event.event else { continue }
            attended[p, default: []].append((event.id, s))
        }
        for r in unsettled {
            out[r.referral] = FirstAttendance.of(attended[r.participant] ?? [], onOrAfter: r.receivedAt, retracted: retracted) {
                (sessions[$0] ?? nil).map { ($0.id, $0.at) }
            }
        }
        return out
    }
}
