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

/// The in-memory tables' hash of short strings: every byte and the length count, so ids that differ
/// in one character, or only by a trailing byte, hash apart.
@Test func wordHashTellsApartIDsThatDifferInOneByteOrInLength() {
    func hash(_ s: String) -> UInt64 { var s = s; return s.withUTF8 { WordHash.hash(UnsafeRawBufferPointer($0)) } }
    var seen: [UInt64: String] = [:]
    var collisions = 0
    var names = ["", "a", "a\u{0}", "ab", "ba"]
    for n in 0..<20_000 { names.append("P-\(n)"); names.append("participant-P-\(n)-\(n % 7)"); names.append(String(repeating: "x", count: n % 40)) }
    for name in Set(names) {
        let h = hash(name)
        if let other = seen[h], other != name { collisions += 1 }
        seen[h] = name
    }
    #expect(collisions == 0)
    #expect(hash("P-0001-3") == hash(String("P-0001-3".reversed().reversed())), "the same bytes, the same hash")
    for length in 1...24 {
        let base = Array(repeating: UInt8(ascii: "q"), count: length)
        for i in 0..<length {
            var changed = base
            changed[i] = UInt8(ascii: "r")
            #expect(base.withUnsafeBytes { WordHash.hash($0) } != changed.withUnsafeBytes { WordHash.hash($0) }, "length \(length), byte \(i)")
        }
    }
}
