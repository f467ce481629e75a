import EventStore
import Foundation
import HubDomain

/// One active flag as a chronology shows it, ahead of everything else: what, since when, by whom,
/// when it is due for review, and the note in force.
public struct FlagSummary: Sendable {
    public var flag: String
    /// The first raise since the flag was last removed.
    public var raisedAt: Timestamp
    public var raisedBy: String
    /// The newest renewal, when the flag was raised again while active.
    public var renewedAt: Timestamp?
    public var renewedBy: String?
    public var reviewBy: ReviewDate?
    /// The note of the raise in force, read through `SensitiveText` (nil when it is not available).
    public var note: String?

    public func isReviewOverdue(at now: Timestamp) -> Bool { reviewBy?.isOverdue(at: now) ?? false }

    /// `{flag, raisedAt, raisedBy, renewedAt?, renewedBy?, reviewBy?, note}` (`note` null when not available).
    public var json: JSONValue {
        var o: JSONObject = ["flag": .string(flag), "raisedAt": .string(raisedAt.rfc3339), "raisedBy": .string(raisedBy)]
        if let renewedAt { o["renewedAt"] = .string(renewedAt.rfc3339) }
        if let renewedBy { o["renewedBy"] = .string(renewedBy) }
        if let reviewBy { o["reviewBy"] = .string(reviewBy.text) }
        o["note"] = note.map { .string($0) } ?? .null
        return .object(o)
    }

    /// The active flags among a participant's chronology entries, by flag name.
    ///
    /// Worked out from the entries themselves (so `--as-of` holds) by the same `ActiveFlags` fold
    /// the rules, the review and the alert daemon use; retracted entries never count.
    public static func active(in entries: [ChronologyEntry]) -> [FlagSummary] {
        let types: Set<String> = [EventType.flagRaised.rawValue, EventType.flagRemoved.rawValue]
        var fold = ActiveFlags()
        var byID: [UUID: RecordedEvent] = [:]
        for entry in entries.sorted(by: { $0.event.position < $1.event.position })
        where types.contains(entry.event.type) && !entry.isRetracted {
            guard let event = DomainEvent(entry.event) else { continue }
            fold.apply(event)
            byID[event.id] = entry.event
        }
        return fold.all.map { f in
            FlagSummary(flag: f.flag, raisedAt: f.raised.occurredAt, raisedBy: f.raised.actor,
                        renewedAt: f.isRenewed ? f.current.occurredAt : nil, renewedBy: f.isRenewed ? f.current.actor : nil,
                        reviewBy: f.reviewBy, note: SensitiveText.read(byID[f.current.event]?.data["note"]))
        }
    }
}
