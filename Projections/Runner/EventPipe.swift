import EventStore
import Foundation
import HubDomain

/// Reads and decodes the log on a second thread while the caller folds, so a
/// rebuild uses both cores: one turning bytes into domain events, one applying them.
final class EventPipe: @unchecked Sendable {
    // Every mutable property below is guarded by `condition`.
    struct Item: Sendable {
        var position: LogPosition
        var hash: ChainHash
        var event: DomainEvent?
    }

    private let condition = NSCondition()
    private var chunks: [[Item]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let capacity = 4
    static let chunkSize = 2048

    /// Starts reading from `start`, stopping at the first event outside `limit`.
    init(log: EventLog, from start: LogPosition, limit: ReadLimit?) {
        Thread.detachNewThread { [self] in
            var chunk: [Item] = []
            chunk.reserveCapacity(EventPipe.chunkSize)
            do {
                try log.forEach(from: start) { event in
                    if let limit, !limit.includes(event) { return false }
                    chunk.append(Item(position: event.position, hash: event.hash, event: DomainEvent(event)))
                    if chunk.count == EventPipe.chunkSize {
                        guard self.push(chunk) else { return false }
                        chunk.removeAll(keepingCapacity: true)
                    }
                    return true
                }
                if !chunk.isEmpty { _ = self.push(chunk) }
                self.finish(nil)
            } catch {
                self.finish(error)
            }
        }
    }

    private func push(_ chunk: [Item]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    private func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or nil at the end; rethrows what the reader hit.
    func next() throws -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished { condition.wait() }
        if !chunks.isEmpty {
            condition.broadcast()
            return chunks.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the reader early (the caller is done or failed).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
