import EventStore
import HubDomain

/// A table from an id (a participant's, a stream's) to a read model's entry for it, kept in one
/// array: each slot holds the key's hash, the key and the entry side by side.
///
/// A rebuild looks up the person of every attendance in several read models. With tens of
/// thousands of people, Swift's `Dictionary` (keys and values in separate arrays, each key hashed
/// with SipHash) costs two cache misses and a few hundred instructions per lookup; here it is one
/// miss and an FNV hash. Open addressing with linear probing at most half full; entries are never
/// removed. The hash is seeded per process, so no one can choose ids that collide.
struct FoldTable<Key: FoldTableKey, Entry: Sendable>: Sendable {
    private struct Slot: Sendable {
        /// 0 for an empty slot; otherwise the key's hash with its low bit set.
        var hash: UInt64
        var key: Key
        var entry: Entry
    }

    private var slots: [Slot]
    /// What an empty slot holds, and what a new key starts from.
    private let empty: Entry
    private(set) var count = 0

    init(empty: Entry, minimumCapacity: Int = 0) {
        self.empty = empty
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(hash: 0, key: Key.placeholder, entry: empty), count: size)
    }

    private static func hash(_ key: Key) -> UInt64 {
        var h = (key.tableFingerprint ^ FoldTableSeed.value) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h | 1
    }

    /// The slot holding `key`, or the empty slot where it would go.
    private func find(_ key: Key, hash: UInt64) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hash >> 1) & mask
            while true {
                if slots[i].hash == 0 { return (i, false) }
                if slots[i].hash == hash && slots[i].key == key { return (i, true) }
                i = (i + 1) & mask
            }
        }
    }

    subscript(key: Key) -> Entry? {
        let (i, found) = find(key, hash: FoldTable.hash(key))
        return found ? slots[i].entry : nil
    }

    /// Changes the entry of `key` in place, starting from `empty` when the key is new.
    @discardableResult
    mutating func update<R>(_ key: Key, _ body: (inout Entry) -> R) -> R {
        let hash = FoldTable.hash(key)
        var (i, found) = find(key, hash: hash)
        if !found {
            if (count + 1) * 2 > slots.count {
                grow()
                i = find(key, hash: hash).index
            }
            slots[i] = Slot(hash: hash, key: key, entry: empty)
            count += 1
        }
        return body(&slots[i].entry)
    }

    /// Changes the entry of `key` in place if there is one; nil when there is none.
    @discardableResult
    mutating func updateIfPresent<R>(_ key: Key, _ body: (inout Entry) -> R) -> R? {
        let (i, found) = find(key, hash: FoldTable.hash(key))
        return found ? body(&slots[i].entry) : nil
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, key: Key.placeholder, entry: empty), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.hash != 0 {
            var i = Int(truncatingIfNeeded: slot.hash >> 1) & mask
            while slots[i].hash != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    /// Every key and entry, in the table's own order.
    func forEach(_ body: (Key, Entry) throws -> Void) rethrows {
        for slot in slots where slot.hash != 0 { try body(slot.key, slot.entry) }
    }

    /// The keys and entries `isIncluded` accepts.
    func filter(_ isIncluded: (Entry) -> Bool) -> [Key: Entry] {
        var out: [Key: Entry] = [:]
        forEach { key, entry in if isIncluded(entry) { out[key] = entry } }
        return out
    }

    /// Writes the table as `StateWriter.dictionary` writes a dictionary keyed by each key's name
    /// (names in order when the writer sorts).
    func encode(to w: inout StateWriter, _ write: (inout StateWriter, Entry) -> Void) {
        if w.sortsKeys {
            var all: [String: Entry] = [:]
            all.reserveCapacity(count)
            forEach { all[$0.tableName] = $1 }
            return w.dictionary(all, write)
        }
        w.int(count)
        for slot in slots where slot.hash != 0 { w.string(slot.key.tableName); write(&w, slot.entry) }
    }

    /// Reads what `encode` wrote.
    init(from r: inout StateReader, empty: Entry, _ read: (inout StateReader) throws -> Entry) throws {
        let n = try r.count()
        self.init(empty: empty, minimumCapacity: n)
        for _ in 0..<n {
            let key = Key(tableName: try r.string())
            let entry = try read(&r)
            update(key) { $0 = entry }
        }
    }
}

/// What a `FoldTable` is keyed by: hashable to one word, and written by name.
protocol FoldTableKey: Hashable, Sendable {
    /// A hash of the key (the table mixes in a per-process seed).
    var tableFingerprint: UInt64 { get }
    var tableName: String { get }
    init(tableName: String)
    /// What empty slots hold.
    static var placeholder: Self { get }
}

extension String: FoldTableKey {
    var tableFingerprint: UInt64 { FNV1a.hash(utf8) }
    var tableName: String { self }
    init(tableName: String) { self = tableName }
    static var placeholder: String { "" }
}

extension StreamKey: FoldTableKey {
    var tableFingerprint: UInt64 { fingerprint }
    var tableName: String { name }
    init(tableName: String) { self.init(StreamID(tableName)) }
    static var placeholder: StreamKey { StreamKey(entity: nil, id: "") }
}

/// The per-process seed of `FoldTable`'s hash.
enum FoldTableSeed {
    static let value = UInt64.random(in: 0...UInt64.max)
}
