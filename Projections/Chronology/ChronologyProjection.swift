import EventStore
import Foundation
import HubDomain

/// Which log positions concern each participant: their own stream, their
/// referrals and concerns, and the sessions they attended.
///
/// It keeps positions, not copies of events; the chronology reads the events
/// themselves through a fetch function the caller supplies.
public struct ChronologyProjection: Projection {
    public static let name = "chronology"

    var positions: [String: [LogPosition]] = [:]
    var streamOwner: [String: String] = [:]
    var sessionHeld: [String: LogPosition] = [:]
    var sessionsShown: [String: Set<String>] = [:]
    var retractions: [UUID: LogPosition] = [:]

    public init() {}

    static let participantPrefix = EntityKind.participant.stream("")

    public mutating func apply(_ event: DomainEvent) {
        let stream = event.recorded.stream.name
        switch event.event {
        case .referralReceived(_, let participant, _, _), .concernRaised(_, let participant, _, _, _):
            streamOwner[stream] = participant
        case .sessionHeld(let session, _, _, _, _, _):
            sessionHeld[session] = event.position
        case .attendanceRecorded(let participant, let session):
            if let held = sessionHeld[session], sessionsShown[participant, default: []].insert(session).inserted {
                positions[participant, default: []].append(held)
            }
        case .eventRetracted(let target):
            retractions[target] = event.position
        default:
            break
        }
        let owner = stream.hasPrefix(Self.participantPrefix) ? String(stream.dropFirst(Self.participantPrefix.count)) : streamOwner[stream]
        if let owner { positions[owner, default: []].append(event.position) }
    }

    /// Whether the log holds anything about this participant.
    public func knows(_ participant: String) -> Bool { positions[participant] != nil }

    /// The participant's chronology in `occurredAt` order (then log order).
    ///
    /// - Parameter fetch: reads one event by position (the log, as the caller opened it).
    public func chronology(of participant: String, fetch: (LogPosition) throws -> RecordedEvent?) throws -> [ChronologyEntry] {
        var entries: [ChronologyEntry] = []
        for position in Set(positions[participant] ?? []) {
            guard let event = try fetch(position) else { continue }
            var retraction: ChronologyEntry.Retraction?
            if let at = retractions[event.id], let r = try fetch(at) {
                retraction = .init(event: r.id, reason: SensitiveText.read(r.data["reason"]) ?? "", recordedAt: r.recordedAt, actor: r.actor)
            }
            entries.append(ChronologyEntry(event: event, retraction: retraction))
        }
        return entries.sorted { ($0.event.occurredAt, $0.event.position) < ($1.event.occurredAt, $1.event.position) }
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
