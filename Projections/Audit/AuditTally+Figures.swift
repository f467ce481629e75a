import EventStore
import Foundation
import HubDomain

extension AuditTally {
    /// Added to a session figure's definition when a filter is given.
    static let sessionNote = " Only sessions held at one of the chosen hubs or in one of the chosen regions."
    /// Added to a referral, signpost or concern figure's definition when a filter is given.
    static let participantNote = " Only those whose participant belonged, by the registration or last move (not retracted) before it"
        + " in the log, to one of the chosen hubs or regions."

    /// The name of every figure `figures()` gives, whatever the log holds: what a claim may be about.
    public static let figureNames: [String] = AuditTally(basis: AuditProjection(), period: AuditPeriod(), filter: AuditFilter()).figures().map(\.name)

    /// Every figure, with its definition and working.
    public func figures() -> [AuditFigure] {
        let bySession = filter.isEverything ? "" : AuditTally.sessionNote
        let byParticipant = filter.isEverything ? "" : AuditTally.participantNote
        var figures: [AuditFigure] = []

        var byRegion: [String: Int] = [:], byFunder: [String: Int] = [:]
        for s in sessions.values { byRegion[s.region.rawValue, default: 0] += 1; byFunder[s.funder ?? "none", default: 0] += 1 }
        figures.append(AuditFigure(name: "sessions", value: .int(Int64(sessions.count)),
                                   definition: "Sessions held (SessionHeld, not retracted) whose date falls in the period." + bySession,
                                   breakdowns: [("byRegion", byRegion), ("byFunder", byFunder)]))

        var byGeneration: [String: Int] = [:]
        for p in people { byGeneration[basis.generation(of: p)?.rawValue ?? "unknown", default: 0] += 1 }
        figures.append(AuditFigure(name: "participants", value: .int(Int64(people.count)),
                                   definition: "Distinct participants with at least one attendance (not retracted) at a session in the period." + bySession,
                                   breakdowns: [("byGeneration", byGeneration)]))
        figures.append(AuditFigure(name: "attendances", value: .int(Int64(attendances)),
                                   definition: "Attendances (AttendanceRecorded, not retracted) at sessions in the period." + bySession))

        figures.append(.rate("happierRate", happier, surveys,
                             "Surveys answering happier = true ÷ surveys (SurveyCompleted, not retracted) for sessions in the period." + bySession))
        figures.append(.rate("connectedRate", moreConnected, surveys,
                             "Surveys answering moreConnected = true ÷ surveys for sessions in the period." + bySession))
        figures.append(.rate("surveyResponseRate", surveys, attendances, "Surveys ÷ attendances, for sessions in the period." + bySession))

        let curve = weeklyReturnCurve()
        figures.append(.rate("weeklyReturnRate", curve.reduce(0) { $0 + $1.returned }, curve.reduce(0) { $0 + $1.before },
                             "Over every programme and week w = 2…10 where sessions of weeks w−1 and w exist: Σ|attendees(w−1) ∩ attendees(w)| ÷ Σ|attendees(w−1)|." + bySession))

        var bySource: [String: Int] = [:]
        var days: [Double] = []
        for ids in countedReferrals.values {
            for id in ids {
                guard let r = basis.referrals[id] else { continue }
                bySource[r.source.rawValue, default: 0] += 1
                if let first = firstAttendance[id] { days.append(Double(first.microseconds - r.receivedAt.microseconds) / 86_400_000_000) }
            }
        }
        figures.append(AuditFigure(name: "referrals", value: .int(Int64(bySource.values.reduce(0, +))),
                                   definition: "Referrals received (ReferralReceived, not retracted) in the period." + byParticipant,
                                   breakdowns: [("bySource", bySource)]))
        figures.append(AuditFigure(name: "medianDaysToFirstAttendance", value: median(days).map { .double($0) } ?? .null,
                                   definition: "Median over referrals in the period that have a first attendance of (that session's occurredAt − the referral's occurredAt) ÷ 86,400 s." + byParticipant,
                                   count: days.count))

        figures.append(AuditFigure(name: "signposts", value: .int(Int64(signpostCount)),
                                   definition: "Signposts given (SignpostGiven, not retracted) in the period." + byParticipant, breakdowns: [("byCategory", signposts)]))
        figures.append(AuditFigure(name: "concerns", value: .int(Int64(concernCount)),
                                   definition: "Concerns raised (ConcernRaised, not retracted) in the period; counts only." + byParticipant,
                                   breakdowns: [("byCategory", concernCategories), ("bySeverity", concernSeverities)]))
        return figures
    }

    /// The weekly return rate week by week: for each w = 2…10, Σ|attendees(w−1) ∩ attendees(w)| and Σ|attendees(w−1)|
    /// over programmes that held both weeks in the period (sessions covered by the filter only).
    public func weeklyReturnCurve() -> [(week: Int, returned: Int, before: Int)] {
        (2...10).map { w in
            let previous: UInt16 = 1 << (w - 2), current: UInt16 = 1 << (w - 1)
            var returned = 0, before = 0
            for (programme, held) in weeksHeld where held & previous != 0 && held & current != 0 {
                for weeks in (weeksAttended[programme] ?? [:]).values where weeks & previous != 0 {
                    before += 1
                    if weeks & current != 0 { returned += 1 }
                }
            }
            return (w, returned, before)
        }
    }

    /// Sessions held in the period (and covered by the filter), per calendar month (`YYYY-MM`) and region, months in order.
    public func sessionsByMonth() -> [(month: String, byRegion: [Region: Int])] {
        var table: [String: [Region: Int]] = [:]
        for s in sessions.values { table[String(s.at.dayString.prefix(7)), default: [:]][s.region, default: 0] += 1 }
        return table.keys.sorted().map { ($0, table[$0] ?? [:]) }
    }
}
