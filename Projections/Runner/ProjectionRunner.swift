import EventStore
import Foundation
import HubDomain

/// A read model and the head of the log it was folded from.
public struct Folded<Model: Sendable>: Sendable {
    public var model: Model
    /// The last event folded in, or nil when none was.
    public var head: LogHead?
}

/// Feeds a projection events from the log, resuming from its checkpoint and saving a new one.
///
/// A checkpoint is trusted only if the log still holds the same hash at its
/// position; otherwise it is discarded and the model is rebuilt from position 0.
public struct ProjectionRunner: Sendable {
    public let log: EventLog

    public init(log: EventLog) { self.log = log }

    /// The projection caught up to `limit` (or the head), from its checkpoint when one is usable.
    public func run<P: Projection>(_ type: P.Type, limit: ReadLimit? = nil, useCheckpoint: Bool = true) throws -> Folded<P> {
        var model = P()
        var head: LogHead?
        if useCheckpoint, let (saved, savedHead) = validCheckpoint(type) {
            if limit.map({ withinLimit(savedHead, $0) }) ?? true {
                model = saved
                head = savedHead
            }
        }
        let start = (head?.position ?? -1) + 1
        var folded = 0
        try log.forEach(from: start) { event in
            if let limit, !limit.includes(event) { return false }
            if let domain = DomainEvent(event) { model.apply(domain) }
            head = LogHead(position: event.position, hash: event.hash)
            folded += 1
            return true
        }
        if limit == nil && folded > 0, let head {
            try save(model, head: head)
        }
        return Folded(model: model, head: head)
    }

    func withinLimit(_ head: LogHead, _ limit: ReadLimit) -> Bool {
        switch limit {
        case .position(let p): return head.position <= p
        case .recordedBy(let t):
            guard let event = try? log.event(at: head.position) else { return false }
            return event.recordedAt <= t
        }
    }

    /// The saved model, if its head is still in the log unchanged.
    func validCheckpoint<P: Projection>(_ type: P.Type) -> (P, LogHead)? {
        guard let checkpoint = log.loadCheckpoint(named: P.name),
              let event = try? log.event(at: checkpoint.head.position), event.hash == checkpoint.head.hash,
              let model = try? JSONDecoder().decode(P.self, from: Data(checkpoint.state)) else { return nil }
        return (model, checkpoint.head)
    }

    func save<P: Projection>(_ model: P, head: LogHead) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try log.saveCheckpoint(Checkpoint(head: head, state: [UInt8](try encoder.encode(model))), named: P.name)
    }

    /// Discards checkpoints (all, or one projection's) so the next run folds from position 0.
    public func discardCheckpoints(named name: String? = nil) throws {
        try log.discardCheckpoints(named: name)
    }
}
