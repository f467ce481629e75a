import Foundation

/// A set of event ids that folds test for every event (has this one been retracted?), kept in a
/// `SlotTable`: `Set<UUID>` hashes sixteen bytes with SipHash on every question, a quarter of the
/// cost of a referral's attendance fold.
public struct IDSet: Sendable, Equatable, Sequence {
    @usableFromInline var table = SlotTable<UUID, Bool>(empty: false)

    public init() {}

    public init<S: Sequence<UUID>>(_ ids: S) {
        for id in ids { insert(id) }
    }

    public var count: Int { table.count }
    public var isEmpty: Bool { table.count == 0 }

    @inlinable public func contains(_ id: UUID) -> Bool { table[id] != nil }

    public mutating func insert(_ id: UUID) { table.update(id) { $0 = true } }

    public static func == (a: IDSet, b: IDSet) -> Bool { a.count == b.count && a.allSatisfy(b.contains) }

    public func makeIterator() -> IndexingIterator<[UUID]> {
        var ids: [UUID] = []
        ids.reserveCapacity(count)
        table.forEach { id, _ in ids.append(id) }
        return ids.makeIterator()
    }
}
