import EventStore
import HubDomain

/// The hub events of the log from its start through one head, read again (on a second thread, as a
/// rebuild reads them) for a question whose answer a fold does not keep: the audit's counts for one
/// period. Made by `ProjectionRunner.replay(through:)` with the head the question's read model was
/// folded to, so both describe the same log.
public struct LogReplay: Sendable {
    let log: EventLog
    let head: LogHead?
    /// The kinds of hub event handed on (others are skipped unread).
    var kinds: HubEvent.Kinds = .all

    /// The same replay, handing on only events of these kinds.
    public func only(_ kinds: HubEvent.Kinds) -> LogReplay {
        var out = self
        out.kinds = kinds
        return out
    }

    /// Hands every hub event through the head to `visit`, in log order.
    ///
    /// - Throws: what reading throws (a damaged log), or `ProjectionError.logChanged` when the log
    ///   no longer holds the head unchanged.
    public func forEach(_ visit: (DomainEvent) -> Void) throws {
        guard let head else { return }
        let pipe = EventPipe(log: log, from: 0, limit: .position(head.position), kinds: kinds)
        defer { pipe.cancel() }
        var reached: LogHead?
        while let chunk = try pipe.next() {
            for event in chunk.events { visit(event) }
            if let last = chunk.last { reached = last }
        }
        guard reached == head else { throw ProjectionError.logChanged(expected: head, found: reached) }
    }
}
