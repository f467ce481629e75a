import EventStore

extension EventLog {
    /// When a session was held, by its `SessionHeld` that stands (the last not retracted), or nil when the
    /// log holds none. An attendance or survey is dated then unless told otherwise — a register's rows, a
    /// `record` without `--occurred-at` — since that is when it happened, not when it was typed in.
    public func timeHeld(ofSession session: String) throws -> Timestamp? {
        let events = try self.events(in: StreamID(EntityKind.session.stream(session)))
        let retracted = Set(events.compactMap { $0.type == EventType.eventRetracted.rawValue ? $0.data["event"]?.stringValue?.lowercased() : nil })
        return events.last { $0.type == EventType.sessionHeld.rawValue && !retracted.contains($0.id.lowercasedString) }?.occurredAt
    }
}
