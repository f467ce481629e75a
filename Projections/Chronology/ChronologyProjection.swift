import EventStore
import Foundation
import HubDomain

/// Which streams concern each participant besides their own: their referrals
/// and concerns. Small by design (it grows with people, not events): the
/// chronology itself is read from those streams through the store's index.
public struct ChronologyProjection: Projection {
    public static let name = "chronology"
    public static let stateVersion = 2

    /// Per participant, the other streams about them: their referrals and concerns.
    var linkedStreams = LinkedStreams()
    /// The last position of every hub stream, so a chronology reads each stream backwards
    /// through the store's index instead of scanning the log.
    var streamHeads = StreamHeads()
    /// The last position folded in, so a chronology never shows events past it.
    var lastPosition: LogPosition = -1

    public init() {}

    public mutating func apply(_ event: DomainEvent) { withUnsafePointer(to: event) { note($0) } }

    public mutating func apply(_ events: [DomainEvent], from start: LogPosition) {
        events.lend(from: start, kinds: Self.folds) { note($0) }
    }

    /// Folds one event, read in place (every event passes through here).
    private mutating func note(_ event: UnsafePointer<DomainEvent>) {
        lastPosition = event.pointee.position
        switch event.pointee.kind {
        case .referralReceived, .concernRaised:
            if let participant = event.pointee.event.participant { linkedStreams.append(event.pointee.streamKey.name, to: participant) }
        case .alertRaised:
            return
        default:
            break
        }
        streamHeads[event.pointee.streamKey] = event.pointee.position
    }

    /// Whether the log holds anything about this participant.
    public func knows(_ participant: String) -> Bool {
        streamHeads[EntityKind.participant.stream(participant)] != nil || linkedStreams[participant] != nil
    }

    /// The streams that hold the participant's own record: their stream, their referrals' and
    /// their concerns' (not the sessions they attended, which are about everyone there), each
    /// with its last position.
    public func recordStreams(of participant: String) -> [StreamID: LogPosition] {
        heads([EntityKind.participant.stream(participant)] + (linkedStreams[participant] ?? []))
    }

    /// The concerns raised about the participant (retracted ones too), by stream name.
    public func concernStreams(of participant: String) -> [String] {
        (linkedStreams[participant] ?? []).filter { $0.hasPrefix(EntityKind.concern.stream("")) }
    }

    func heads(_ streams: [String]) -> [StreamID: LogPosition] {
        var out: [StreamID: LogPosition] = [:]
        for s in streams { if let p = streamHeads[s] { out[StreamID(s)] = p } }
        return out
    }

    /// The participant's chronology in `occurredAt` order (then log order): their stream, their
    /// referrals' and concerns' streams, and the sessions they attended.
    ///
    /// - Parameter read: the events of streams, each given with its last position (`EventLog.events(inStreamsEndingAt:)`).
    public func chronology(of participant: String,
                           read: ([StreamID: LogPosition]) throws -> [RecordedEvent]) throws -> [ChronologyEntry] {
        var events = try read(heads([EntityKind.participant.stream(participant)] + (linkedStreams[participant] ?? [])))
        var sessions = Set<String>()
        for e in events where e.type == EventType.attendanceRecorded.rawValue {
            if let s = e.data["session"]?.stringValue { sessions.insert(EntityKind.session.stream(s)) }
        }
        if !sessions.isEmpty {
            events += try read(heads(Array(sessions))).filter { $0.type == EventType.sessionHeld.rawValue || $0.type == EventType.eventRetracted.rawValue }
        }
        var retractions: [UUID: RecordedEvent] = [:]
        for e in events where e.type == EventType.eventRetracted.rawValue {
            if let raw = e.data["event"]?.stringValue, let id = UUID(uuidString: raw) { retractions[id] = e }
        }
        let ids = Set(events.map(\.id))
        var entries: [ChronologyEntry] = []
        for event in events {
            // A session's own retraction belongs in this chronology only if it retracts an event shown here.
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
        linkedStreams.encode(to: &w)
        streamHeads.encode(to: &w)
    }

    public init(from r: inout StateReader) throws {
        lastPosition = try r.int()
        linkedStreams = try LinkedStreams(from: &r)
        streamHeads = try StreamHeads(from: &r)
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
        var o: JSONObject = ["position": .int(event.position), "id": .string(event.id.lowercasedString),
                             "type": .string(event.type), "stream": .string(event.stream.name),
                             "occurredAt": .string(event.occurredAt.rfc3339), "recordedAt": .string(event.recordedAt.rfc3339),
                             "actor": .string(event.actor), "data": .object(event.data), "retracted": .bool(isRetracted),
                             "recordedLate": .bool(isRecordedLate)]
        if let r = retraction {
            o["retraction"] = ["event": .string(r.event.lowercasedString), "reason": .string(r.reason),
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
