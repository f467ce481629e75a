import EventStore
import Foundation
import HubDomain

/// When the daemon raises each kind of alert.
public struct AlertPolicy: Sendable {
    /// Days after receipt before a referral with no first attendance raises a warning (urgent at twice this).
    public var threshold: Double = 14
    /// The same for referrals marked urgent.
    public var urgentThreshold: Double = 2
    /// Hours a high or critical concern may stay neither escalated nor closed.
    public var concernHours: Double = 24

    public init(threshold: Double = 14, urgentThreshold: Double = 2) {
        self.threshold = threshold
        self.urgentThreshold = urgentThreshold
    }
}

/// One alert: who or what it is about and why. Never sensitive free text or names (a flag's
/// name is a label staff see on every attendance; its note never leaves the event).
public struct Alert: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case referralAwaitingFirstAttendance = "referral-awaiting-first-attendance"
        case attendanceWithoutConsent = "attendance-without-consent"
        case concernUnescalated = "concern-unescalated"
        /// An active flag's review date has passed without removal or renewal.
        case flagReviewDue = "flag-review-due"
    }

    public enum Level: String, Sendable { case warning, urgent }

    public var kind: Kind
    public var level: Level
    public var participant: String
    /// Where the participant belongs now (`Locations`): what a webhook per region routes on. Nil when
    /// no registration or move places them (every one retracted); every alert is about a participant.
    public var hub: String?
    public var region: String?
    public var referral: String?
    public var concern: String?
    public var event: UUID?
    public var flag: String?
    /// The review date that passed (with `flag`).
    public var reviewBy: String?
    public var daysWaiting: Int?
    /// The log position of the event that triggered it.
    public var position: LogPosition
    public var raisedAt: Timestamp

    public var subject: String {
        if let referral { return referral }
        if let concern { return concern }
        if let event { return event.lowercasedString }
        if let flag { return AlertRecord.flagSubject(participant: participant, flag: flag, reviewBy: reviewBy ?? "") }
        return participant
    }
    public var key: String { AlertRecord.key(kind: kind.rawValue, subject: subject, level: level.rawValue) }

    /// A stable id per kind, subject and level: the `AlertRaised` event's id, and what a consumer
    /// de-duplicates on if a killed daemon printed an alert it had not yet recorded.
    public var id: UUID { DerivedID.make("alert", key) }

    public var json: JSONObject {
        var o: JSONObject = ["id": .string(id.lowercasedString), "kind": .string(kind.rawValue), "level": .string(level.rawValue),
                             "participant": .string(participant)]
        o["hub"] = hub.map { JSONValue.string($0) } ?? JSONValue.null
        o["region"] = region.map { JSONValue.string($0) } ?? JSONValue.null
        if let referral { o["referral"] = .string(referral) }
        if let concern { o["concern"] = .string(concern) }
        if let event { o["event"] = .string(event.lowercasedString) }
        if let flag { o["flag"] = .string(flag) }
        if let reviewBy { o["reviewBy"] = .string(reviewBy) }
        if let daysWaiting { o["daysWaiting"] = .int(Int64(daysWaiting)) }
        o["position"] = .int(position)
        o["raisedAt"] = .string(raisedAt.rfc3339)
        return o
    }

    /// One line for the log on stderr.
    public var summary: String {
        var s = "\(level.rawValue.uppercased()) \(kind.rawValue): participant \(participant)"
        if let hub { s += " (\(hub), \(region ?? "?"))" }
        if let referral { s += ", referral \(referral)" }
        if let concern { s += ", concern \(concern)" }
        if let event { s += ", attendance \(event.lowercasedString)" }
        if let flag { s += ", flag \(flag), review by \(reviewBy ?? "?")" }
        if let daysWaiting { s += ", waiting \(daysWaiting) days" }
        return s + " (position \(position))"
    }
}

/// Which alerts were already delivered, and where the events alerts point at are.
///
/// The rules themselves read the referral pipeline and the safeguarding review,
/// which the daemon folds in the same pass; this projection keeps only what is
/// its own, so nothing is folded twice.
public struct AlertProjection: Projection {
    public static let name = "alerts"
    public static let folds: HubEvent.Kinds = [.referralReceived, .concernRaised, .alertRaised]

    var positions: [String: LogPosition] = [:]
    var raised: Set<String> = []
    /// The `alerts` stream's last version, so raising can expect it unchanged.
    public private(set) var alertsStreamVersion: StreamVersion = -1

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .referralReceived(let r, _, _, _): positions["referral:" + r] = event.position
        case .concernRaised(let c, _, _, _, _): positions["concern:" + c] = event.position
        case .alertRaised(let key):
            raised.insert(key)
            alertsStreamVersion = event.streamVersion
        default: break
        }
    }

    /// Whether an alert with this key was already delivered.
    public func wasRaised(_ key: String) -> Bool { raised.contains(key) }

    /// Every alert due at `now` that has not been delivered yet, in a stable order.
    ///
    /// - Parameters: `referrals`, `review` and `locations` folded to the same head as this projection (the
    ///   review carries the active flags; `locations` places each alert where its participant is now: a
    ///   referral's where the referred person is, a concern's, consent's or flag's where that person is).
    ///   `read` reads back what those models left to question time (`ProjectionRunner.streamReader`).
    /// - Throws: what `read` throws (a damaged log).
    public func due(now: Timestamp, policy: AlertPolicy, referrals: ReferralProjection, review: ReviewProjection,
                    locations: Locations, reading read: StreamReader) throws -> [Alert] {
        var out: [Alert] = []
        let day = 86_400_000_000.0
        for r in try referrals.pipeline(now: now, reading: read) where r.status == .awaitingFirstAttendance {
            let threshold = r.urgent ? policy.urgentThreshold : policy.threshold
            let waited = Double(now.microseconds - r.receivedAt.microseconds) / day
            let position = positions["referral:" + r.referral] ?? -1
            for (level, factor) in [(Alert.Level.warning, 1.0), (.urgent, 2.0)] where waited >= threshold * factor {
                out.append(Alert(kind: .referralAwaitingFirstAttendance, level: level, participant: r.participant, referral: r.referral,
                                 daysWaiting: r.daysWaiting, position: position, raisedAt: now))
            }
        }
        let snapshot = try review.review(now: now, reading: read)
        for f in snapshot.flaggedAttendances where !f.isRetracted {
            out.append(Alert(kind: .attendanceWithoutConsent, level: .warning, participant: f.participant, event: f.event,
                             position: f.position, raisedAt: now))
        }
        for c in snapshot.openConcerns where c.severity >= .high && !c.escalated {
            guard Double(now.microseconds - c.raisedAt.microseconds) >= policy.concernHours * 3_600_000_000 else { continue }
            out.append(Alert(kind: .concernUnescalated, level: c.severity == .critical ? .urgent : .warning, participant: c.participant,
                             concern: c.concern, position: positions["concern:" + c.concern] ?? -1, raisedAt: now))
        }
        for f in review.flags.all(by: now) where f.isReviewOverdue(at: now) {
            out.append(Alert(kind: .flagReviewDue, level: .warning, participant: f.participant, flag: f.flag, reviewBy: f.reviewBy?.text,
                             position: f.current.position, raisedAt: now))
        }
        for i in out.indices {
            let place = locations.place(ofParticipant: out[i].participant)
            out[i].hub = place?.hub
            out[i].region = place?.region
        }
        return out.filter { !raised.contains($0.key) }.sorted { ($0.position, $0.key) < ($1.position, $1.key) }
    }

    public func encode(to w: inout StateWriter) {
        w.dictionary(positions) { $0.int($1) }
        w.array(raised.sorted()) { $0.string($1) }
        w.int(alertsStreamVersion)
    }

    public init(from r: inout StateReader) throws {
        positions = try r.dictionary { try $0.int() }
        raised = Set(try r.array { try $0.string() })
        alertsStreamVersion = try r.int()
    }
}
