import EventStore
import Foundation

/// What the rules need to know about the log so far: which ids exist, which
/// events were retracted, who attended what, which flags are active, and how far
/// each referral has come. Folded from the log, then
/// extended line by line as an import is checked, so a line may refer to
/// something created earlier in the same file.
public struct LedgerState: Sendable {
    struct EventFacts: Sendable {
        var stream: String
        var type: String
        var position: LogPosition?
        var isRetracted = false
        var creates: (EntityKind, String)?
        var attendance: String?
    }

    var streamVersions: [String: StreamVersion] = [:]
    var entities: [EntityKind: Set<String>] = [:]
    /// Every id ever created, retracted or not: an id is never reused.
    var created: [EntityKind: Set<String>] = [:]
    var events: [UUID: EventFacts] = [:]
    var attendances: Set<String> = []
    /// Active flags, for the removal rule and the attendance warning.
    public internal(set) var flags = ActiveFlags()
    /// Per referral, its acceptances, declines and closures (retracted ones are skipped when read).
    var referralSteps: [String: [(event: UUID, type: EventType)]] = [:]

    public init() {}

    /// Folds the whole log.
    public static func load(from log: EventLog) throws -> LedgerState {
        var state = LedgerState()
        try log.forEach { event in state.apply(event); return true }
        return state
    }

    public func exists(_ kind: EntityKind, _ id: String) -> Bool { entities[kind]?.contains(id) ?? false }
    public func wasCreated(_ kind: EntityKind, _ id: String) -> Bool { created[kind]?.contains(id) ?? false }
    public func version(of stream: String) -> StreamVersion? { streamVersions[stream] }
    public var participantCount: Int { entities[.participant]?.count ?? 0 }

    /// The live acceptances, declines and closures of a referral, in log order.
    func liveSteps(of referral: String) -> [EventType] {
        (referralSteps[referral] ?? []).filter { events[$0.event]?.isRetracted != true }.map(\.type)
    }

    static func attendanceKey(_ participant: String, _ session: String) -> String { participant + "\u{1F}" + session }

    mutating func apply(_ event: RecordedEvent) {
        streamVersions[event.stream.name] = event.streamVersion
        apply(id: event.id, stream: event.stream.name, type: event.type, data: event.data, position: event.position,
              occurredAt: event.occurredAt, actor: event.actor)
    }

    /// Records an accepted event's consequences (from the log, or earlier in the same import).
    mutating func apply(id: UUID, stream: String, type: String, data: JSONObject, position: LogPosition?,
                        occurredAt: Timestamp, actor: String) {
        var facts = EventFacts(stream: stream, type: type, position: position)
        guard let kind = EventType(rawValue: type) else { events[id] = facts; return }
        if kind.isCreation, let entity = kind.entity, let field = Schema.streamField(of: kind), let key = data[field]?.stringValue {
            entities[entity, default: []].insert(key)
            created[entity, default: []].insert(key)
            facts.creates = (entity, key)
        }
        if kind == .attendanceRecorded, let p = data["participant"]?.stringValue, let s = data["session"]?.stringValue {
            let key = LedgerState.attendanceKey(p, s)
            attendances.insert(key)
            facts.attendance = key
        }
        switch kind {
        case .flagRaised, .flagRemoved:
            if let event = HubEvent(type: type, data: data) {
                flags.apply(event, id: id, position: position ?? -1, occurredAt: occurredAt, actor: actor)
            }
        case .referralAccepted, .referralDeclined, .referralClosed:
            if let r = data["referral"]?.stringValue { referralSteps[r, default: []].append((id, kind)) }
        default:
            break
        }
        if kind == .eventRetracted, let raw = data["event"]?.stringValue, let target = UUID(uuidString: raw), var retracted = events[target] {
            retracted.isRetracted = true
            if let (entity, key) = retracted.creates { entities[entity]?.remove(key) }
            if let key = retracted.attendance { attendances.remove(key) }
            flags.retract(target)
            events[target] = retracted
        }
        events[id] = facts
    }
}
