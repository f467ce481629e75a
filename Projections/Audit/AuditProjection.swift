import EventStore
import Foundation
import HubDomain

/// Everything the published figures are computed from. Holds counts' raw
/// material (who attended which session, what each survey said), never free text.
///
/// It also keeps where each item belongs, for figures limited to some hubs or regions
/// (`AuditFilter`): a session's hub and region, and for referrals, signposts and concerns the log
/// position of the event, which `ParticipantPlaces` turns into where the participant was then.
public struct AuditProjection: Projection {
    public static let name = "audit"

    struct Session: Sendable {
        var id: UUID
        var at: Timestamp
        var region: Region
        var funder: String?
        var programme: String
        var week: Int
        var hub: String
    }

    struct Attendance: Sendable { var id: UUID; var participant: String; var session: String }
    struct Survey: Sendable { var id: UUID; var session: String; var happier: Bool; var moreConnected: Bool }
    struct Signpost: Sendable {
        var id: UUID; var at: Timestamp; var category: SignpostCategory
        var participant: String; var position: LogPosition
    }
    struct Concern: Sendable {
        var id: UUID; var at: Timestamp; var category: ConcernCategory; var severity: Severity
        var participant: String; var position: LogPosition
    }

    /// What the referral figures need; first attendances come from this projection's own attendances and
    /// sessions, by the pipeline's definition (`FirstAttendance`), not from a second copy of them.
    struct Referral: Sendable { var participant: String; var source: ReferralSource; var receivedAt: Timestamp; var eventID: UUID }

    var referrals: [String: Referral] = [:]
    var sessions: [String: Session] = [:]
    var attendances: [Attendance] = []
    var surveys: [Survey] = []
    var generations: [String: Generation] = [:]
    var signposts: [Signpost] = []
    var concerns: [Concern] = []
    var retracted: Set<UUID> = []
    /// The log position of each referral's `ReferralReceived`, to place it where its participant was then.
    var referralPositions: [String: LogPosition] = [:]
    var places = ParticipantPlaces()

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        places.apply(event)
        switch event.event {
        case .sessionHeld(let s, let hub, let region, let programme, let week, let funder):
            sessions[s] = Session(id: event.id, at: event.occurredAt, region: region, funder: funder, programme: programme, week: week, hub: hub)
        case .attendanceRecorded(let p, let s): attendances.append(Attendance(id: event.id, participant: p, session: s))
        case .surveyCompleted(_, let s, let happier, let connected):
            surveys.append(Survey(id: event.id, session: s, happier: happier, moreConnected: connected))
        case .participantRegistered(let p, let generation, _, _, _): generations[p] = generation
        case .signpostGiven(let p, _, let category):
            signposts.append(Signpost(id: event.id, at: event.occurredAt, category: category, participant: p, position: event.position))
        case .concernRaised(_, let p, let category, let severity, _):
            concerns.append(Concern(id: event.id, at: event.occurredAt, category: category, severity: severity, participant: p, position: event.position))
        case .referralReceived(let r, let p, let source, _):
            referrals[r] = Referral(participant: p, source: source, receivedAt: event.occurredAt, eventID: event.id)
            referralPositions[r] = event.position
        case .eventRetracted(let target): retracted.insert(target)
        default: break
        }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(referrals) { w, r in w.string(r.participant); w.raw(r.source); w.time(r.receivedAt); w.uuid(r.eventID) }
        w.dictionary(sessions) { w, s in
            w.uuid(s.id); w.time(s.at); w.raw(s.region); w.optional(s.funder) { $0.string($1) }; w.string(s.programme); w.int(s.week)
        }
        w.array(attendances) { $0.uuid($1.id); $0.string($1.participant); $0.string($1.session) }
        w.array(surveys) { $0.uuid($1.id); $0.string($1.session); $0.bool($1.happier); $0.bool($1.moreConnected) }
        w.dictionary(generations) { $0.raw($1) }
        w.array(signposts) { $0.uuid($1.id); $0.time($1.at); $0.raw($1.category) }
        w.array(concerns) { $0.uuid($1.id); $0.time($1.at); $0.raw($1.category); $0.raw($1.severity) }
        w.uuids(retracted)
        // Where things belong, written last. A checkpoint from before it ends here, fails to read
        // and is rebuilt: its items have no places, and an empty table would silently drop them.
        w.dictionary(sessions) { $0.string($1.hub) }
        w.array(signposts) { $0.string($1.participant); $0.int($1.position) }
        w.array(concerns) { $0.string($1.participant); $0.int($1.position) }
        w.dictionary(referralPositions) { $0.int($1) }
        places.encode(to: &w)
    }

    public init(from r: inout StateReader) throws {
        referrals = try r.dictionary { r in
            Referral(participant: try r.string(), source: try r.raw(ReferralSource.self), receivedAt: try r.time(), eventID: try r.uuid())
        }
        sessions = try r.dictionary { r in
            Session(id: try r.uuid(), at: try r.time(), region: try r.raw(Region.self), funder: try r.optional { try $0.string() },
                    programme: try r.string(), week: Int(try r.int()), hub: "")
        }
        attendances = try r.array { Attendance(id: try $0.uuid(), participant: try $0.string(), session: try $0.string()) }
        surveys = try r.array { Survey(id: try $0.uuid(), session: try $0.string(), happier: try $0.bool(), moreConnected: try $0.bool()) }
        generations = try r.dictionary { try $0.raw(Generation.self) }
        signposts = try r.array {
            Signpost(id: try $0.uuid(), at: try $0.time(), category: try $0.raw(SignpostCategory.self), participant: "", position: -1)
        }
        concerns = try r.array {
            Concern(id: try $0.uuid(), at: try $0.time(), category: try $0.raw(ConcernCategory.self), severity: try $0.raw(Severity.self),
                    participant: "", position: -1)
        }
        retracted = try r.uuids()
        let hubs = try r.dictionary { try $0.string() }
        guard hubs.count == sessions.count else { throw StateReader.Malformed() }
        for (id, hub) in hubs {
            guard sessions[id] != nil else { throw StateReader.Malformed() }
            sessions[id]?.hub = hub
        }
        let signpostOwners = try r.array { (try $0.string(), try $0.int()) }
        let concernOwners = try r.array { (try $0.string(), try $0.int()) }
        guard signpostOwners.count == signposts.count, concernOwners.count == concerns.count else { throw StateReader.Malformed() }
        for (i, owner) in signpostOwners.enumerated() { (signposts[i].participant, signposts[i].position) = owner }
        for (i, owner) in concernOwners.enumerated() { (concerns[i].participant, concerns[i].position) = owner }
        referralPositions = try r.dictionary { try $0.int() }
        places = try ParticipantPlaces(from: &r)
    }

    /// Sessions held in the period (and covered by `filter`), per calendar month (`YYYY-MM`) and region, months in order.
    public func sessionsByMonth(period: AuditPeriod, filter: AuditFilter = AuditFilter()) -> [(month: String, byRegion: [Region: Int])] {
        var table: [String: [Region: Int]] = [:]
        for s in liveSessions(period: period, filter: filter).values {
            table[String(s.at.dayString.prefix(7)), default: [:]][s.region, default: 0] += 1
        }
        return table.keys.sorted().map { ($0, table[$0] ?? [:]) }
    }

    /// The weekly return rate week by week: for each w = 2…10, Σ|attendees(w−1) ∩ attendees(w)| and Σ|attendees(w−1)|
    /// over programmes that held both weeks in the period (sessions covered by `filter` only).
    public func weeklyReturnCurve(period: AuditPeriod, filter: AuditFilter = AuditFilter()) -> [(week: Int, returned: Int, before: Int)] {
        let liveSessions = liveSessions(period: period, filter: filter)
        var attendees: [String: Set<String>] = [:]
        for a in attendances where !retracted.contains(a.id) && liveSessions[a.session] != nil { attendees[a.session, default: []].insert(a.participant) }
        var weeks: [String: [Int: Set<String>]] = [:]
        for (id, s) in liveSessions { weeks[s.programme, default: [:]][s.week, default: []].formUnion(attendees[id] ?? []) }
        return (2...10).map { w in
            var returned = 0, before = 0
            for programme in weeks.values {
                guard let previous = programme[w - 1], let current = programme[w] else { continue }
                returned += previous.intersection(current).count
                before += previous.count
            }
            return (w, returned, before)
        }
    }

    /// Computes every figure for sessions held within `period` (both ends inclusive; nil = unbounded),
    /// limited to the hubs and regions `filter` covers (see `AuditFilter` for what "covers" means per figure).
    public func figures(period: AuditPeriod, filter: AuditFilter = AuditFilter()) -> [AuditFigure] {
        let liveSessions = liveSessions(period: period, filter: filter)
        let bySession = filter.isEverything ? "" : AuditProjection.sessionNote
        let byParticipant = filter.isEverything ? "" : AuditProjection.participantNote
        var figures: [AuditFigure] = []

        var byRegion: [String: Int] = [:], byFunder: [String: Int] = [:]
        for s in liveSessions.values { byRegion[s.region.rawValue, default: 0] += 1; byFunder[s.funder ?? "none", default: 0] += 1 }
        figures.append(AuditFigure(name: "sessions", value: .int(Int64(liveSessions.count)),
                                   definition: "Sessions held (SessionHeld, not retracted) whose date falls in the period." + bySession,
                                   breakdowns: [("byRegion", byRegion), ("byFunder", byFunder)]))

        let liveAttendances = attendances.filter { !retracted.contains($0.id) && liveSessions[$0.session] != nil }
        var attendees: [String: Set<String>] = [:]
        for a in liveAttendances { attendees[a.session, default: []].insert(a.participant) }
        let people = Set(liveAttendances.map(\.participant))
        var byGeneration: [String: Int] = [:]
        for p in people { byGeneration[generations[p]?.rawValue ?? "unknown", default: 0] += 1 }
        figures.append(AuditFigure(name: "participants", value: .int(Int64(people.count)),
                                   definition: "Distinct participants with at least one attendance (not retracted) at a session in the period." + bySession,
                                   breakdowns: [("byGeneration", byGeneration)]))
        figures.append(AuditFigure(name: "attendances", value: .int(Int64(liveAttendances.count)),
                                   definition: "Attendances (AttendanceRecorded, not retracted) at sessions in the period." + bySession))

        let liveSurveys = surveys.filter { !retracted.contains($0.id) && liveSessions[$0.session] != nil }
        figures.append(.rate("happierRate", liveSurveys.filter(\.happier).count, liveSurveys.count,
                             "Surveys answering happier = true ÷ surveys (SurveyCompleted, not retracted) for sessions in the period." + bySession))
        figures.append(.rate("connectedRate", liveSurveys.filter(\.moreConnected).count, liveSurveys.count,
                             "Surveys answering moreConnected = true ÷ surveys for sessions in the period." + bySession))
        figures.append(.rate("surveyResponseRate", liveSurveys.count, liveAttendances.count,
                             "Surveys ÷ attendances, for sessions in the period." + bySession))

        // Weekly return: per programme, week w-1 attendees who came back in week w.
        var weeks: [String: [Int: Set<String>]] = [:]
        for (id, s) in liveSessions { weeks[s.programme, default: [:]][s.week, default: []].formUnion(attendees[id] ?? []) }
        var returned = 0, before = 0
        for programme in weeks.values {
            for w in 2...10 {
                guard let previous = programme[w - 1], let current = programme[w] else { continue }
                returned += previous.intersection(current).count
                before += previous.count
            }
        }
        figures.append(.rate("weeklyReturnRate", returned, before,
                             "Over every programme and week w = 2…10 where sessions of weeks w−1 and w exist: Σ|attendees(w−1) ∩ attendees(w)| ÷ Σ|attendees(w−1)|." + bySession))

        let pipeline = referrals.filter { id, r in
            !retracted.contains(r.eventID) && period.contains(r.receivedAt) && covers(filter, participant: r.participant, at: referralPositions[id] ?? -1)
        }.values
        var bySource: [String: Int] = [:]
        for r in pipeline { bySource[r.source.rawValue, default: 0] += 1 }
        let referred = Set(pipeline.map(\.participant))
        var attended: [String: [(id: UUID, session: String)]] = [:]
        for a in attendances where referred.contains(a.participant) { attended[a.participant, default: []].append((a.id, a.session)) }
        figures.append(AuditFigure(name: "referrals", value: .int(Int64(pipeline.count)),
                                   definition: "Referrals received (ReferralReceived, not retracted) in the period." + byParticipant,
                                   breakdowns: [("bySource", bySource)]))
        let days = pipeline.compactMap { r -> Double? in
            FirstAttendance.of(attended[r.participant] ?? [], onOrAfter: r.receivedAt, retracted: retracted) { sessions[$0].map { ($0.id, $0.at) } }
                .map { Double($0.microseconds - r.receivedAt.microseconds) / 86_400_000_000 }
        }
        figures.append(AuditFigure(name: "medianDaysToFirstAttendance", value: median(days).map { .double($0) } ?? .null,
                                   definition: "Median over referrals in the period that have a first attendance of (that session's occurredAt − the referral's occurredAt) ÷ 86,400 s." + byParticipant,
                                   count: days.count))

        let liveSignposts = signposts.filter {
            !retracted.contains($0.id) && period.contains($0.at) && covers(filter, participant: $0.participant, at: $0.position)
        }
        var byCategory: [String: Int] = [:]
        for s in liveSignposts { byCategory[s.category.rawValue, default: 0] += 1 }
        figures.append(AuditFigure(name: "signposts", value: .int(Int64(liveSignposts.count)),
                                   definition: "Signposts given (SignpostGiven, not retracted) in the period." + byParticipant, breakdowns: [("byCategory", byCategory)]))
        let liveConcerns = concerns.filter {
            !retracted.contains($0.id) && period.contains($0.at) && covers(filter, participant: $0.participant, at: $0.position)
        }
        var concernCategory: [String: Int] = [:], concernSeverity: [String: Int] = [:]
        for c in liveConcerns { concernCategory[c.category.rawValue, default: 0] += 1; concernSeverity[c.severity.rawValue, default: 0] += 1 }
        figures.append(AuditFigure(name: "concerns", value: .int(Int64(liveConcerns.count)),
                                   definition: "Concerns raised (ConcernRaised, not retracted) in the period; counts only." + byParticipant,
                                   breakdowns: [("byCategory", concernCategory), ("bySeverity", concernSeverity)]))
        return figures
    }
}
