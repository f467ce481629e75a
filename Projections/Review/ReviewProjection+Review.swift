import EventStore
import Foundation
import HubDomain

extension ReviewProjection {
    /// The review as of `now` (ages and the 24-hour escalation rule are measured against it). What happened
    /// after `now` had not happened then, so it is left out: a concern raised, escalated or closed, a flag
    /// raised or removed, a flagged attendance or survey. (Retractions hold whenever they were recorded: a
    /// correction says what truly happened. For the log as it stood, fold with a read limit.)
    ///
    /// - Parameter read: reads back the activities of people whose earlier judgements a later event
    ///   may have changed (usually none; `ProjectionRunner.streamReader`).
    /// - Throws: what `read` throws (a damaged log).
    public func review(now: Timestamp, reading read: StreamReader) throws -> SafeguardingReview {
        let live = concerns.values.filter { !retracted.contains($0.eventID) && $0.raisedAt <= now }
        let open = live.filter { c in c.closures.live(by: now, retracted: retracted).isEmpty }
            .map { c in
                SafeguardingReview.OpenConcern(concern: c.concern, participant: c.participant, category: c.category, severity: c.severity,
                                               raisedAt: c.raisedAt,
                                               ageDays: Int((now.microseconds - c.raisedAt.microseconds).floorDivided(86_400_000_000)),
                                               escalated: !c.escalations.live(by: now, retracted: retracted).isEmpty)
            }
            .sorted { ($1.severity, $0.raisedAt, $0.concern) < ($0.severity, $1.raisedAt, $1.concern) }
        let unescalated = open.filter { $0.severity >= .high && !$0.escalated && now.microseconds - $0.raisedAt.microseconds > 86_400_000_000 }
        let judged = try settledFlags(reading: read).filter { $0.occurredAt <= now }
        func row(_ f: Flagged) -> SafeguardingReview.Flag {
            .init(event: f.event, participant: f.participant, session: f.session, rule: f.rule, isRetracted: retracted.contains(f.event), position: f.position)
        }
        var byParticipant: [String: [Concern]] = [:]
        for c in live { byParticipant[c.participant, default: []].append(c) }
        var repeated: [(String, [String])] = []
        for (p, list) in byParticipant where list.count > 1 {
            let sorted = list.sorted { ($0.raisedAt, $0.concern) < ($1.raisedAt, $1.concern) }
            let window: Int64 = 90 * 86_400_000_000
            let close = zip(sorted, sorted.dropFirst()).contains { $1.raisedAt.microseconds - $0.raisedAt.microseconds <= window }
            if close { repeated.append((p, sorted.map(\.concern))) }
        }
        let active = flags.all(by: now).map {
            SafeguardingReview.FlagRow(participant: $0.participant, flag: $0.flag, raisedAt: $0.raised.occurredAt,
                                       reviewBy: $0.reviewBy, reviewOverdue: $0.isReviewOverdue(at: now))
        }
        return SafeguardingReview(activeFlags: active, openConcerns: open, unescalatedHighConcerns: unescalated,
                                  flaggedAttendances: judged.filter { !$0.isSurvey }.map(row), flaggedSurveys: judged.filter(\.isSurvey).map(row),
                                  repeatedConcerns: repeated.sorted { $0.0 < $1.0 }.map { .init(participant: $0.0, concerns: $0.1) })
    }

    /// Every flagged attendance and survey, in log order: those judged while folding, and those of
    /// unsettled people judged again now, from their activities read back, against their final record.
    func settledFlags(reading read: StreamReader) throws -> [Flagged] {
        let unsettled = people.filter(\.isUnsettled)
        guard !unsettled.isEmpty else { return flagged }
        var heads: [StreamID: LogPosition] = [:]
        for (p, person) in unsettled { heads.include(person.trail.heads(of: p)) }
        var out = flagged.filter { unsettled[$0.participant] == nil }
        for recorded in try read(heads) {
            guard let event = DomainEvent(recorded) else { continue }
            switch event.event {
            case .attendanceRecorded(let p, let s):
                guard let person = unsettled[p],
                      let rule = ConsentRules.flag(attendanceBy: person.generation, consents: person.liveConsents, at: event.occurredAt) else { continue }
                out.append(Flagged(event: event.id, participant: p, session: s, rule: rule, position: event.position, isSurvey: false, occurredAt: event.occurredAt))
            case .surveyCompleted(let p, let s, _, _):
                guard let person = unsettled[p], let rule = ConsentRules.flag(surveyWith: person.liveConsents, at: event.occurredAt) else { continue }
                out.append(Flagged(event: event.id, participant: p, session: s, rule: rule, position: event.position, isSurvey: true, occurredAt: event.occurredAt))
            default:
                continue
            }
        }
        return out.sorted { $0.position < $1.position }
    }
}
