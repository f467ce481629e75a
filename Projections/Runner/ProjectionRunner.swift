import EventStore
import Foundation
import Synchronization
import HubDomain

/// A read model and the head of the log it was folded from.
public struct Folded<Model: Sendable>: Sendable {
    public var model: Model
    /// The last event folded in, or nil when none was.
    public var head: LogHead?
}

/// Feeds projections events from the log, resuming from their checkpoints and saving new ones.
///
/// A checkpoint is trusted only if the log still holds the same hash at its
/// position; otherwise it is discarded and the model is rebuilt from position 0.
/// Checkpoints are saved only for runs to the head (never for `--as-of`).
public struct ProjectionRunner: Sendable {
    public let log: EventLog
    /// A checkpoint is rewritten only when at least this many events were folded since it: a
    /// read command that finds a handful of new events (its own recorded view, say) folds them
    /// again next time rather than rewriting megabytes of state. 1 (the default) always saves.
    public var minimumEventsToSave: Int

    /// Every projection the CLI serves, by checkpoint name.
    public static let all: [any Projection.Type] = [ChronologyProjection.self, ReviewProjection.self,
                                                    ReferralProjection.self, AuditProjection.self, AlertProjection.self,
                                                    AccessProjection.self, LocationProjection.self]

    public init(log: EventLog, minimumEventsToSave: Int = 1) {
        self.log = log
        self.minimumEventsToSave = max(1, minimumEventsToSave)
    }

    /// The setting read commands use: save after a thousand new events, not after each one.
    public static let readerSaveThreshold = 1_000

    /// The projection caught up to `limit` (or the head), from its checkpoint when one is usable.
    public func run<P: Projection>(_ type: P.Type, limit: ReadLimit? = nil, useCheckpoint: Bool = true) throws -> Folded<P> {
        let results = try runAll([type], limit: limit, useCheckpoint: useCheckpoint)
        guard let model = results.models.first as? P else { return Folded(model: P(), head: results.head) }
        return Folded(model: model, head: results.head)
    }

    /// Several projections caught up in one pass over the log, each from its own checkpoint.
    public func runAll(_ types: [any Projection.Type], limit: ReadLimit? = nil,
                       useCheckpoint: Bool = true) throws -> (models: [any Projection], head: LogHead?) {
        var models: [any Projection] = []
        var starts: [LogPosition] = []
        var heads: [LogHead?] = []
        for type in types {
            var model: any Projection = type.init()
            var head: LogHead?
            if useCheckpoint {
                if let (saved, savedHead) = validCheckpoint(type) {
                    if limit.map({ withinLimit(savedHead, $0) }) ?? true {
                        model = saved
                        head = savedHead
                    }
                } else if log.loadCheckpoint(named: type.name) != nil {
                    // Saved against a log that no longer holds it (restored, rewritten): never trusted, so remove it.
                    try log.discardCheckpoints(named: type.name)
                }
            }
            models.append(model); starts.append((head?.position ?? -1) + 1); heads.append(head)
        }
        var head: LogHead? = heads.compactMap { $0 }.min { $0.position < $1.position }
        let (last, folded) = try foldForward(&models, starts: starts, limit: limit)
        if let last { head = last }
        if starts.min() ?? 0 > 0 && last == nil, let latest = heads.compactMap({ $0 }).max(by: { $0.position < $1.position }) { head = latest }
        if limit == nil, let head { try save(models.indices.filter { folded[$0] >= minimumEventsToSave }.map { models[$0] }, head: head) }
        return (models, head)
    }

    /// Folds every event from the earliest start into the models (each from its own start), on two
    /// threads; returns the last event folded and how many each model took.
    ///
    /// The reading thread folds one group of projections into each chunk as soon as it has decoded it,
    /// then hands the chunk on; this thread folds the other group. No barrier between them: on two
    /// cores, reading plus the lighter group on one thread and the heavier folds on the other keeps
    /// both busy. Each projection is touched by one thread only; the reading thread has finished
    /// (`cancel` waits for it) before any model is read here.
    func foldForward(_ models: inout [any Projection], starts: [LogPosition], limit: ReadLimit?) throws -> (LogHead?, [Int]) {
        let groups = FoldGroups(models.map { type(of: $0) }, readerWeight: FoldGroups.readingWeight)
        let kinds = models.reduce([] as HubEvent.Kinds) { $0.union(type(of: $1).folds) }
        return try models.withUnsafeMutableBufferPointer { buffer -> (LogHead?, [Int]) in
            try fold(into: FoldTarget(models: buffer, starts: starts), groups: groups, kinds: kinds, limit: limit)
        }
    }

    private func fold(into target: FoldTarget, groups: FoldGroups, kinds: HubEvent.Kinds, limit: ReadLimit?) throws -> (LogHead?, [Int]) {
        var head: LogHead?
        var folded = [Int](repeating: 0, count: target.starts.count)
        let onReadingThread = groups.members[0]
        let folding: (@Sendable (EventPipe.Chunk) -> Void)? = onReadingThread.isEmpty ? nil : { @Sendable chunk in target.fold(onReadingThread, chunk) }
        let pipe = EventPipe(log: log, from: target.starts.min() ?? 0, limit: limit, kinds: kinds, folding: folding)
        defer { pipe.cancel() }
        while let chunk = try pipe.next() {
            target.fold(groups.members[1], chunk)
            for i in target.starts.indices { folded[i] += chunk.count(from: target.starts[i]) }
            if let last = chunk.last { head = last }
        }
        return (head, folded)
    }

    /// Read models a long-lived process keeps in memory between questions (the daemon between cycles),
    /// with how many events each has folded since its checkpoint was last written.
    public struct HeldModels: Sendable {
        public internal(set) var models: [any Projection]
        public internal(set) var head: LogHead?
        var unsaved: [Int]
    }

    /// Folds the projections from their checkpoints (saving as `runAll` does) and keeps them.
    public func hold(_ types: [any Projection.Type]) throws -> HeldModels {
        let (models, head) = try runAll(types)
        return HeldModels(models: models, head: head, unsaved: [Int](repeating: 0, count: models.count))
    }

    /// Held models brought up to the head, each checkpoint rewritten once `minimumEventsToSave` events
    /// have gathered since it was. A log that no longer holds the models' head means folding them
    /// again from their checkpoints.
    public func catchUp(_ held: HeldModels) throws -> HeldModels {
        guard let head = held.head else { return try hold(held.models.map { type(of: $0) }) }
        guard let event = try? log.event(at: head.position), event.hash == head.hash else {
            return try hold(held.models.map { type(of: $0) })
        }
        var next = held
        let (last, folded) = try foldForward(&next.models, starts: [LogPosition](repeating: head.position + 1, count: held.models.count), limit: nil)
        guard let last else { return held }
        next.head = last
        for i in next.models.indices {
            next.unsaved[i] += folded[i]
            if next.unsaved[i] >= minimumEventsToSave {
                try save(next.models[i], head: last)
                next.unsaved[i] = 0
            }
        }
        return next
    }

    /// Writes the checkpoint of every held model with unsaved events (a daemon stopping).
    public func saveUnsaved(_ held: HeldModels) throws {
        guard let head = held.head else { return }
        for i in held.models.indices where held.unsaved[i] > 0 { try save(held.models[i], head: head) }
    }

    /// A model already in memory, brought up to the head: what a long-lived reader (a service, the
    /// daemon) does instead of loading the checkpoint on every question. If the log no longer holds the
    /// model's head unchanged, the model is folded again from its checkpoint (or from position 0).
    public func catchUp<P: Projection>(_ folded: Folded<P>) throws -> Folded<P> {
        guard let head = folded.head else { return try run(P.self) }
        guard let event = try? log.event(at: head.position), event.hash == head.hash else { return try run(P.self) }
        var model = folded.model
        var newHead = head
        let pipe = EventPipe(log: log, from: head.position + 1, limit: nil)
        defer { pipe.cancel() }
        while let chunk = try pipe.next() {
            for event in chunk.events { model.apply(event) }
            if let last = chunk.last { newHead = last }
        }
        return Folded(model: model, head: newHead)
    }

    /// Reads streams back for the questions read models leave to query time (`StreamReader`).
    public var streamReader: StreamReader { { [log] heads in try log.events(inStreamsEndingAt: heads) } }

    /// The log's hub events from its start through `head` (the head a read model was folded to), to be
    /// read again for a question a fold does not keep the answer to (`AuditProjection.tally`).
    public func replay(through head: LogHead?) -> LogReplay { LogReplay(log: log, head: head, kinds: .all) }

    func withinLimit(_ head: LogHead, _ limit: ReadLimit) -> Bool {
        switch limit {
        case .position(let p): return head.position <= p
        case .recordedBy(let t):
            guard let event = try? log.event(at: head.position) else { return false }
            return event.recordedAt <= t
        }
    }

    /// The saved model, if its head is still in the log unchanged.
    func validCheckpoint(_ type: any Projection.Type) -> (any Projection, LogHead)? {
        guard let checkpoint = log.loadCheckpoint(named: type.name),
              let event = try? log.event(at: checkpoint.head.position), event.hash == checkpoint.head.hash else { return nil }
        var reader = StateReader(checkpoint.state)
        guard (try? reader.int()) == ProjectionRunner.stateTag(type), let model = try? type.init(from: &reader), reader.isAtEnd else { return nil }
        return (model, checkpoint.head)
    }

    /// The first word of every checkpoint's state: the projection's `stateVersion` under a mark no
    /// older state can begin with (they began with a count or a position), so a checkpoint written in
    /// another layout is refused whole instead of read field by field into nonsense.
    static func stateTag(_ type: any Projection.Type) -> Int64 { 0x484C_5354_0000_0000 | Int64(type.stateVersion) }

    /// The state a checkpoint of `model` holds, whole (for tests and tools; saving streams it instead).
    public static func checkpointState(of model: any Projection) -> [UInt8] {
        var writer = StateWriter()
        writeState(of: model, to: &writer)
        return writer.bytes
    }

    /// The layout tag, then the model's state: what every checkpoint holds.
    static func writeState(of model: any Projection, to writer: inout StateWriter) {
        writer.int(stateTag(type(of: model)))
        model.encode(to: &writer)
    }

    /// Encodes the state straight into its checkpoint file, a chunk at a time (never whole in memory).
    func save(_ model: any Projection, head: LogHead) throws {
        try log.saveCheckpoint(head: head, named: type(of: model).name) { write in
            try withoutActuallyEscaping(write) { write in
                var writer = StateWriter(spillingTo: write)
                ProjectionRunner.writeState(of: model, to: &writer)
                try writer.finish()
            }
        }
    }

    /// Saves several models' checkpoints on two threads, split by their saving costs (`FoldGroups`).
    func save(_ models: [any Projection], head: LogHead) throws {
        let groups = FoldGroups(models.map { type(of: $0) }, weights: FoldGroups.savingWeights)
        guard models.count > 1 else {
            for model in models { try save(model, head: head) }
            return
        }
        let failures = Mutex<[any Error]>([])
        DispatchQueue.concurrentPerform(iterations: groups.members.count) { g in
            for i in groups.members[g] {
                do { try save(models[i], head: head) } catch { failures.withLock { $0.append(error) } }
            }
        }
        if let first = failures.withLock({ $0.first }) { throw first }
    }

    /// Discards checkpoints (all, or one projection's) so the next run folds from position 0.
    public func discardCheckpoints(named name: String? = nil) throws {
        try log.discardCheckpoints(named: name)
    }
}

/// The projections of one run split in two groups of about equal cost, so two threads can share the
/// work: `members[0]` folds on the reading thread (whose own cost, `readerWeight`, counts against it),
/// `members[1]` on the caller's; saving splits them by what each costs to save, with no reader weight.
/// The weights are measured costs (bench `rebuild --only NAME`; perf samples of the saving threads).
struct FoldGroups: Sendable {
    let members: [[Int]]

    /// Reading and decoding a million events, in the folding weights' unit (chosen by rebuild timings at 45, 60 and 75).
    static let readingWeight = 75

    /// CPU seconds per million events beyond reading them, in hundredths (bench `rebuild --only NAME`).
    static let foldingWeights: [String: Int] = ["chronology": 23, "review": 23, "referrals": 21, "audit": 9, "locations": 8, "alerts": 2]

    /// Shares of the saving threads' samples after a rebuild of the national log (the review's people and
    /// the audit's and locations' dictionaries cost most to encode, whatever their folds cost).
    static let savingWeights: [String: Int] = ["review": 22, "audit": 12, "chronology": 10, "locations": 9, "referrals": 7, "alerts": 1]

    init(_ types: [any Projection.Type], readerWeight: Int = 0, weights weight: [String: Int] = foldingWeights) {
        var groups: [[Int]] = [[], []], load = [readerWeight, 0]
        for i in types.indices.sorted(by: { (weight[types[$0].name] ?? 1) > (weight[types[$1].name] ?? 1) }) {
            let lighter = load[0] <= load[1] ? 0 : 1
            groups[lighter].append(i)
            load[lighter] += weight[types[i].name] ?? 1
        }
        members = groups
    }
}

/// The models the two threads share: each touches only the projections of its own group, and the
/// runner reads none of them until the reading thread has finished, so the unchecked sharing is sound.
struct FoldTarget: @unchecked Sendable {
    let models: UnsafeMutableBufferPointer<any Projection>
    let starts: [LogPosition]

    func fold(_ group: [Int], _ chunk: EventPipe.Chunk) {
        for i in group { models[i].apply(chunk.events, from: starts[i]) }
    }
}
