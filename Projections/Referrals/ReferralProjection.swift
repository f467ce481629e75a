import EventStore
import Foundation
import HubDomain

/// Referrals and what became of them (contacted, accepted, declined, closed), with the attendances
/// needed to find each first attendance.
public struct ReferralProjection: Projection {
    public static let name = "referrals"

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
    }

    struct Stamp: Sendable { var id: UUID; var at: Timestamp }
    struct Attendance: Sendable { var id: UUID; var session: String }
    struct Session: Sendable { var id: UUID; var at: Timestamp }

    var referrals: [String: Referral] = [:]
    var attendances: [String: [Attendance]] = [:]
    var sessions: [String: Session] = [:]
    var retracted: Set<UUID> = []
    /// Per referral, its `ReferralAccepted` events (kept apart and written last, so a checkpoint from
    /// before acceptances existed still reads, as an empty table).
    var acceptances: [String: [Stamp]] = [:]

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        let stamp = Stamp(id: event.id, at: event.occurredAt)
        switch event.event {
        case .referralReceived(let r, let p, let source, let urgent):
            referrals[r] = Referral(referral: r, participant: p, source: source, urgent: urgent, receivedAt: event.occurredAt, eventID: event.id)
        case .referralContacted(let r, _): referrals[r]?.contacts.append(stamp)
        case .referralAccepted(let r): if referrals[r] != nil { acceptances[r, default: []].append(stamp) }
        case .referralDeclined(let r): referrals[r]?.declines.append(stamp)
        case .referralClosed(let r, _): referrals[r]?.closures.append(stamp)
        case .attendanceRecorded(let p, let s): attendances[p, default: []].append(Attendance(id: event.id, session: s))
        case .sessionHeld(let s, _, _, _, _, _): sessions[s] = Session(id: event.id, at: event.occurredAt)
        case .eventRetracted(let target): retracted.insert(target)
        default: break
        }
    }

    public func encode(to w: inout StateWriter) {
        func stamps(_ w: inout StateWriter, _ list: [Stamp]) { w.array(list) { $0.uuid($1.id); $0.time($1.at) } }
        w.dictionary(referrals) { w, r in
            w.string(r.referral); w.string(r.participant); w.raw(r.source); w.bool(r.urgent); w.time(r.receivedAt); w.uuid(r.eventID)
            stamps(&w, r.contacts); stamps(&w, r.declines); stamps(&w, r.closures)
        }
        w.dictionary(attendances) { w, list in w.array(list) { $0.uuid($1.id); $0.string($1.session) } }
        w.dictionary(sessions) { $0.uuid($1.id); $0.time($1.at) }
        w.uuids(retracted)
        w.dictionary(acceptances) { stamps(&$0, $1) }
    }

    public init(from r: inout StateReader) throws {
        func stamps(_ r: inout StateReader) throws -> [Stamp] { try r.array { Stamp(id: try $0.uuid(), at: try $0.time()) } }
        referrals = try r.dictionary { r in
            var item = Referral(referral: try r.string(), participant: try r.string(), source: try r.raw(ReferralSource.self),
                                urgent: try r.bool(), receivedAt: try r.time(), eventID: try r.uuid())
            item.contacts = try stamps(&r); item.declines = try stamps(&r); item.closures = try stamps(&r)
            return item
        }
        attendances = try r.dictionary { r in try r.array { Attendance(id: try $0.uuid(), session: try $0.string()) } }
        sessions = try r.dictionary { Session(id: try $0.uuid(), at: try $0.time()) }
        retracted = try r.uuids()
        acceptances = r.isAtEnd ? [:] : try r.dictionary { try stamps(&$0) }
    }

    /// When the session of the referred person's first attendance on or after the referral was held.
    func firstAttendance(_ r: Referral) -> Timestamp? {
        FirstAttendance.of((attendances[r.participant] ?? []).map { ($0.id, $0.session) }, onOrAfter: r.receivedAt,
                           retracted: retracted) { sessions[$0].map { ($0.id, $0.at) } }
    }

    func live(_ stamps: [Stamp]) -> [Stamp] { stamps.filter { !retracted.contains($0.id) } }

    /// Every live referral's state as of `now`, in referral-id order.
    public func pipeline(now: Timestamp) -> [ReferralStatus] {
        referrals.values.filter { !retracted.contains($0.eventID) }.sorted { $0.referral < $1.referral }.map { r in
            let first = firstAttendance(r)
            let contacted = live(r.contacts).map(\.at).min()
            let accepted = live(acceptances[r.referral] ?? []).map(\.at).min()
            let status: ReferralStatus.Status
            if !live(r.declines).isEmpty { status = .declined }
            else if !live(r.closures).isEmpty { status = .closed }
            else if first != nil { status = .attended }
            else { status = .awaitingFirstAttendance }
            let waiting = status == .awaitingFirstAttendance ? Int((now.microseconds - r.receivedAt.microseconds).floorDivided(86_400_000_000)) : nil
            return ReferralStatus(referral: r.referral, participant: r.participant, source: r.source, urgent: r.urgent,
                                  receivedAt: r.receivedAt, status: status, contactedAt: contacted, acceptedAt: accepted, firstAttendedAt: first,
                                  daysWaiting: waiting)
        }
    }
}

/// One referral in the pipeline: received → contacted → accepted → first attendance, or declined / closed.
///
/// Acceptance is a step, not a status: an accepted referral is still `awaiting-first-attendance` until
/// the person comes. The `daysTo…` figures count from receipt, in decimal days.
public struct ReferralStatus: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case awaitingFirstAttendance = "awaiting-first-attendance", attended, declined, closed
    }

    public var referral: String
    public var participant: String
    public var source: ReferralSource
    public var urgent: Bool
    public var receivedAt: Timestamp
    public var status: Status
    public var contactedAt: Timestamp?
    public var acceptedAt: Timestamp?
    public var firstAttendedAt: Timestamp?
    public var daysWaiting: Int?

    public var daysToFirstContact: Double? { contactedAt.map(daysSinceReceipt) }
    public var daysToAcceptance: Double? { acceptedAt.map(daysSinceReceipt) }
    public var daysToFirstAttendance: Double? { firstAttendedAt.map(daysSinceReceipt) }

    func daysSinceReceipt(_ t: Timestamp) -> Double { Double(t.microseconds - receivedAt.microseconds) / 86_400_000_000 }

    public var json: JSONValue {
        var o: JSONObject = ["referral": .string(referral), "participant": .string(participant), "source": .string(source.rawValue),
                             "urgent": .bool(urgent), "receivedAt": .string(receivedAt.rfc3339), "status": .string(status.rawValue)]
        if let contactedAt { o["contactedAt"] = .string(contactedAt.rfc3339) }
        if let acceptedAt { o["acceptedAt"] = .string(acceptedAt.rfc3339) }
        if let firstAttendedAt { o["firstAttendedAt"] = .string(firstAttendedAt.rfc3339) }
        if let daysWaiting { o["daysWaiting"] = .int(Int64(daysWaiting)) }
        if let d = daysToFirstContact { o["daysToFirstContact"] = .double(d) }
        if let d = daysToAcceptance { o["daysToAcceptance"] = .double(d) }
        if let d = daysToFirstAttendance { o["daysToFirstAttendance"] = .double(d) }
        return .object(o)
    }
}

extension Int64 {
    func floorDivided(_ d: Int64) -> Int64 { let q = self / d; return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q }
}

/// The median of some values, or nil when there are none.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The one definition of a referral's first attendance, shared by the pipeline and the audit: the
/// earliest non-retracted attendance of the referred person at a non-retracted session held on or
/// after the referral's `occurredAt`; the result is when that session was held.
enum FirstAttendance {
    static func of(_ attendances: [(id: UUID, session: String)], onOrAfter receivedAt: Timestamp, retracted: Set<UUID>,
                   session: (String) -> (id: UUID, at: Timestamp)?) -> Timestamp? {
        var first: Timestamp?
        for a in attendances where !retracted.contains(a.id) {
            guard let s = session(a.session), !retracted.contains(s.id), s.at >= receivedAt else { continue }
            if first.map({ s.at < $0 }) ?? true { first = s.at }
        }
        return first
    }
}
