import EventStore
import Foundation
import Testing

/// The store's hash table, keyed by event ids: every key found after growing past the size that
/// asks for huge pages, entries changed in place, unknown keys absent, agreeing with a dictionary.
@Test func aSlotTableOfEventIDsAgreesWithADictionaryAfterGrowing() {
    var table = SlotTable<UUID, Int64>(empty: -1)
    var expected: [UUID: Int64] = [:]
    for n in 0..<200_000 {
        let id = UUID()
        table.update(id) { $0 = Int64(n) }
        expected[id] = Int64(n)
    }
    // Ids that differ in one byte only (structured test ids) spread too.
    for n in 0..<1_000 {
        let id = UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, UInt8(n >> 8), UInt8(n & 0xff)))
        table.update(id) { $0 = -Int64(n) - 2 }
        expected[id] = -Int64(n) - 2
    }
    #expect(table.count == expected.count)
    var mismatches = 0
    for (id, position) in expected where table[id] != position { mismatches += 1 }
    #expect(mismatches == 0)
    #expect(table[UUID()] == nil)
    var visited = 0
    table.forEach { id, position in visited += 1; if expected[id] != position { mismatches += 1 } }
    #expect(visited == expected.count && mismatches == 0)
    let some = expected.keys.first ?? UUID()
    #expect(table.updateIfPresent(some) { $0 += 1_000_000; return $0 } == (expected[some] ?? 0) + 1_000_000)
    #expect(table.updateIfPresent(UUID()) { $0 = 0 } == nil)
    #expect(table.count == expected.count, "updateIfPresent adds nothing")
}

/// The retraction set the folds ask about every event: membership, equality as sets, and iteration
/// (what a checkpoint writes) agreeing with `Set<UUID>`.
@Test func anIDSetAnswersAsASetDoes() {
    let ids = (0..<5_000).map { _ in UUID() }
    var set = IDSet()
    for id in ids { set.insert(id) }
    set.insert(ids[0])
    #expect(set.count == ids.count)
    #expect(ids.allSatisfy(set.contains))
    #expect(!set.contains(UUID()))
    #expect(Set(set) == Set(ids))
    #expect(IDSet(ids.reversed()) == set)
    #expect(IDSet(ids.dropLast()) != set)
    var other = IDSet(ids.dropLast())
    other.insert(UUID())
    #expect(other != set, "the same count, other members")
    #expect(IDSet().isEmpty && !set.isEmpty)
}
