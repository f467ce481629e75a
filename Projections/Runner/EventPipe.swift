import EventStore
import Foundation
import HubDomain

/// Reads and decodes the log on a second thread while the caller folds, so a
/// rebuild uses both cores: one turning bytes into domain events, one applying them.
final class EventPipe: @unchecked Sendable {
    /// A run of consecutive log positions: the hub events among them (other events, such as views
    /// and refusals, are skipped but still counted), and the last position and hash it reached.
    struct Chunk: Sendable {
        var events: [DomainEvent] = []
        var first: LogPosition = -1
        var last: LogHead?

        /// How many of the chunk's positions are at or after `start`.
        func count(from start: LogPosition) -> Int {
            guard let last else { return 0 }
            return Int(max(0, last.position - max(first, start) + 1))
        }
    }

    // Every mutable property below is guarded by `condition`.
    private let condition = NSCondition()
    private var chunks: [Chunk] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let capacity = 4
    static let chunkSize = 2048

    /// Starts reading from `start`, stopping at the first event outside `limit`; hub events of kinds
    /// not in `kinds` are skipped unread (their positions still count).
    ///
    /// - Parameter folding: run on the reading thread on each chunk before it is handed on (the
    ///   runner's share of folding that thread takes); it must touch nothing the consumer does.
    init(log: EventLog, from start: LogPosition, limit: ReadLimit?, kinds: HubEvent.Kinds = .all,
         folding: (@Sendable (Chunk) -> Void)? = nil) {
        Thread.detachNewThread { [self] in
            var chunk = Chunk()
            var size = 0
            chunk.events.reserveCapacity(EventPipe.chunkSize + 1024)
            // Events read since the last complete batch stay at the end of the chunk, unconfirmed,
            // until their batch is complete: only then are they handed on.
            var confirmed = 0
            var waitingFirst: LogPosition = -1, waitingLast: LogHead?, waitingCount = 0
            var actor = ""
            do {
                // Hub events are made straight from the stored bytes: no RecordedEvent on the way.
                try log.forEachRecord(from: start, { view in
                    let position = view.position
                    if let limit, !limit.includes(position: position, recordedAt: view.recordedAt) { return false }
                    if waitingLast == nil { waitingFirst = position }
                    waitingLast = LogHead(position: position, hash: view.hash)
                    waitingCount += 1
                    if let event = DomainEvent(view, only: kinds, lastActor: &actor) { chunk.events.append(event) }
                    return true
                }, batchEnded: {
                    guard let last = waitingLast else { return true }
                    if chunk.last == nil { chunk.first = waitingFirst }
                    chunk.last = last
                    confirmed = chunk.events.count
                    size += waitingCount
                    waitingLast = nil
                    waitingCount = 0
                    guard size >= EventPipe.chunkSize else { return true }
                    folding?(chunk)
                    guard self.push(chunk) else { return false }
                    chunk = Chunk()
                    chunk.events.reserveCapacity(EventPipe.chunkSize + 1024)
                    confirmed = 0
                    size = 0
                    return true
                })
                // What follows the last complete batch was never acknowledged: dropped.
                chunk.events.removeSubrange(confirmed...)
                if chunk.last != nil {
                    folding?(chunk)
                    _ = self.push(chunk)
                }
                self.finish(nil)
            } catch {
                self.finish(error)
            }
        }
    }

    private func push(_ chunk: Chunk) -> Bool {
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
    func next() throws -> Chunk? {
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
