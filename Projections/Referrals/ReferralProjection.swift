import EventStore
import Foundation
import HubDomain

/// Referrals and what became of them (contacted, accepted, declined, closed), and each one's first
/// attendance.
///
/// The first attendance is found as attendances are folded, and only it is kept, not the
/// attendances: the state grows with people, sessions and referrals, not with attendances. When
/// the fold cannot know the answer — the first attendance found was later retracted (or its
/// session was), or a referral was recorded after its person had already attended sessions held
/// on or after it — the referral is *unsettled*, and its person's attendances are read back from
/// the log when the pipeline is asked for (`pipeline(now:reading:)`).
public struct ReferralProjection: Projection {
    public static let name = "referrals"
    public static let stateVersion = 2
    public static let folds: HubEvent.Kinds = [.referralReceived, .referralContacted, .referralAccepted, .referralDeclined, .referralClosed,
                                              .attendanceRecorded, .sessionHeld, .eventRetracted]

    struct Referral: Sendable {
        var referral: String
        var participant: String
        var source: ReferralSource
        var urgent: Bool
        var receivedAt: Timestamp
        var eventID: UUID
        var contacts: [Stamp] = []
        var declines: [Stamp] = []
        var closures: [Stamp] = []
        /// The earliest attendance folded at a session held on or after receipt (retracted since, perhaps).
        var first: Candidate?
        /// Attendances folded before the referral may be its first: read them back when asked.
        var isUnsettled = false
    }

    struct Session: Sendable { var id: UUID; var at: Timestamp }
    /// An attendance that may be a referral's first: when its session was held, and the two events' ids.
    struct Candidate: Sendable { var at: Timestamp; var attendance: UUID; var session: UUID }

    /// What the first attendances need of one person.
    struct Person: Sendable {
        var referrals: [String] = []
        /// When the latest session they attended was held: a referral received after it has no earlier candidate.
        var latestSession: Timestamp?
        /// They attended a session the log did not know when it was folded: every referral of theirs is unsettled.
        var attendedUnknownSession = false
        var trail = ActivityTrail()
    }

    var referrals: [String: Referral] = [:]
    var people = FoldTable<String, Person>(empty: Person())
    var sessions = FoldTable<String, Session?>(empty: nil)
    var retracted = IDSet()
    /// Per referral, its `ReferralAccepted` events.
    var acceptances: [String: [Stamp]] = [:]
    /// A session id was held twice (only a raw `append` can do that): attendances folded against the
    /// first holding may have been judged wrongly, so every first attendance is read back when asked.
    var sessionHeldTwice = false

    public init() {}

    public mutating func apply(_ events: [DomainEvent], from start: LogPosition) {
        events.lend(from: start, kinds: Self.folds) { event in
            if event.pointee.kind == .attendanceRecorded { attend(event) } else { apply(event.pointee) }
        }
    }

    public mutating func apply(_ event: DomainEvent) {
        let stamp = Stamp(id: event.id, at: event.occurredAt)
        switch event.event {
        case .referralReceived(let r, let p, let source, let urgent):
            var referral = Referral(referral: r, participant: p, source: source, urgent: urgent, receivedAt: event.occurredAt, eventID: event.id)
            let person = people[p]
            referral.isUnsettled = person.map { $0.attendedUnknownSession || ($0.latestSession.map { $0 >= event.occurredAt } ?? false) } ?? false
            if let previous = referrals[r], previous.participant != p { people.updateIfPresent(previous.participant) { $0.referrals.removeAll { $0 == r } } }
            if referrals[r]?.participant != p { people.update(p) { $0.referrals.append(r) } }
            // Recorded again (its first receipt retracted, to correct it): its steps stand, and its first
            // attendance is found again from the log, the receipt's time having changed perhaps.
            if let previous = referrals[r] {
                referral.contacts = previous.contacts; referral.declines = previous.declines; referral.closures = previous.closures
                referral.isUnsettled = true
            }
            referrals[r] = referral
        case .referralContacted(let r, _): referrals[r]?.contacts.append(stamp)
        case .referralAccepted(let r): if referrals[r] != nil { acceptances[r, default: []].append(stamp) }
        case .referralDeclined(let r): referrals[r]?.declines.append(stamp)
        case .referralClosed(let r, _): referrals[r]?.closures.append(stamp)
        case .attendanceRecorded: withUnsafePointer(to: event) { attend($0) }
        case .sessionHeld(let s, _, _, _, _, _):
            if (sessions[s] ?? nil) != nil { sessionHeldTwice = true }
            sessions.update(s) { $0 = Session(id: event.id, at: event.occurredAt) }
        case .eventRetracted(let target): retracted.insert(target)
        default: break
        }
    }

    /// A live attendance at a live session is a candidate for each of its person's referrals received by then.
    /// (The attendance is read in place.)
    private mutating func attend(_ event: UnsafePointer<DomainEvent>) {
        guard case .attendanceRecorded(let p, let s) = event.pointee.event else { return }
        let session = sessions[s] ?? nil
        let id = event.pointee.id
        let isCandidate = session.map { !retracted.contains($0.id) } ?? false && !retracted.contains(id)
        let stream = event.pointee.streamKey, position = event.pointee.position
        guard let candidates = people.update(p, { $0.attend(in: stream, position, of: p, sessionAt: session?.at, isCandidate: isCandidate) }),
              let session else { return }
        for r in candidates {
            guard let receivedAt = referrals[r]?.receivedAt, session.at >= receivedAt else { continue }
            if referrals[r]?.first.map({ session.at < $0.at }) ?? true {
                referrals[r]?.first = Candidate(at: session.at, attendance: id, session: session.id)
            }
        }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(referrals) { w, r in
            w.string(r.referral); w.string(r.participant); w.raw(r.source); w.bool(r.urgent); w.time(r.receivedAt); w.uuid(r.eventID)
            w.stamps(r.contacts); w.stamps(r.declines); w.stamps(r.closures)
            w.optional(r.first) { w, c in w.time(c.at); w.uuid(c.attendance); w.uuid(c.session) }
            w.bool(r.isUnsettled)
        }
        people.encode(to: &w) { w, person in
            w.array(person.referrals) { $0.string($1) }
            w.optional(person.latestSession) { $0.time($1) }
            w.bool(person.attendedUnknownSession)
            person.trail.encode(to: &w)
        }
        sessions.encode(to: &w) { w, s in w.optional(s) { $0.uuid($1.id); $0.time($1.at) } }
        w.uuids(retracted)
        w.dictionary(acceptances) { $0.stamps($1) }
        w.bool(sessionHeldTwice)
    }

    public init(from r: inout StateReader) throws {
        referrals = try r.dictionary { r in
            var item = Referral(referral: try r.string(), participant: try r.string(), source: try r.raw(ReferralSource.self),
                                urgent: try r.bool(), receivedAt: try r.time(), eventID: try r.uuid())
            item.contacts = try r.stamps(); item.declines = try r.stamps(); item.closures = try r.stamps()
            item.first = try r.optional { Candidate(at: try $0.time(), attendance: try $0.uuid(), session: try $0.uuid()) }
            item.isUnsettled = try r.bool()
            return item
        }
        people = try FoldTable(from: &r, empty: Person()) { r in
            var person = Person()
            person.referrals = try r.array { try $0.string() }
            person.latestSession = try r.optional { try $0.time() }
            person.attendedUnknownSession = try r.bool()
            person.trail = try ActivityTrail(from: &r)
            return person
        }
        sessions = try FoldTable(from: &r, empty: nil) { r in try r.optional { Session(id: try $0.uuid(), at: try $0.time()) } }
        retracted = try r.uuids()
        acceptances = try r.dictionary { try $0.stamps() }
        sessionHeldTwice = try r.bool()
    }
}

extension ReferralProjection.Person {
    /// Notes an attendance (in `stream` at `position`) at a session held at `sessionAt` (nil: a session the log did not know);
    /// returns the referrals it may be the first attendance of, or nil when it is no candidate.
    mutating func attend(in stream: StreamKey, _ position: LogPosition, of p: String, sessionAt: Timestamp?, isCandidate: Bool) -> [String]? {
        trail.note(stream, position, of: p)
        guard let sessionAt else { attendedUnknownSession = true; return nil }
        guard isCandidate else { return nil }
        if latestSession.map({ sessionAt > $0 }) ?? true { latestSession = sessionAt }
        return referrals.isEmpty ? nil : referrals
    }
}
