import EventStore
import HubDomain

/// A read model's table from an id (a participant's, a stream's) to its entry for it: the store's
/// `SlotTable` (one array, one cache miss per lookup), written to and read from checkpoints by key name.
typealias FoldTable<Key: FoldTableKey, Entry: Sendable> = SlotTable<Key, Entry>

extension SlotTable where Key: FoldTableKey {
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
        forEach { key, entry in w.string(key.tableName); write(&w, entry) }
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
protocol FoldTableKey: SlotTableKey, Hashable {
    var tableName: String { get }
    init(tableName: String)
}

extension String: FoldTableKey {
    var tableName: String { self }
    init(tableName: String) { self = tableName }
}

extension StreamKey: FoldTableKey {
    var tableName: String { name }
    init(tableName: String) { self.init(StreamID(tableName)) }
}
