import EventStore
import HubDomain

/// The last position of every hub stream: the checkpoint's as a `FrozenTable` (read in place, nothing
/// decoded), the streams that moved since in a `FoldTable` keyed as events carry their streams.
struct StreamHeads: Sendable {
    private var frozen = FrozenTable()
    private var recent = FoldTable<StreamKey, LogPosition>(empty: -1)

    init() {}

    subscript(key: StreamKey) -> LogPosition? {
        get { recent[key] ?? frozen.offset(of: key.name).flatMap(frozenPosition) }
        set { recent.update(key) { $0 = newValue ?? -1 } }
    }

    /// The last position of the stream named `name`.
    subscript(name: String) -> LogPosition? { self[StreamKey(StreamID(name))] }

    private func frozenPosition(_ offset: Int) -> LogPosition? {
        frozen.withValue(at: offset) { $0.count == 8 ? Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) : nil } ?? nil
    }

    /// One entry to write: a stream that moved since the checkpoint, or one of its entries still in force.
    private enum Entry {
        case recent(StreamKey, LogPosition)
        case frozen(name: [UInt8], LogPosition)
    }

    /// Every entry in force: the recent ones, then the checkpoint's not moved since.
    private func entries() -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(frozen.count + recent.count)
        var superseded = Set<Int>()
        recent.forEach { key, position in
            if frozen.count > 0, let offset = frozen.offset(of: key.name) { superseded.insert(offset) }
            out.append(.recent(key, position))
        }
        frozen.forEach { offset, name, value in
            guard !superseded.contains(offset), value.count == 8 else { return }
            out.append(.frozen(name: Array(name), Int64(littleEndian: value.loadUnaligned(as: Int64.self))))
        }
        return out
    }

    /// Calls `body` with the entry's name as two runs of bytes (an entity's prefix and its id).
    private func withName<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        switch entry {
        case .recent(let key, _):
            var id = key.id
            let prefix = StreamKey.prefix(of: key.entity)
            return prefix.withUnsafeBytes { p in id.withUTF8 { body(p, UnsafeRawBufferPointer($0)) } }
        case .frozen(let name, _):
            return name.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<0]), $0) }
        }
    }

    private func position(_ entry: Entry) -> LogPosition {
        switch entry {
        case .recent(_, let position), .frozen(_, let position): return position
        }
    }

    func encode(to w: inout StateWriter) {
        var list = entries()
        // A writer that sorts (tests comparing bytes) gets the same bytes however the model was folded.
        if w.sortsKeys {
            let names = list.map { entry in withName(entry) { Array($0) + Array($1) } }
            list = list.indices.sorted { names[$0].lexicographicallyPrecedes(names[$1]) }.map { list[$0] }
        }
        FrozenTable.write(count: list.count, to: &w, describe: { i in
            withName(list[i]) { a, b in (FrozenTable.hash(a, b), a.count + b.count, 8) }
        }, write: { i, w in
            withName(list[i]) { a, b in w.bytes(a); w.bytes(b) }
            w.uint32(8)
            w.int(position(list[i]))
        })
    }

    init(from r: inout StateReader) throws {
        frozen = try FrozenTable(from: &r)
    }
}
