import EventStore
import Foundation

/// One step taken on a record (a contact, an escalation, a closure…): the event that took it and
/// when it happened. Kept with its time so a read model can answer "as of a time" (`--now`), not
/// only "now".
struct Stamp: Sendable {
    var id: UUID
    var at: Timestamp
}

extension Sequence<Stamp> {
    /// The steps not retracted that had happened by `now`.
    func live(by now: Timestamp, retracted: IDSet) -> [Stamp] { filter { !retracted.contains($0.id) && $0.at <= now } }
}

extension StateWriter {
    mutating func stamps(_ list: [Stamp]) { array(list) { $0.uuid($1.id); $0.time($1.at) } }
}

extension StateReader {
    mutating func stamps() throws -> [Stamp] { try array { Stamp(id: try $0.uuid(), at: try $0.time()) } }
}
