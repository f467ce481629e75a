import EventStore
import Foundation

/// What the rules need to know about the log so far: which ids exist, which
/// events were retracted, who attended what, which flags are active, and how far
/// each referral has come. Folded from the log, then
/// extended line by line as an import is checked, so a line may refer to
/// something created earlier in the same file.
///
/// Every `record` and `import` folds the whole log, so the fold reads records in place
/// (`RecordView`) and keeps facts (`events`) only about the events something retracts: a first pass
/// finds them. The events an import names otherwise (ids it retries, events it retracts) are read
/// from the log when it is checked (`remember`).
public struct LedgerState: Sendable {
    struct EventFacts: Sendable {
        /// The event's stream, as a number into `streamNames`.
        var stream: Int32
        /// Its type, when it is one of the hub's (nil for views, refusals, access changes…).
        var kind: EventType?
        var position: LogPosition?
        var isRetracted = false
        var creates: (EntityKind, String)?
        var attendance: String?
        /// The participant and session of a survey (one exit survey per attendance).
        var survey: String?
    }

    /// Every stream seen, numbered in order of appearance, with its last version in the log.
    private var streamNumbers: [String: Int32] = [:]
    private(set) var streamNames: [String] = []
    private var streamVersions: [StreamVersion?] = []
    var entities: [EntityKind: Set<String>] = [:]
    /// Every id ever created, retracted or not: an id is never reused.
    var created: [EntityKind: Set<String>] = [:]
    /// Facts about the events retractions name (all of them, for a state folded without a first pass),
    /// about events read back for an import (`remember`), and about the import's own lines.
    var events: [UUID: EventFacts] = [:]
    /// Which logged events' facts the fold keeps (nil: all of them).
    private var keptFacts: Set<UUID>?
    /// Which of an import's own events' facts are kept (nil: all of them): a million-line import
    /// kept a fact for every line, when only the lines a later line retracts are ever looked up.
    private var keptNewFacts: Set<UUID>?
    var attendances: Set<String> = []
    /// Who answered the exit survey at which session (retracted answers removed).
    var surveys: Set<String> = []
    /// Active flags, for the removal rule and the attendance warning.
    public internal(set) var flags = ActiveFlags()
    /// When each referral was received, each concern raised and each session held (keyed by `entityKey`):
    /// no later step may be dated before it, nor an attendance or survey long before it.
    var beganAt: [String: Timestamp] = [:]
    /// Whose each referral and concern is (keyed by `entityKey`), as first recorded: recorded again after a
    /// retraction it must be the same person's, or its steps and its place in a chronology would pass to another.
    var participantOf: [String: String] = [:]
    /// Every hub named by a registration, move or session: a new one spelled like one of them but for case is a slip.
    var hubs: Set<String> = []
    /// Per referral and concern (keyed by `entityKey`), its later steps and when they
    /// happened: contacts, acceptances, declines and closures of a referral, escalations and closures of
    /// a concern (retracted ones are skipped when read).
    var steps: [String: [(event: UUID, type: EventType, at: Timestamp)]] = [:]

    public init() {}

    /// Folds the whole log: first the ids its retractions name, then everything, keeping facts
    /// only about those.
    public static func load(from log: EventLog) throws -> LedgerState {
        var retracted = Set<UUID>()
        try log.forEachRecord({ view in
            // Every retraction read, even one of an unfinished batch: keeping a fact too many is harmless.
            if view.hasType("EventRetracted"), let raw = view.data.string("event"), let target = UUID(uuidString: raw) {
                retracted.insert(target)
            }
            return true
        }, batchEnded: { true })
        var state = LedgerState()
        state.keptFacts = retracted
        var unconfirmed = 0
        try log.forEachRecord({ view in
            state.apply(view)
            unconfirmed += 1
            return true
        }, batchEnded: { unconfirmed = 0; return true })
        state.keptFacts = nil
        guard unconfirmed > 0 else { return state }
        // The log ends in an interrupted write (records never acknowledged, removed by the next writer):
        // fold again, whole batches only.
        state = LedgerState()
        try log.forEach { event in state.apply(event); return true }
        return state
    }

    /// Keeps facts only about the new events (an import's own lines) with these ids: those its
    /// retractions name. A line without an id gets a fresh one no other line can name.
    mutating func keepFactsOfNewEvents(only ids: Set<UUID>) { keptNewFacts = ids }

    public func exists(_ kind: EntityKind, _ id: String) -> Bool { entities[kind]?.contains(id) ?? false }
    public func wasCreated(_ kind: EntityKind, _ id: String) -> Bool { created[kind]?.contains(id) ?? false }
    public func version(of stream: String) -> StreamVersion? { streamNumbers[stream].flatMap { streamVersions[Int($0)] } }
    public var participantCount: Int { entities[.participant]?.count ?? 0 }

    /// The stream an event is in.
    func streamName(of facts: EventFacts) -> String { streamNames[Int(facts.stream)] }

    /// The live later steps of a referral or concern, in log order.
    func liveSteps(of entity: EntityKind, _ id: String) -> [(type: EventType, at: Timestamp)] {
        (steps[LedgerState.entityKey(entity, id)] ?? []).filter { events[$0.event]?.isRetracted != true }.map { ($0.type, $0.at) }
    }

    static func attendanceKey(_ participant: String, _ session: String) -> String { participant + "\u{1F}" + session }

    /// One referral's or concern's key in `beganAt` and `steps`.
    static func entityKey(_ entity: EntityKind, _ id: String) -> String { attendanceKey(entity.rawValue, id) }

    /// The participant and session an attendance key was made of.
    static func parts(ofAttendanceKey key: String) -> (participant: String, session: String) {
        let parts = key.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    /// The number of a stream, numbering it if it is new; with its version in the log when given.
    private mutating func number(of stream: String, version: StreamVersion?) -> Int32 {
        if let number = streamNumbers[stream] {
            if let version { streamVersions[Int(number)] = version }
            return number
        }
        let number = Int32(streamNames.count)
        streamNumbers[stream] = number
        streamNames.append(stream)
        streamVersions.append(version)
        return number
    }

    mutating func apply(_ event: RecordedEvent) {
        let stream = number(of: event.stream.name, version: event.streamVersion)
        apply(id: event.id, stream: stream, kind: EventType(rawValue: event.type), data: event.data, position: event.position,
              occurredAt: event.occurredAt, actor: event.actor)
    }

    mutating func apply(_ view: RecordView) {
        let stream = number(of: view.stream.name, version: view.streamVersion)
        let kind = view.withTypeBytes(EventType.init(utf8:))
        apply(id: view.id, stream: stream, kind: kind, data: view.data, position: view.position,
              occurredAt: view.occurredAt, actor: kind == .flagRaised || kind == .flagRemoved ? view.actor : "")
    }

    /// Records an accepted event's consequences (from the log, or earlier in the same import).
    mutating func apply(id: UUID, stream: String, type: String, data: JSONObject, position: LogPosition?,
                        occurredAt: Timestamp, actor: String) {
        apply(id: id, stream: number(of: stream, version: nil), kind: EventType(rawValue: type), data: data, position: position,
              occurredAt: occurredAt, actor: actor)
    }

    /// Remembers a logged event the fold kept no facts about (one an import retries or retracts). Its
    /// consequences are already in the state; only the facts are added. It is not retracted: the fold
    /// kept facts about every event a retraction names.
    mutating func remember(_ event: RecordedEvent) {
        guard events[event.id] == nil else { return }
        events[event.id] = facts(stream: number(of: event.stream.name, version: nil), kind: EventType(rawValue: event.type),
                                 data: event.data, position: event.position)
    }

    /// What the rules and retractions need to know about one event.
    private func facts<Fields: EventFields>(stream: Int32, kind: EventType?, data: Fields, position: LogPosition?) -> EventFacts {
        var facts = EventFacts(stream: stream, kind: kind, position: position)
        guard let kind else { return facts }
        if kind.isCreation, let entity = kind.entity, let field = Schema.streamField(of: kind), let key = data.string(field) {
            facts.creates = (entity, key)
        }
        if kind == .attendanceRecorded, let p = data.string("participant"), let s = data.string("session") {
            facts.attendance = LedgerState.attendanceKey(p, s)
        }
        if kind == .surveyCompleted, let p = data.string("participant"), let s = data.string("session") {
            facts.survey = LedgerState.attendanceKey(p, s)
        }
        return facts
    }

    private mutating func apply<Fields: EventFields>(id: UUID, stream: Int32, kind: EventType?, data: Fields, position: LogPosition?,
                                                     occurredAt: Timestamp, actor: String) {
        let facts = facts(stream: stream, kind: kind, data: data, position: position)
        // Facts are kept only if something may need them later.
        if (position == nil ? keptNewFacts : keptFacts)?.contains(id) ?? true { events[id] = facts }
        guard let kind else { return }
        if let (entity, key) = facts.creates {
            entities[entity, default: []].insert(key)
            created[entity, default: []].insert(key)
        }
        if let key = facts.attendance { attendances.insert(key) }
        if let key = facts.survey { surveys.insert(key) }
        switch kind {
        case .participantRegistered, .participantMoved, .sessionHeld:
            if let hub = data.string("hub") { hubs.insert(hub) }
            if kind == .sessionHeld, let session = data.string("session") { beganAt[LedgerState.entityKey(.session, session)] = occurredAt }
        case .referralReceived, .concernRaised:
            if let (entity, key) = facts.creates {
                let entityKey = LedgerState.entityKey(entity, key)
                beganAt[entityKey] = occurredAt
                if participantOf[entityKey] == nil, let participant = data.string("participant") { participantOf[entityKey] = participant }
            }
        case .flagRaised, .flagRemoved:
            if let event = HubEvent(kind: kind, fields: data) {
                flags.apply(event, id: id, position: position ?? -1, occurredAt: occurredAt, actor: actor)
            }
        case .referralContacted, .referralAccepted, .referralDeclined, .referralClosed:
            if let r = data.string("referral") { steps[LedgerState.entityKey(.referral, r), default: []].append((id, kind, occurredAt)) }
        case .concernEscalated, .concernClosed:
            if let c = data.string("concern") { steps[LedgerState.entityKey(.concern, c), default: []].append((id, kind, occurredAt)) }
        default:
            break
        }
        if kind == .eventRetracted, let raw = data.string("event"), let target = UUID(uuidString: raw), var retracted = events[target] {
            retracted.isRetracted = true
            if let (entity, key) = retracted.creates { entities[entity]?.remove(key) }
            if let key = retracted.attendance { attendances.remove(key) }
            if let key = retracted.survey { surveys.remove(key) }
            flags.retract(target)
            events[target] = retracted
        }
    }
}
