import EventStore
import HubDomain

/// The last position of every hub stream, read from a checkpoint without decoding it.
///
/// A chronology needs a handful of these out of a hundred thousand, and `history` runs once per
/// process: so the checkpoint holds the table with its own hash index (open addressing over FNV-1a
/// 32 of each name), and loading it only checks the index and keeps both as slices of the
/// checkpoint's bytes — no entry is visited, no string made. Streams that moved since the
/// checkpoint live in a `FoldTable`.
///
/// Layout: `u32 entries`, `u32 slots` (a power of two, at least twice the entries), `slots` ×
/// `u32` (an entry's offset in the entries' bytes + 1, or 0), `u64` length of the entries' bytes,
/// then the entries, each `u32 length, name bytes, i64 position`.
struct StreamHeads: Sendable {
    private var frozen: ArraySlice<UInt8> = []
    private var slots: ArraySlice<UInt8> = []
    private var slotCount = 0
    private var frozenCount = 0
    /// Keyed by entity and id (`StreamKey`), as events carry their streams.
    private var recent = FoldTable<StreamKey, LogPosition>(empty: -1)

    init() {}

    subscript(key: StreamKey) -> LogPosition? {
        get { recent[key] ?? frozenOffset(of: key.name).map(frozenPosition) }
        set { recent.update(key) { $0 = newValue ?? -1 } }
    }

    /// The last position of the stream named `name`.
    subscript(name: String) -> LogPosition? { self[StreamKey(StreamID(name))] }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    private func slot(_ i: Int) -> Int {
        slots.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
    }

    /// The entry a slot points at, if it lies whole inside the table (a checkpoint that passed its CRC
    /// always does; anything else is never read past).
    private func entryOffset(_ slot: Int, in raw: UnsafeRawBufferPointer) -> Int? {
        let offset = slot - 1
        guard offset >= 0, offset + 4 <= raw.count else { return nil }
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        return offset + 4 + length + 8 <= raw.count ? offset : nil
    }

    private func frozenPosition(_ offset: Int) -> LogPosition {
        frozen.withUnsafeBytes { raw in
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + length, as: Int64.self))
        }
    }

    /// The entry for `name` in the checkpoint's table, by its offset; nil when absent.
    private func frozenOffset(of name: String) -> Int? {
        guard slotCount > 0 else { return nil }
        var name = name
        return name.withUTF8 { n -> Int? in
            let wanted = UnsafeRawBufferPointer(n)
            return frozen.withUnsafeBytes { raw -> Int? in
                var i = Int(StreamHeads.hash(wanted)) & (slotCount - 1)
                for _ in 0..<slotCount {
                    let s = slot(i)
                    if s == 0 { return nil }
                    guard let offset = entryOffset(s, in: raw) else { return nil }
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    if UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + length)]).hasSameBytes(as: wanted) { return offset }
                    i = (i + 1) & (slotCount - 1)
                }
                return nil
            }
        }
    }

    /// One entry to write: a stream that moved since the checkpoint, or one of its entries still in force.
    private enum Entry {
        case recent(StreamKey, LogPosition)
        case frozen(offset: Int)
    }

    /// Every entry in force: the recent ones, then the checkpoint's not moved since.
    private func entries() -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(frozenCount + recent.count)
        var superseded = Set<Int>()
        recent.forEach { key, position in
            if slotCount > 0, let offset = frozenOffset(of: key.name) { superseded.insert(offset) }
            out.append(.recent(key, position))
        }
        frozen.withUnsafeBytes { raw in
            for i in 0..<slotCount {
                guard slot(i) != 0, let offset = entryOffset(slot(i), in: raw), !superseded.contains(offset) else { continue }
                out.append(.frozen(offset: offset))
            }
        }
        return out
    }

    private static let prefixes: [EntityKind: [UInt8]] = Dictionary(uniqueKeysWithValues: EntityKind.allCases.map { ($0, Array($0.stream("").utf8)) })

    /// Calls `body` with the entry's name, as up to two runs of bytes (an entity's prefix and its id).
    private func withName<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        switch entry {
        case .recent(let key, _):
            var id = key.id
            let prefix = key.entity.flatMap { StreamHeads.prefixes[$0] } ?? []
            return prefix.withUnsafeBytes { p in id.withUTF8 { body(p, UnsafeRawBufferPointer($0)) } }
        case .frozen(let offset):
            return frozen.withUnsafeBytes { raw in
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                return body(UnsafeRawBufferPointer(rebasing: raw[0..<0]), UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + length)]))
            }
        }
    }

    private func position(_ entry: Entry) -> LogPosition {
        switch entry {
        case .recent(_, let position): return position
        case .frozen(let offset): return frozenPosition(offset)
        }
    }

    func encode(to w: inout StateWriter) {
        var list = entries()
        // A writer that sorts (tests comparing bytes) gets the same bytes however the model was folded.
        if w.sortsKeys {
            let names = list.map { entry in withName(entry) { Array($0) + Array($1) } }
            list = list.indices.sorted { names[$0].lexicographicallyPrecedes(names[$1]) }.map { list[$0] }
        }
        var size = 16
        while size < list.count * 2 { size <<= 1 }
        var table = [UInt32](repeating: 0, count: size)
        var offset = 0
        for entry in list {
            let (hash, length) = withName(entry) { a, b -> (UInt32, Int) in
                var h: UInt32 = 0x811C_9DC5
                for byte in a { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
                for byte in b { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
                return (h, a.count + b.count)
            }
            var i = Int(hash) & (size - 1)
            while table[i] != 0 { i = (i + 1) & (size - 1) }
            table[i] = UInt32(offset + 1)
            offset += 4 + length + 8
        }
        w.uint32(UInt32(list.count))
        w.uint32(UInt32(size))
        table.withUnsafeBytes { w.bytes($0) }
        w.int(offset)
        for entry in list {
            withName(entry) { a, b in w.uint32(UInt32(a.count + b.count)); w.bytes(a); w.bytes(b) }
            w.int(position(entry))
        }
    }

    init(from r: inout StateReader) throws {
        frozenCount = Int(try r.uint32())
        slotCount = Int(try r.uint32())
        guard slotCount >= 16, slotCount & (slotCount - 1) == 0, slotCount >= frozenCount * 2 else { throw StateReader.Malformed() }
        slots = try r.slice(slotCount * 4)
        frozen = try r.slice(try r.count())
        // Nothing else is visited: each lookup checks the entry it reads lies whole inside the table,
        // and the checkpoint's CRC vouches for the bytes.
    }
}
