import EventStore

/// When a flag is due for review: a calendar day or an exact time.
///
/// Staff mostly write a day (`2025-09-30`), meaning "by the end of that day" (UTC), as
/// `--as-of` reads a bare date; an RFC 3339 date-time names the moment itself. The stored
/// spelling is the day as given, or the time in UTC, so the same deadline is always spelled
/// the same way (the alert daemon raises `flag-review-due` once per spelling).
public struct ReviewDate: Sendable, Hashable, CustomStringConvertible {
    /// The stored spelling: `YYYY-MM-DD`, or an RFC 3339 time in UTC.
    public let text: String
    /// The last moment at which the review is still on time.
    public let deadline: Timestamp

    /// Parses `YYYY-MM-DD` or an RFC 3339 date-time; nil for anything else, or an impossible date.
    public init?(_ text: String) {
        guard let t = Timestamp(dateTimeOrEndOfDay: text) else { return nil }
        self.text = text.utf8.count == 10 ? text : t.rfc3339
        deadline = t
    }

    /// Whether the clock has passed the deadline.
    public func isOverdue(at now: Timestamp) -> Bool { now > deadline }

    public var description: String { text }
}
