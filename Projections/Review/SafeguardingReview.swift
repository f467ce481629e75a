import EventStore
import Foundation
import HubDomain

/// The safeguarding review, ready to print.
public struct SafeguardingReview: Sendable {
    /// One active flag: who, which, and whether its review date has passed.
    public struct FlagRow: Sendable {
        public var participant: String, flag: String, raisedAt: Timestamp, reviewBy: ReviewDate?, reviewOverdue: Bool
        var json: JSONValue {
            var o: JSONObject = ["participant": .string(participant), "flag": .string(flag), "raisedAt": .string(raisedAt.rfc3339)]
            if let reviewBy { o["reviewBy"] = .string(reviewBy.text) }
            o["reviewOverdue"] = .bool(reviewOverdue)
            return .object(o)
        }
    }

    public struct OpenConcern: Sendable {
        public var concern: String, participant: String, category: ConcernCategory, severity: Severity
        public var raisedAt: Timestamp, ageDays: Int, escalated: Bool
        var json: JSONValue {
            ["concern": .string(concern), "participant": .string(participant), "category": .string(category.rawValue),
             "severity": .string(severity.rawValue), "raisedAt": .string(raisedAt.rfc3339), "ageDays": .int(Int64(ageDays)),
             "escalated": .bool(escalated)]
        }
    }

    public struct Flag: Sendable {
        public var event: UUID, participant: String, session: String, rule: ConsentRule
        /// A flag is a fact about what was recorded; a later retraction does not erase it, but is shown.
        public var isRetracted: Bool
        /// The flagged event's log position.
        public var position: LogPosition
        var json: JSONValue {
            ["event": .string(event.lowercasedString), "participant": .string(participant), "session": .string(session),
             "rule": .string(rule.rawValue), "retracted": .bool(isRetracted)]
        }
    }

    public struct RepeatedConcerns: Sendable {
        public var participant: String, concerns: [String]
    }

    /// Every active flag, by participant then flag name.
    public var activeFlags: [FlagRow]
    public var openConcerns: [OpenConcern]
    public var unescalatedHighConcerns: [OpenConcern]
    public var flaggedAttendances: [Flag]
    public var flaggedSurveys: [Flag]
    public var repeatedConcerns: [RepeatedConcerns]

    /// The review with only the participants `include` accepts (need-to-know by hub).
    public func limited(to include: (String) -> Bool) -> SafeguardingReview {
        var out = self
        out.activeFlags = activeFlags.filter { include($0.participant) }
        out.openConcerns = openConcerns.filter { include($0.participant) }
        out.unescalatedHighConcerns = unescalatedHighConcerns.filter { include($0.participant) }
        out.flaggedAttendances = flaggedAttendances.filter { include($0.participant) }
        out.flaggedSurveys = flaggedSurveys.filter { include($0.participant) }
        out.repeatedConcerns = repeatedConcerns.filter { include($0.participant) }
        return out
    }

    public func json(head: LogHead?) -> JSONValue {
        ["head": HeadJSON.value(head),
         "activeFlags": .array(activeFlags.map(\.json)),
         "openConcerns": .array(openConcerns.map(\.json)),
         "unescalatedHighConcerns": .array(unescalatedHighConcerns.map(\.json)),
         "flaggedAttendances": .array(flaggedAttendances.map(\.json)),
         "flaggedSurveys": .array(flaggedSurveys.map(\.json)),
         "repeatedConcerns": .array(repeatedConcerns.map { ["participant": .string($0.participant), "concerns": .array($0.concerns.map { .string($0) })] })]
    }
}
