import EventStore
import Foundation

extension CloudEvents {
    /// The hub's rules run over an export's domain events, in order, as `import` runs them over a file: an
    /// export edited by hand or written by another tool must not put in the log what no other way in could
    /// (an unknown generation, an attendance at a session never held, a second registration). Events of
    /// other types (grants, views, alerts, erasures, a raw append's own) are taken as they come, and seen by
    /// the rules that follow (a retraction of one of them).
    ///
    /// - Parameters: `now` bounds how far ahead a time may lie; `file` names the export in problems.
    /// - Returns: every problem, by the export's line and field; none when the export keeps the rules.
    public static func problems(in export: Import, file: String, now: Timestamp) -> [InputProblem] {
        var state = LedgerState()
        var retracted = Set<UUID>()
        for event in export.events where event.type == EventType.eventRetracted.rawValue {
            if let raw = event.data["event"]?.stringValue, let target = UUID(uuidString: raw) { retracted.insert(target) }
        }
        state.keepFactsOfNewEvents(only: retracted)
        var problems: [InputProblem] = []
        for (event, line) in zip(export.events, export.lines) {
            var data = event.data
            guard EventType(rawValue: event.type) != nil else {
                state.apply(id: event.id, stream: event.stream.name, type: event.type, data: data, position: nil,
                            occurredAt: event.occurredAt, actor: event.actor)
                continue
            }
            // A sealed field that came as a digest holds text the rules cannot see; it was checked when first recorded.
            for (field, value) in data where value.sealedDigest != nil { data[field] = .string("[sealed]") }
            let draft = EventDraft(type: event.type, occurredAt: event.occurredAt.rfc3339, data: data, id: event.id, file: file, line: line)
            let (checked, found) = Rules.check(draft, against: state, now: now, actor: event.actor)
            // Named as the export names them: its `occurredAt` is a CloudEvent's `time`, its fields are under `data`.
            problems += found.map { problem in
                var named = problem
                named.field = problem.field.map { $0 == "occurredAt" ? "time" : "data." + $0 }
                return named
            }
            guard let checked else { continue }
            if checked.stream != event.stream {
                problems.append(draft.problem("subject", "a \(event.type) belongs in stream \(checked.stream), not \(event.stream)"))
                continue
            }
            state.apply(id: event.id, stream: event.stream.name, type: event.type, data: checked.data, position: nil,
                        occurredAt: event.occurredAt, actor: event.actor)
        }
        return problems
    }
}
