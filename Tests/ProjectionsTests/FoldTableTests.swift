import EventStore
import HubDomain
@testable import Projections
import Testing

/// The read models' own hash table: every key found after growing many times, entries changed in
/// place, unknown keys absent, and the encoding the same as a dictionary's.
@Test func aFoldTableFindsEveryKeyItGrewPastAndChangesEntriesInPlace() throws {
    var table = FoldTable<String, [Int]>(empty: [])
    for n in 0..<10_000 { table.update("P-\(n)") { $0.append(n) } }
    for n in stride(from: 0, to: 10_000, by: 2) { table.update("P-\(n)") { $0.append(-n) } }
    #expect(table.count == 10_000)
    for n in 0..<10_000 { #expect(table["P-\(n)"] == (n % 2 == 0 ? [n, -n] : [n])) }
    #expect(table["P-10000"] == nil)
    #expect(table.updateIfPresent("nobody") { $0.append(1) } == nil)
    #expect(table["nobody"] == nil, "updateIfPresent adds nothing")
    #expect(table.filter { $0.count == 2 }.count == 5_000)

    var sorted = StateWriter()
    table.encode(to: &sorted) { w, list in w.array(list) { $0.int($1) } }
    var dictionary: [String: [Int]] = [:]
    table.forEach { dictionary[$0] = $1 }
    var expected = StateWriter()
    expected.dictionary(dictionary) { w, list in w.array(list) { $0.int($1) } }
    #expect(sorted.bytes == expected.bytes)
    var reader = StateReader(sorted.bytes)
    let decoded = try FoldTable<String, [Int]>(from: &reader, empty: []) { r in try r.array { Int(try $0.int()) } }
    #expect(reader.isAtEnd)
    #expect(decoded.count == table.count)
    for n in 0..<10_000 { #expect(decoded["P-\(n)"] == table["P-\(n)"]) }
}

@Test func aFoldTableKeyedByStreamTellsEntitiesApart() {
    var table = FoldTable<StreamKey, LogPosition>(empty: -1)
    table.update(StreamKey(entity: .participant, id: "X-1")) { $0 = 1 }
    table.update(StreamKey(entity: .session, id: "X-1")) { $0 = 2 }
    table.update(StreamKey(StreamID("alerts"))) { $0 = 3 }
    #expect(table[StreamKey(StreamID("participant-X-1"))] == 1)
    #expect(table[StreamKey(StreamID("session-X-1"))] == 2)
    #expect(table[StreamKey(entity: nil, id: "alerts")] == 3)
    #expect(table[StreamKey(entity: .referral, id: "X-1")] == nil)
}
