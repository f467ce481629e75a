import EventStore
import Foundation
import HubDomain

/// Which streams concern each participant besides their own: their referrals
/// and concerns. Small by design (it grows with people, not events): the
/// chronology itself is read from those streams through the store's index.
public struct ChronologyProjection: Projection {
    public static let name = "chronology"

    var participants: Set<String> = []
    var linkedStreams: [String: [String]] = [:]
    /// The last position folded in, so a chronology never shows events past it.
    var lastPosition: LogPosition = -1

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        lastPosition = event.position
        switch event.event {
        case .referralReceived(_, let participant, _, _), .concernRaised(_, let participant, _, _, _):
            linkedStreams[participant, default: []].append(event.recorded.stream.name)
        case .participantRegistered(let participant, _, _, _, _):
            participants.insert(participant)
        default:
            break
        }
    }

    /// Whether the log holds anything about this participant.
    public func knows(_ participant: String) -> Bool { participants.contains(participant) || linkedStreams[participant] != nil }

    /// The participant's chronology in `occurredAt` order (then log order): their stream, their
    /// referrals' and concerns' streams, and the sessions they attended.
    ///
    /// - Parameter read: the events of a set of streams up to a position (the log, as the caller opened it).
    public func chronology(of participant: String,
                           read: (Set<StreamID>, LogPosition) throws -> [RecordedEvent]) throws -> [ChronologyEntry] {
        var streams: Set<StreamID> = [StreamID(EntityKind.participant.stream(participant))]
        for s in linkedStreams[participant] ?? [] { streams.insert(StreamID(s)) }
        var events = try read(streams, lastPosition)
        var sessions = Set<StreamID>()
        for e in events where e.type == EventType.attendanceRecorded.rawValue {
            if let s = e.data["session"]?.stringValue { sessions.insert(StreamID(EntityKind.session.stream(s))) }
        }
        if !sessions.isEmpty {
            events += try read(sessions, lastPosition).filter { $0.type == EventType.sessionHeld.rawValue || $0.type == EventType.eventRetracted.rawValue }
        }
        var retractions: [UUID: RecordedEvent] = [:]
        for e in events where e.type == EventType.eventRetracted.rawValue {
            if let raw = e.data["event"]?.stringValue, let id = UUID(uuidString: raw) { retractions[id] = e }
        }
        let ids = Set(events.map(\.id))
        var entries: [ChronologyEntry] = []
        for event in events {
            // A session's own retraction belongs in its chronology only if it retracts an event shown here.
            if event.stream.name.hasPrefix(EntityKind.session.stream("")), event.type == EventType.eventRetracted.rawValue,
               let raw = event.data["event"]?.stringValue, let id = UUID(uuidString: raw), !ids.contains(id) { continue }
            let retraction = retractions[event.id].map {
                ChronologyEntry.Retraction(event: $0.id, reason: SensitiveText.read($0.data["reason"]) ?? "", recordedAt: $0.recordedAt, actor: $0.actor)
            }
            entries.append(ChronologyEntry(event: event, retraction: retraction))
        }
        return entries.sorted { ($0.event.occurredAt, $0.event.position) < ($1.event.occurredAt, $1.event.position) }
    }

    public func encode(to w: inout StateWriter) {
        w.int(lastPosition)
        w.array(participants.sorted()) { $0.string($1) }
        w.dictionary(linkedStreams) { w, list in w.array(list) { $0.string($1) } }
    }

    public init(from r: inout StateReader) throws {
        lastPosition = try r.int()
        participants = Set(try r.array { try $0.string() })
        linkedStreams = try r.dictionary { r in try r.array { try $0.string() } }
    }
}

/// One line of a chronology: an event, and its retraction if it was corrected.
public struct ChronologyEntry: Sendable {
    public struct Retraction: Sendable {
        public var event: UUID
        public var reason: String
        public var recordedAt: Timestamp
        public var actor: String
    }

    public var event: RecordedEvent
    public var retraction: Retraction?

    public var isRetracted: Bool { retraction != nil }
    /// Recorded more than a day after it happened: a backdated entry.
    public var isRecordedLate: Bool { event.recordedAt.microseconds - event.occurredAt.microseconds > 86_400_000_000 }

    public var json: JSONValue {
        var o: JSONObject = ["position": .int(event.position), "id": .string(event.id.uuidString.lowercased()),
                             "type": .string(event.type), "stream": .string(event.stream.name),
                             "occurredAt": .string(event.occurredAt.rfc3339), "recordedAt": .string(event.recordedAt.rfc3339),
                             "actor": .string(event.actor), "data": .object(event.data), "retracted": .bool(isRetracted),
                             "recordedLate": .bool(isRecordedLate)]
        if let r = retraction {
            o["retraction"] = ["event": .string(r.event.uuidString.lowercased()), "reason": .string(r.reason),
                               "recordedAt": .string(r.recordedAt.rfc3339), "actor": .string(r.actor)]
        }
        return .object(o)
    }
}

/// `{position, hash}` of the log a read model was computed from.
public enum HeadJSON {
    public static func value(_ head: LogHead?) -> JSONValue {
        guard let head else { return .null }
        return ["position": .int(head.position), "hash": .string(head.hash.hex)]
    }
}
