import EventStore
import Foundation

/// The ids of a register's survey answers at one session, read against the participant's record.
///
/// The first answer a register gives for someone has the register's own derived id, so the same
/// register imported twice changes nothing. When that answer has been retracted (the way a wrong
/// answer is corrected) and the row now gives other answers, those are a new event: they take the
/// next derived id, and importing the corrected register again changes nothing either. An answer
/// that still stands and differs from the row is refused, saying how to correct it.
struct SurveyIDs {
    /// Why a row's answers cannot be recorded.
    struct Refusal: Error { var text: String }

    let session: String
    let log: EventLog

    /// More corrections of one answer than this is not a register any more.
    private static let limit = 100

    static func derived(_ session: String, _ participant: String, correction: Int) -> UUID {
        correction == 0 ? DerivedID.make("register", session, participant, "survey")
                        : DerivedID.make("register", session, participant, "survey", String(correction + 1))
    }

    /// The id the row's answers go under, or why they cannot be recorded.
    func id(for participant: String, happier: Bool, moreConnected: Bool) throws -> Result<UUID, Refusal> {
        let record = try log.events(in: StreamID(EntityKind.participant.stream(participant)))
        guard !record.isEmpty else { return .success(Self.derived(session, participant, correction: 0)) }
        var retracted = Set<String>()
        for event in record where event.type == EventType.eventRetracted.rawValue {
            if let target = event.data["event"]?.stringValue { retracted.insert(target.lowercased()) }
        }
        let byID = Dictionary(record.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for correction in 0..<Self.limit {
            let id = Self.derived(session, participant, correction: correction)
            guard let earlier = byID[id] else { return .success(id) }
            let same = earlier.data["happier"] == .bool(happier) && earlier.data["moreConnected"] == .bool(moreConnected)
            // The same answers: this register again (already recorded, or retracted and left so).
            if same { return .success(id) }
            if !retracted.contains(id.lowercasedString) {
                return .failure(Refusal(text: "\(participant) already answered the exit survey at session \(session) (happier \(Self.word(earlier.data["happier"])), more connected \(Self.word(earlier.data["moreConnected"]))); retract that answer (event \(id.lowercasedString)) first to correct it"))
            }
        }
        return .failure(Refusal(text: "\(participant)'s answers at session \(session) were corrected \(Self.limit) times; record this one with `hubledger record SurveyCompleted`"))
    }

    private static func word(_ value: JSONValue?) -> String { value == .bool(true) ? "yes" : value == .bool(false) ? "no" : "?" }
}
