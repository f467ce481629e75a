import EventStore
import Foundation
import HubDomain

/// What the safeguarding lead reviews: active flags first, then open concerns, concerns left
/// unescalated, attendances and surveys the consent rules flag, and people with repeated concerns.
public struct ReviewProjection: Projection {
    public static let name = "review"

    struct Concern: Sendable {
        var concern: String
        var participant: String
        var category: ConcernCategory
        var severity: Severity
        var raisedAt: Timestamp
        var eventID: UUID
        var escalations: [UUID] = []
        var closures: [UUID] = []
    }

    /// A consent decision as folded (the domain's `ConsentRecord` is made from it when the rules run).
    struct Consent: Sendable {
        var id: UUID
        var position: LogPosition
        var occurredAt: Timestamp
        var scope: ConsentScope
        var givenBy: ConsentGiver?
        var hasCompetenceNote: Bool
    }

    struct Activity: Sendable {
        var id: UUID
        var participant: String
        var session: String
        var at: Timestamp
        var position: LogPosition
    }

    var concerns: [String: Concern] = [:]
    var generations: [String: Generation] = [:]
    var consents: [String: [Consent]] = [:]
    var attendances: [Activity] = []
    var surveys: [Activity] = []
    var retracted: Set<UUID> = []
    /// Who carries which flag; the alert daemon reads it too (flag-review-due).
    var flags = ActiveFlags()

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .participantRegistered(let p, let generation, _, _, _):
            generations[p] = generation
        case .consentGiven(let p, let scope, let by, let note):
            consents[p, default: []].append(Consent(id: event.id, position: event.position, occurredAt: event.occurredAt,
                                                    scope: scope, givenBy: by, hasCompetenceNote: note))
        case .consentWithdrawn(let p, let scope):
            consents[p, default: []].append(Consent(id: event.id, position: event.position, occurredAt: event.occurredAt,
                                                    scope: scope, givenBy: nil, hasCompetenceNote: false))
        case .attendanceRecorded(let p, let s):
            attendances.append(Activity(id: event.id, participant: p, session: s, at: event.occurredAt, position: event.position))
        case .surveyCompleted(let p, let s, _, _):
            surveys.append(Activity(id: event.id, participant: p, session: s, at: event.occurredAt, position: event.position))
        case .concernRaised(let c, let p, let category, let severity, _):
            concerns[c] = Concern(concern: c, participant: p, category: category, severity: severity, raisedAt: event.occurredAt, eventID: event.id)
        case .concernEscalated(let c, _): concerns[c]?.escalations.append(event.id)
        case .concernClosed(let c): concerns[c]?.closures.append(event.id)
        case .flagRaised, .flagRemoved: flags.apply(event)
        case .eventRetracted(let target):
            retracted.insert(target)
            flags.apply(event)
        default: break
        }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(concerns) { w, c in
            w.string(c.concern); w.string(c.participant); w.raw(c.category); w.raw(c.severity); w.time(c.raisedAt); w.uuid(c.eventID)
            w.array(c.escalations) { $0.uuid($1) }; w.array(c.closures) { $0.uuid($1) }
        }
        w.dictionary(generations) { $0.raw($1) }
        w.dictionary(consents) { w, list in
            w.array(list) { w, c in
                w.uuid(c.id); w.int(c.position); w.time(c.occurredAt); w.raw(c.scope)
                w.optional(c.givenBy) { $0.raw($1) }; w.bool(c.hasCompetenceNote)
            }
        }
        func activities(_ w: inout StateWriter, _ list: [Activity]) {
            w.array(list) { w, a in w.uuid(a.id); w.string(a.participant); w.string(a.session); w.time(a.at); w.int(a.position) }
        }
        activities(&w, attendances); activities(&w, surveys)
        w.uuids(retracted)
        flags.encode(to: &w)
    }

    public init(from r: inout StateReader) throws {
        concerns = try r.dictionary { r in
            var c = Concern(concern: try r.string(), participant: try r.string(), category: try r.raw(ConcernCategory.self),
                            severity: try r.raw(Severity.self), raisedAt: try r.time(), eventID: try r.uuid())
            c.escalations = try r.array { try $0.uuid() }; c.closures = try r.array { try $0.uuid() }
            return c
        }
        generations = try r.dictionary { try $0.raw(Generation.self) }
        consents = try r.dictionary { r in
            try r.array { r in
                Consent(id: try r.uuid(), position: try r.int(), occurredAt: try r.time(), scope: try r.raw(ConsentScope.self),
                        givenBy: try r.optional { try $0.raw(ConsentGiver.self) }, hasCompetenceNote: try r.bool())
            }
        }
        func activities(_ r: inout StateReader) throws -> [Activity] {
            try r.array { Activity(id: try $0.uuid(), participant: try $0.string(), session: try $0.string(), at: try $0.time(), position: try $0.int()) }
        }
        attendances = try activities(&r); surveys = try activities(&r)
        retracted = try r.uuids()
        // Written last, so a checkpoint from before flags existed still reads (as no flags).
        flags = r.isAtEnd ? ActiveFlags() : try ActiveFlags(from: &r)
    }

    /// A participant's consent decisions that were not retracted, as the consent rules take them.
    func liveConsents(_ p: String) -> [ConsentRecord] {
        (consents[p] ?? []).filter { !retracted.contains($0.id) }.map {
            ConsentRecord(eventID: $0.id.uuidString.lowercased(), position: $0.position, occurredAt: $0.occurredAt, scope: $0.scope,
                          givenBy: $0.givenBy, hasCompetenceNote: $0.hasCompetenceNote)
        }
    }

    /// The review as of `now` (ages and the 24-hour escalation rule are measured against it).
    public func review(now: Timestamp) -> SafeguardingReview {
        let live = concerns.values.filter { !retracted.contains($0.eventID) }
        let open = live.filter { c in c.closures.allSatisfy { retracted.contains($0) } }
            .map { c in
                SafeguardingReview.OpenConcern(concern: c.concern, participant: c.participant, category: c.category, severity: c.severity,
                                               raisedAt: c.raisedAt,
                                               ageDays: Int((now.microseconds - c.raisedAt.microseconds).floorDivided(86_400_000_000)),
                                               escalated: c.escalations.contains { !retracted.contains($0) })
            }
            .sorted { ($1.severity, $0.raisedAt, $0.concern) < ($0.severity, $1.raisedAt, $1.concern) }
        let unescalated = open.filter { $0.severity >= .high && !$0.escalated && now.microseconds - $0.raisedAt.microseconds > 86_400_000_000 }
        var consentCache: [String: [ConsentRecord]] = [:]
        func decisions(_ p: String) -> [ConsentRecord] {
            if let cached = consentCache[p] { return cached }
            let live = liveConsents(p)
            consentCache[p] = live
            return live
        }
        var flaggedAttendances: [SafeguardingReview.Flag] = []
        for a in attendances {
            if let rule = ConsentRules.flag(attendanceBy: generations[a.participant], consents: decisions(a.participant), at: a.at) {
                flaggedAttendances.append(.init(event: a.id, participant: a.participant, session: a.session, rule: rule, isRetracted: retracted.contains(a.id), position: a.position))
            }
        }
        var flaggedSurveys: [SafeguardingReview.Flag] = []
        for s in surveys {
            if let rule = ConsentRules.flag(surveyWith: decisions(s.participant), at: s.at) {
                flaggedSurveys.append(.init(event: s.id, participant: s.participant, session: s.session, rule: rule, isRetracted: retracted.contains(s.id), position: s.position))
            }
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
        let active = flags.all.map {
            SafeguardingReview.FlagRow(participant: $0.participant, flag: $0.flag, raisedAt: $0.raised.occurredAt,
                                       reviewBy: $0.reviewBy, reviewOverdue: $0.isReviewOverdue(at: now))
        }
        return SafeguardingReview(activeFlags: active, openConcerns: open, unescalatedHighConcerns: unescalated,
                                  flaggedAttendances: flaggedAttendances, flaggedSurveys: flaggedSurveys,
                                  repeatedConcerns: repeated.sorted { $0.0 < $1.0 }.map { .init(participant: $0.0, concerns: $0.1) })
    }
}

/// The safeguarding review, ready to print.
public struct SafeguardingReview: Sendable {
    /// One active flag: who, which, and whether its review date has passed.
    public struct FlagRow: Sendable {
        public var participant: String, flag: String, raisedAt: Timestamp, reviewBy: ReviewDate?, reviewOverdue: Bool
        var json: JSONValue {
            var o: JSONObject = ["participant": .string(participant), "flag": .string(flag), "raisedAt": .string(raisedAt.rfc3339)]
            if let reviewBy { o["reviewBy"] = .string(reviewBy.text) }
            o["reviewOverdue"] = .bool(reviewOverdue)
            return .object(o)
        }
    }

    public struct OpenConcern: Sendable {
        public var concern: String, participant: String, category: ConcernCategory, severity: Severity
        public var raisedAt: Timestamp, ageDays: Int, escalated: Bool
        var json: JSONValue {
            ["concern": .string(concern), "participant": .string(participant), "category": .string(category.rawValue),
             "severity": .string(severity.rawValue), "raisedAt": .string(raisedAt.rfc3339), "ageDays": .int(Int64(ageDays)),
             "escalated": .bool(escalated)]
        }
    }

    public struct Flag: Sendable {
        public var event: UUID, participant: String, session: String, rule: ConsentRule
        /// A flag is a fact about what was recorded; a later retraction does not erase it, but is shown.
        public var isRetracted: Bool
        /// The flagged event's log position.
        public var position: LogPosition
        var json: JSONValue {
            ["event": .string(event.uuidString.lowercased()), "participant": .string(participant), "session": .string(session),
             "rule": .string(rule.rawValue), "retracted": .bool(isRetracted)]
        }
    }

    public struct RepeatedConcerns: Sendable {
        public var participant: String, concerns: [String]
    }

    /// Every active flag, by participant then flag name.
    public var activeFlags: [FlagRow]
    public var openConcerns: [OpenConcern]
    public var unescalatedHighConcerns: [OpenConcern]
    public var flaggedAttendances: [Flag]
    public var flaggedSurveys: [Flag]
    public var repeatedConcerns: [RepeatedConcerns]

    /// The review with only the participants `include` accepts (need-to-know by hub).
    public func limited(to include: (String) -> Bool) -> SafeguardingReview {
        var out = self
        out.activeFlags = activeFlags.filter { include($0.participant) }
        out.openConcerns = openConcerns.filter { include($0.participant) }
        out.unescalatedHighConcerns = unescalatedHighConcerns.filter { include($0.participant) }
        out.flaggedAttendances = flaggedAttendances.filter { include($0.participant) }
        out.flaggedSurveys = flaggedSurveys.filter { include($0.participant) }
        out.repeatedConcerns = repeatedConcerns.filter { include($0.participant) }
        return out
    }

    public func json(head: LogHead?) -> JSONValue {
        ["head": HeadJSON.value(head),
         "activeFlags": .array(activeFlags.map(\.json)),
         "openConcerns": .array(openConcerns.map(\.json)),
         "unescalatedHighConcerns": .array(unescalatedHighConcerns.map(\.json)),
         "flaggedAttendances": .array(flaggedAttendances.map(\.json)),
         "flaggedSurveys": .array(flaggedSurveys.map(\.json)),
         "repeatedConcerns": .array(repeatedConcerns.map { ["participant": .string($0.participant), "concerns": .array($0.concerns.map { .string($0) })] })]
    }
}
