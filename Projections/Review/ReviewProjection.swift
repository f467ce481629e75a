import EventStore
import Foundation
import HubDomain

/// What the safeguarding lead reviews: active flags first, then open concerns, concerns left
/// unescalated, attendances and surveys the consent rules flag, and people with repeated concerns.
///
/// Attendances and surveys are judged by the consent rules as they are folded, and only the
/// flagged ones are kept: the state grows with people, concerns and flags, not with attendances.
/// A later event can change how an earlier activity is judged — a consent dated before it but
/// recorded after, a retracted consent, a second registration with another generation — and then
/// that person is marked *unsettled*: their activities are read back from the log and judged again
/// when the review is asked for (`review(now:reading:)`), so the answer is always the one a
/// judgement of every activity against the final record would give.
public struct ReviewProjection: Projection {
    public static let name = "review"
    public static let stateVersion = 4
    public static let folds: HubEvent.Kinds = [.participantRegistered, .consentGiven, .consentWithdrawn, .attendanceRecorded, .surveyCompleted,
                                              .concernRaised, .concernEscalated, .concernClosed, .flagRaised, .flagRemoved, .eventRetracted]

    struct Concern: Sendable {
        var concern: String
        var participant: String
        var category: ConcernCategory
        var severity: Severity
        var raisedAt: Timestamp
        var eventID: UUID
        var escalations: [Stamp] = []
        var closures: [Stamp] = []
    }

    /// A consent decision as folded, in the form the consent rules weigh.
    struct Consent: ConsentDecision, Sendable {
        var id: UUID
        var position: LogPosition
        var occurredAt: Timestamp
        var scope: ConsentScope
        var givenBy: ConsentGiver?
        var hasCompetenceNote: Bool
        var isRetracted = false
    }

    /// What the consent rules need of one person, and the way back to their activities.
    struct Person: Sendable {
        /// Their registrations in log order; the last one not retracted says their generation.
        var registrations: [(id: UUID, generation: Generation, isRetracted: Bool)] = []
        var consents: [Consent] = []
        /// The latest `occurredAt` of their attendances and surveys folded: a decision dated after
        /// it cannot change how any of them was judged.
        var latestActivity: Timestamp?
        var trail = ActivityTrail()
        /// Their activities must be judged again from the log (see the type's summary).
        var isUnsettled = false

        var liveConsents: LazyFilterSequence<[Consent]> { consents.lazy.filter { !$0.isRetracted } }
        var generation: Generation? { registrations.last { !$0.isRetracted }?.generation }

        /// Whether a change to their record now could change how their earlier activities were judged.
        func isAffected(byDecisionAt time: Timestamp?) -> Bool {
            guard let latestActivity else { return false }
            return time.map { $0 <= latestActivity } ?? true
        }
    }

    /// An attendance or survey the consent rules flagged.
    struct Flagged: Sendable {
        var event: UUID
        var participant: String
        var session: String
        var rule: ConsentRule
        var position: LogPosition
        var isSurvey: Bool
        /// When the attendance or survey happened: a review as of an earlier time leaves it out.
        var occurredAt: Timestamp
    }

    var concerns: [String: Concern] = [:]
    var people = FoldTable<String, Person>(empty: Person())
    /// Flagged attendances and surveys of settled people, in log order.
    var flagged: [Flagged] = []
    /// Consent decisions recorded outside their person's own stream (only a raw `append` or an
    /// imported log puts one there), by event: a retraction, which goes to its target's stream,
    /// finds every other decision in the person its stream names.
    var strayConsents: [UUID: String] = [:]
    var retracted = IDSet()
    /// Who carries which flag; the alert daemon reads it too (flag-review-due).
    var flags = ActiveFlags()

    public init() {}

    public mutating func apply(_ events: [DomainEvent], from start: LogPosition) {
        events.lend(from: start, kinds: Self.folds) { event in
            switch event.pointee.kind {
            case .attendanceRecorded, .surveyCompleted: judge(event)
            default: apply(event.pointee)
            }
        }
    }

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .participantRegistered(let p, let generation, _, _, _):
            people.update(p) { $0.register(generation, id: event.id) }
        case .consentGiven(let p, let scope, let by, let note):
            decide(p, in: event.streamKey, Consent(id: event.id, position: event.position, occurredAt: event.occurredAt, scope: scope, givenBy: by, hasCompetenceNote: note))
        case .consentWithdrawn(let p, let scope):
            decide(p, in: event.streamKey, Consent(id: event.id, position: event.position, occurredAt: event.occurredAt, scope: scope, givenBy: nil, hasCompetenceNote: false))
        case .attendanceRecorded, .surveyCompleted:
            withUnsafePointer(to: event) { judge($0) }
        case .concernRaised(let c, let p, let category, let severity, _):
            var concern = Concern(concern: c, participant: p, category: category, severity: severity, raisedAt: event.occurredAt, eventID: event.id)
            // Raised again (its first record retracted, to correct it): its escalations and closures stand.
            if let previous = concerns[c] { concern.escalations = previous.escalations; concern.closures = previous.closures }
            concerns[c] = concern
        case .concernEscalated(let c, _): concerns[c]?.escalations.append(Stamp(id: event.id, at: event.occurredAt))
        case .concernClosed(let c): concerns[c]?.closures.append(Stamp(id: event.id, at: event.occurredAt))
        case .flagRaised, .flagRemoved: flags.apply(event)
        case .eventRetracted(let target):
            retracted.insert(target)
            flags.apply(event)
            if let p = strayConsents[target] ?? (event.streamKey.entity == .participant ? event.streamKey.id : nil) { people.updateIfPresent(p) { $0.retract(target) } }
        default: break
        }
    }

    private mutating func decide(_ p: String, in stream: StreamKey, _ consent: Consent) {
        var consent = consent
        consent.isRetracted = retracted.contains(consent.id)
        if !stream.isOwnStream(ofParticipant: p) { strayConsents[consent.id] = p }
        people.update(p) { $0.decide(consent) }
    }

    /// Judges an attendance or survey (read in place) against the record as folded so far; keeps it only if flagged.
    private mutating func judge(_ event: UnsafePointer<DomainEvent>) {
        let p: String, s: String, isSurvey: Bool
        switch event.pointee.event {
        case .attendanceRecorded(let participant, let session): (p, s, isSurvey) = (participant, session, false)
        case .surveyCompleted(let participant, let session, _, _): (p, s, isSurvey) = (participant, session, true)
        default: return
        }
        let at = event.pointee.occurredAt, position = event.pointee.position
        let stream = event.pointee.streamKey
        let rule: ConsentRule? = people.update(p) { person in
            person.noteActivity(at: at, in: stream, position, of: p) { person in
                isSurvey ? ConsentRules.flag(surveyWith: person.liveConsents, at: at)
                         : ConsentRules.flag(attendanceBy: person.generation, consents: person.liveConsents, at: at)
            }
        }
        if let rule {
            flagged.append(Flagged(event: event.pointee.id, participant: p, session: s, rule: rule, position: position, isSurvey: isSurvey, occurredAt: at))
        }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(concerns) { w, c in
            w.string(c.concern); w.string(c.participant); w.raw(c.category); w.raw(c.severity); w.time(c.raisedAt); w.uuid(c.eventID)
            w.stamps(c.escalations); w.stamps(c.closures)
        }
        people.encode(to: &w) { w, person in
            w.array(person.registrations) { w, r in w.uuid(r.id); w.choice(r.generation); w.bool(r.isRetracted) }
            w.array(person.consents) { w, c in
                w.uuid(c.id); w.int(c.position); w.time(c.occurredAt); w.choice(c.scope)
                w.optional(c.givenBy) { $0.choice($1) }; w.bool(c.hasCompetenceNote); w.bool(c.isRetracted)
            }
            w.optional(person.latestActivity) { $0.time($1) }
            person.trail.encode(to: &w)
            w.bool(person.isUnsettled)
        }
        w.array(flagged) { w, f in
            w.uuid(f.event); w.string(f.participant); w.string(f.session); w.choice(f.rule); w.int(f.position); w.bool(f.isSurvey); w.time(f.occurredAt)
        }
        w.uuids(retracted)
        flags.encode(to: &w)
        w.dictionary(Dictionary(uniqueKeysWithValues: strayConsents.map { ($0.key.uuidString, $0.value) })) { $0.string($1) }
    }

    public init(from r: inout StateReader) throws {
        concerns = try r.dictionary { r in
            var c = Concern(concern: try r.string(), participant: try r.string(), category: try r.raw(ConcernCategory.self),
                            severity: try r.raw(Severity.self), raisedAt: try r.time(), eventID: try r.uuid())
            c.escalations = try r.stamps(); c.closures = try r.stamps()
            return c
        }
        people = try FoldTable(from: &r, empty: Person()) { r in
            var person = Person()
            person.registrations = try r.array { r in (id: try r.uuid(), generation: try r.choice(Generation.self), isRetracted: try r.bool()) }
            person.consents = try r.array { r in
                Consent(id: try r.uuid(), position: try r.int(), occurredAt: try r.time(), scope: try r.choice(ConsentScope.self),
                        givenBy: try r.optional { try $0.choice(ConsentGiver.self) }, hasCompetenceNote: try r.bool(), isRetracted: try r.bool())
            }
            person.latestActivity = try r.optional { try $0.time() }
            person.trail = try ActivityTrail(from: &r)
            person.isUnsettled = try r.bool()
            return person
        }
        flagged = try r.array { r in
            Flagged(event: try r.uuid(), participant: try r.string(), session: try r.string(), rule: try r.choice(ConsentRule.self),
                    position: try r.int(), isSurvey: try r.bool(), occurredAt: try r.time())
        }
        retracted = try r.uuids()
        flags = try ActiveFlags(from: &r)
        let stray = try r.dictionary { try $0.string() }
        for (id, p) in stray {
            guard let uuid = UUID(uuidString: id) else { throw StateReader.Malformed() }
            strayConsents[uuid] = p
        }
    }
}

extension ReviewProjection.Person {
    mutating func register(_ generation: Generation, id: UUID) {
        if self.generation != generation && isAffected(byDecisionAt: nil) { isUnsettled = true }
        registrations.append((id, generation, false))
    }

    mutating func decide(_ consent: ReviewProjection.Consent) {
        if isAffected(byDecisionAt: consent.occurredAt) { isUnsettled = true }
        consents.append(consent)
    }

    /// A retracted consent decision or registration no longer counts; their activities may be judged otherwise now.
    mutating func retract(_ id: UUID) {
        if let i = consents.firstIndex(where: { $0.id == id }) {
            consents[i].isRetracted = true
        } else if let i = registrations.firstIndex(where: { $0.id == id }) {
            let before = generation
            registrations[i].isRetracted = true
            guard generation != before else { return }
        } else {
            return
        }
        if isAffected(byDecisionAt: nil) { isUnsettled = true }
    }

    /// Notes an activity and, unless the person is unsettled (judged again when asked), judges it.
    mutating func noteActivity(at time: Timestamp, in stream: StreamKey, _ position: LogPosition, of p: String,
                               judge: (Self) -> ConsentRule?) -> ConsentRule? {
        trail.note(stream, position, of: p)
        if latestActivity.map({ time > $0 }) ?? true { latestActivity = time }
        return isUnsettled ? nil : judge(self)
    }
}
