import EventStore
import Foundation

/// A hub event with typed fields: what a recorded event *means*.
///
/// Made from a `RecordedEvent` by `HubEvent.init?(_:)`, the one codec between
/// stored bytes and the domain. Sensitive text is read through `SensitiveText`.
public enum HubEvent: Sendable, Hashable {
    case participantRegistered(participant: String, generation: Generation, birthYear: Int?, hub: String, region: Region)
    /// The participant now belongs to another hub (and region): who may see them follows from then on.
    case participantMoved(participant: String, hub: String, region: Region)
    case consentGiven(participant: String, scope: ConsentScope, givenBy: ConsentGiver, hasCompetenceNote: Bool)
    case consentWithdrawn(participant: String, scope: ConsentScope)
    case attendanceRecorded(participant: String, session: String)
    case surveyCompleted(participant: String, session: String, happier: Bool, moreConnected: Bool)
    case signpostGiven(participant: String, service: String, category: SignpostCategory)
    /// A safeguarding lead flagged the participant (or renewed an active flag); the note is read through `SensitiveText`.
    case flagRaised(participant: String, flag: String, reviewBy: ReviewDate?)
    case flagRemoved(participant: String, flag: String)
    case referralReceived(referral: String, participant: String, source: ReferralSource, urgent: Bool)
    case referralContacted(referral: String, channel: ContactChannel)
    case referralAccepted(referral: String)
    case referralDeclined(referral: String)
    case referralClosed(referral: String, reason: ClosureReason)
    case sessionHeld(session: String, hub: String, region: Region, programme: String, week: Int, funder: String?)
    case concernRaised(concern: String, participant: String, category: ConcernCategory, severity: Severity, dslInformed: Bool)
    case concernEscalated(concern: String, to: EscalationTarget)
    case concernClosed(concern: String)
    case eventRetracted(event: UUID)
    /// The watch daemon delivered an alert (kind, subject and level name it; see `AlertRecord`).
    case alertRaised(key: String)
    /// An admin granted or revoked a role (`AccessRecords`).
    case accessGranted(actor: String, role: Role, scope: Scope)
    case accessRevoked(actor: String, role: Role)
    /// An admin erased the participant's sensitive values from the vault.
    case participantErased(participant: String)

    /// Decodes a stored event; nil for types that are not hub events (or malformed data).
    public init?(type: String, data: JSONObject) {
        // Hub events first: this runs once per event on every rebuild.
        guard let kind = EventType(rawValue: type) else {
            guard let event = HubEvent.other(type: type, data: data) else { return nil }
            self = event; return
        }
        self.init(kind: kind, fields: data)
    }

    /// The events that are not hub events but that read models fold: alerts raised, and access.
    static func other(type: String, data: JSONObject) -> HubEvent? {
        guard otherTypes.contains(type) else { return nil }
        if type == AlertRecord.type {
            guard let key = AlertRecord.key(of: data) else { return nil }
            return .alertRaised(key: key)
        }
        return HubEvent.access(type: type, data: data)
    }

    /// The types outside `EventType` that read models fold (views and refusals are only listed).
    static let otherTypes = [AlertRecord.type, AccessRecords.granted, AccessRecords.revoked, AccessRecords.erased]

    /// A hub event of a known kind, its fields read through `fields` (a decoded object, or the stored bytes).
    init?<Fields: EventFields>(kind: EventType, fields data: Fields) {
        func s(_ k: StaticString) -> String? { data.string(k) }
        func b(_ k: StaticString) -> Bool? { data.bool(k) }
        func e<T: RawRepresentable>(_ k: StaticString, _: T.Type) -> T? where T.RawValue == String { s(k).flatMap(T.init(rawValue:)) }
        switch kind {
        case .participantRegistered:
            guard let p = s("participant"), let g = e("generation", Generation.self), let h = s("hub"), let r = e("region", Region.self) else { return nil }
            self = .participantRegistered(participant: p, generation: g, birthYear: data["birthYear"]?.intValue.map { Int($0) }, hub: h, region: r)
        case .participantMoved:
            guard let p = s("participant"), let h = s("hub"), let r = e("region", Region.self) else { return nil }
            self = .participantMoved(participant: p, hub: h, region: r)
        case .consentGiven:
            guard let p = s("participant"), let sc = e("scope", ConsentScope.self), let by = e("givenBy", ConsentGiver.self) else { return nil }
            self = .consentGiven(participant: p, scope: sc, givenBy: by, hasCompetenceNote: SensitiveText.isPresent(data["competenceNote"]))
        case .consentWithdrawn:
            guard let p = s("participant"), let sc = e("scope", ConsentScope.self) else { return nil }
            self = .consentWithdrawn(participant: p, scope: sc)
        case .attendanceRecorded:
            guard let p = s("participant"), let se = s("session") else { return nil }
            self = .attendanceRecorded(participant: p, session: se)
        case .surveyCompleted:
            guard let p = s("participant"), let se = s("session"), let h = b("happier"), let m = b("moreConnected") else { return nil }
            self = .surveyCompleted(participant: p, session: se, happier: h, moreConnected: m)
        case .signpostGiven:
            guard let p = s("participant"), let sv = s("service"), let c = e("category", SignpostCategory.self) else { return nil }
            self = .signpostGiven(participant: p, service: sv, category: c)
        case .flagRaised:
            guard let p = s("participant"), let f = s("flag") else { return nil }
            var reviewBy: ReviewDate?
            if let raw = data["reviewBy"], raw != .null {
                guard let text = raw.stringValue, let date = ReviewDate(text) else { return nil }
                reviewBy = date
            }
            self = .flagRaised(participant: p, flag: f, reviewBy: reviewBy)
        case .flagRemoved:
            guard let p = s("participant"), let f = s("flag") else { return nil }
            self = .flagRemoved(participant: p, flag: f)
        case .referralReceived:
            guard let r = s("referral"), let p = s("participant"), let so = e("source", ReferralSource.self), let u = b("urgent") else { return nil }
            self = .referralReceived(referral: r, participant: p, source: so, urgent: u)
        case .referralContacted:
            guard let r = s("referral"), let c = e("channel", ContactChannel.self) else { return nil }
            self = .referralContacted(referral: r, channel: c)
        case .referralAccepted:
            guard let r = s("referral") else { return nil }
            self = .referralAccepted(referral: r)
        case .referralDeclined:
            guard let r = s("referral") else { return nil }
            self = .referralDeclined(referral: r)
        case .referralClosed:
            guard let r = s("referral"), let why = e("reason", ClosureReason.self) else { return nil }
            self = .referralClosed(referral: r, reason: why)
        case .sessionHeld:
            guard let se = s("session"), let h = s("hub"), let r = e("region", Region.self), let pr = s("programme"),
                  let w = data["week"]?.intValue else { return nil }
            self = .sessionHeld(session: se, hub: h, region: r, programme: pr, week: Int(w), funder: s("funder"))
        case .concernRaised:
            guard let c = s("concern"), let p = s("participant"), let cat = e("category", ConcernCategory.self),
                  let sev = e("severity", Severity.self), let d = b("dslInformed") else { return nil }
            self = .concernRaised(concern: c, participant: p, category: cat, severity: sev, dslInformed: d)
        case .concernEscalated:
            guard let c = s("concern"), let to = e("to", EscalationTarget.self) else { return nil }
            self = .concernEscalated(concern: c, to: to)
        case .concernClosed:
            guard let c = s("concern") else { return nil }
            self = .concernClosed(concern: c)
        case .eventRetracted:
            guard let raw = s("event"), let id = UUID(uuidString: raw) else { return nil }
            self = .eventRetracted(event: id)
        }
    }

    /// The access events that read models fold (views and refusals are only listed, never folded).
    static func access(type: String, data: JSONObject) -> HubEvent? {
        func strings(_ key: String) -> Set<String> { Set(data[key]?.arrayValue?.compactMap(\.stringValue) ?? []) }
        switch type {
        case AccessRecords.granted:
            guard let actor = data["actor"]?.stringValue, let role = data["role"]?.stringValue.flatMap(Role.init(rawValue:)) else { return nil }
            return .accessGranted(actor: actor, role: role, scope: Scope(hubs: strings("hubs"), regions: strings("regions")))
        case AccessRecords.revoked:
            guard let actor = data["actor"]?.stringValue, let role = data["role"]?.stringValue.flatMap(Role.init(rawValue:)) else { return nil }
            return .accessRevoked(actor: actor, role: role)
        case AccessRecords.erased:
            guard let participant = data["participant"]?.stringValue else { return nil }
            return .participantErased(participant: participant)
        default:
            return nil
        }
    }

    /// The participant the event is about, where it names one directly.
    public var participant: String? {
        switch self {
        case .participantRegistered(let p, _, _, _, _), .participantMoved(let p, _, _), .consentGiven(let p, _, _, _), .consentWithdrawn(let p, _),
             .attendanceRecorded(let p, _), .surveyCompleted(let p, _, _, _), .signpostGiven(let p, _, _),
             .flagRaised(let p, _, _), .flagRemoved(let p, _),
             .referralReceived(_, let p, _, _), .concernRaised(_, let p, _, _, _), .participantErased(let p):
            return p
        default: return nil
        }
    }
}

/// A recorded hub event: the typed meaning with the store's metadata that read models use.
///
/// It keeps only those fields (not the record's `data`, type name or hashes): a rebuild hands each
/// event to every projection, and carrying the whole record made each hand-over cost more than the fold.
public struct DomainEvent: Sendable {
    public let event: HubEvent
    /// Which case `event` is (read models skip what they do not fold by this byte alone).
    public let kind: HubEvent.Kind
    public let id: UUID
    public let position: LogPosition
    public let occurredAt: Timestamp
    public let recordedAt: Timestamp
    /// The stream, as its entity and id (`StreamKey`): what read models key their tables by.
    public let streamKey: StreamKey
    public var stream: StreamID { streamKey.stream }
    public let streamVersion: StreamVersion
    public let actor: String

    private init(_ event: HubEvent, id: UUID, position: LogPosition, occurredAt: Timestamp, recordedAt: Timestamp,
                 stream: StreamKey, streamVersion: StreamVersion, actor: String) {
        self.event = event; self.kind = event.kind; self.id = id; self.position = position; self.occurredAt = occurredAt
        self.recordedAt = recordedAt; self.streamKey = stream; self.streamVersion = streamVersion; self.actor = actor
    }

    public init?(_ recorded: RecordedEvent) {
        guard let event = HubEvent(type: recorded.type, data: recorded.data) else { return nil }
        self.init(event, id: recorded.id, position: recorded.position, occurredAt: recorded.occurredAt, recordedAt: recorded.recordedAt,
                  stream: StreamKey(recorded.stream), streamVersion: recorded.streamVersion, actor: recorded.actor)
    }

    /// Made straight from the stored bytes (a rebuild's path): nil for events no read model folds,
    /// and for hub events of kinds not in `kinds` (their data is then never read).
    public init?(_ view: RecordView, only kinds: HubEvent.Kinds = .all) {
        var actor = ""
        self.init(view, only: kinds, lastActor: &actor)
    }

    /// The same, reusing the previous record's actor String when it is the same actor (`lastActor`).
    public init?(_ view: RecordView, only kinds: HubEvent.Kinds, lastActor: inout String) {
        let event: HubEvent
        if let type = view.withTypeBytes(EventType.init(utf8:)) {
            guard kinds.contains(type.kind), let hub = HubEvent(kind: type, fields: view.data) else { return nil }
            event = hub
        } else {
            // Alerts and access changes are few: decode those whole; views and refusals are skipped unread.
            guard view.withTypeBytes(HubEvent.mayBeOther), let other = HubEvent.other(type: view.type, data: view.data.object),
                  kinds.contains(other.kind) else { return nil }
            event = other
        }
        self.init(event, id: view.id, position: view.position, occurredAt: view.occurredAt, recordedAt: view.recordedAt,
                  stream: view.withStreamBytes(StreamKey.init(utf8:)), streamVersion: view.streamVersion, actor: view.actor(reusing: &lastActor))
    }
}

extension HubEvent {
    /// Whether a type that is not a hub event's may still be one read models fold (`other`).
    static func mayBeOther(_ type: UnsafeRawBufferPointer) -> Bool {
        otherTypes.contains { type.elementsEqual($0.utf8) }
    }
}

/// What `HubEvent` reads an event's data through: a decoded object, or the stored bytes in place.
public protocol EventFields {
    func string(_ key: String) -> String?
    func bool(_ key: String) -> Bool?
    /// The same for a key written in the program: the stored bytes compare it where it lies (a rebuild
    /// asks several of every event it reads).
    func string(_ key: StaticString) -> String?
    func bool(_ key: StaticString) -> Bool?
    subscript(key: String) -> JSONValue? { get }
}

extension JSONObject: EventFields {
    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func string(_ key: StaticString) -> String? { string(key.description) }
    public func bool(_ key: StaticString) -> Bool? { bool(key.description) }
}

extension DataView: EventFields {}
