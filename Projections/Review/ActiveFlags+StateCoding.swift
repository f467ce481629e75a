import EventStore
import HubDomain

/// The flags fold in a checkpoint: every raise and removal, per participant in log order,
/// with its retraction mark (notes are not in it: they stay in the events).
extension ActiveFlags {
    func encode(to w: inout StateWriter) {
        w.dictionary(marks) { w, list in
            w.array(list) { w, m in
                w.uuid(m.event); w.int(m.position); w.string(m.flag); w.bool(m.isRaise); w.time(m.occurredAt); w.string(m.actor)
                w.optional(m.reviewBy) { $0.string($1.text) }; w.bool(m.isRetracted)
            }
        }
    }

    init(from r: inout StateReader) throws {
        var marks: [String: [Mark]] = [:]
        let table = try r.dictionary { r in
            try r.array { r in
                let event = try r.uuid(), position = try r.int(), flag = try r.string(), isRaise = try r.bool()
                let occurredAt = try r.time(), actor = try r.string()
                let reviewBy = try r.optional { r -> ReviewDate in
                    guard let date = ReviewDate(try r.string()) else { throw StateReader.Malformed() }
                    return date
                }
                return Mark(event: event, position: position, participant: "", flag: flag, isRaise: isRaise,
                            occurredAt: occurredAt, actor: actor, reviewBy: reviewBy, isRetracted: try r.bool())
            }
        }
        for (participant, list) in table {
            marks[participant] = list.map { var m = $0; m.participant = participant; return m }
        }
        self.init(marks: marks)
    }
}
