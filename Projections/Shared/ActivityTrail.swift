import EventStore
import HubDomain

/// The way back to one participant's attendances and surveys: the last position of each stream
/// that holds one of them (their own stream, unless a raw `append` or an imported log put one
/// elsewhere).
///
/// Attendances and surveys are most of the log. Read models that must judge them again when a
/// later event changes the answer (a backdated consent, a retracted first attendance) keep this
/// instead of the events, and read them back through the store's per-stream links when asked, so
/// their memory grows with people, not with everything those people did.
struct ActivityTrail: Sendable, Equatable {
    /// The participant's own stream's last position holding an activity, or -1.
    private(set) var own: LogPosition = -1
    /// Other streams holding an activity of theirs, each with its last such position.
    private(set) var elsewhere: [String: LogPosition] = [:]

    init() {}

    /// Notes an attendance or survey of `participant`, in `stream` at `position`.
    mutating func note(_ stream: StreamKey, _ position: LogPosition, of participant: String) {
        if stream.isOwnStream(ofParticipant: participant) { own = position } else { elsewhere[stream.name] = position }
    }

    /// The streams to read back, each with the last position to read from.
    func heads(of participant: String) -> [StreamID: LogPosition] {
        var out: [StreamID: LogPosition] = [:]
        if own >= 0 { out[StreamID(EntityKind.participant.stream(participant))] = own }
        for (name, position) in elsewhere { out[StreamID(name)] = position }
        return out
    }

    func encode(to w: inout StateWriter) {
        w.int(own)
        w.dictionary(elsewhere) { $0.int($1) }
    }

    init(from r: inout StateReader) throws {
        own = try r.int()
        elsewhere = try r.dictionary { try $0.int() }
    }
}

extension [StreamID: LogPosition] {
    /// Both sets of streams, each read from the later of its two positions.
    mutating func include(_ other: [StreamID: LogPosition]) {
        merge(other) { Swift.max($0, $1) }
    }
}

/// How a read model reads again, when asked a question, the few events its fold did not keep:
/// the events of some streams, each read backwards from the position given, in log order
/// (`EventLog.events(inStreamsEndingAt:)`, or `ProjectionRunner.streamReader`).
public typealias StreamReader = ([StreamID: LogPosition]) throws -> [RecordedEvent]
