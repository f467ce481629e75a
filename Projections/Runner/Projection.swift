import EventStore
import HubDomain

/// A read model: a pure fold of hub events, with no I/O and no clock.
///
/// Conformers must be deterministic — the same events in the same order give
/// the same state — and must survive an encode/decode round trip unchanged,
/// because a runner resumes them from a checkpoint and catch-up must equal a
/// rebuild byte for byte.
public protocol Projection: Sendable {
    /// The checkpoint's name under the store.
    static var name: String { get }
    /// The layout of the encoded state: raised whenever `encode(to:)` changes, so a checkpoint in
    /// an older layout is never misread — it fails to load and the model is folded again.
    static var stateVersion: Int { get }
    /// The kinds of event `apply` does anything with: a rebuild hands it no others. A conformer that
    /// names too few silently misses events, so list every kind its `apply` switches on.
    static var folds: HubEvent.Kinds { get }
    init()
    mutating func apply(_ event: DomainEvent)
    /// Folds a run of events in log order, skipping those before `start`. Implemented once below;
    /// a requirement so each projection gets its own specialised loop (no per-event dynamic call).
    mutating func apply(_ events: [DomainEvent], from start: LogPosition)
    /// Writes the whole state for a checkpoint.
    func encode(to writer: inout StateWriter)
    /// Reads a state written by `encode(to:)`.
    init(from reader: inout StateReader) throws
}

extension Projection {
    public static var stateVersion: Int { 1 }
    public static var folds: HubEvent.Kinds { .all }

    public mutating func apply(_ events: [DomainEvent], from start: LogPosition) {
        events.lend(from: start, kinds: Self.folds) { apply($0.pointee) }
    }
}

extension [DomainEvent] {
    /// Lends each event at or after `start` whose kind is in `kinds` to `body`, in place.
    ///
    /// A pointer, because handing an array's element to a mutating fold made the compiler copy the
    /// whole event first (a third of the cost of the busiest folds); the projections that fold
    /// most events (chronology, review, referrals) read their hot kinds through it.
    @inline(__always)
    func lend(from start: LogPosition, kinds: HubEvent.Kinds, _ body: (UnsafePointer<DomainEvent>) -> Void) {
        withUnsafeBufferPointer { events in
            guard let base = events.baseAddress else { return }
            var k = 0
            while k < events.count && events[k].position < start { k += 1 }
            while k < events.count {
                if kinds.contains(events[k].kind) { body(base + k) }
                k += 1
            }
        }
    }
}

/// How far into the log a read model is computed: the whole log, up to a
/// recording time (`--as-of 2025-03-31T17:00:00Z`), or up to a position (`--as-of 1200`).
public enum ReadLimit: Sendable, Equatable {
    case position(LogPosition)
    case recordedBy(Timestamp)

    /// Parses `--as-of`: a bare integer is a position; a date alone means the end of that day (UTC).
    public init?(_ text: String) {
        if let n = LogPosition(text) {
            guard n >= 0 else { return nil }
            self = .position(n); return
        }
        guard let t = Timestamp(dateTimeOrEndOfDay: text) else { return nil }
        self = .recordedBy(t)
    }

    func includes(position: LogPosition, recordedAt: Timestamp) -> Bool {
        switch self {
        case .position(let p): return position <= p
        case .recordedBy(let t): return recordedAt <= t
        }
    }
}
