import EventStore
import HubDomain

/// The last position of every hub stream, read from a checkpoint without building a dictionary.
///
/// A chronology needs a handful of these out of tens of thousands, and `history` runs once
/// per process: so the checkpoint's table is kept as its bytes with a small hash index over
/// them (built in one pass at load, no string made), and only streams that moved since the
/// checkpoint live in a dictionary. Saving writes the table in any order, so nothing is sorted.
struct StreamHeads: Sendable {
    /// `u32 length, key bytes, i64 position` entries, as `StateWriter.dictionary` writes them.
    private var frozen: [UInt8] = []
    /// Open addressing over `frozen`: each slot holds an entry's offset + 1, or 0 when empty.
    private var slots: [Int32] = []
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

    /// FNV-1a 32 of a key's bytes: cheap, and all the index needs.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    private func entryKey(at offset: Int, in raw: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        return UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + length)])
    }

    private func frozenPosition(_ offset: Int) -> LogPosition {
        frozen.withUnsafeBytes { raw in
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + length, as: Int64.self))
        }
    }

    private func frozenOffset(of key: String) -> Int? {
        guard !slots.isEmpty else { return nil }
        var key = key
        return key.withUTF8 { k -> Int? in
            let wanted = UnsafeRawBufferPointer(k)
            return frozen.withUnsafeBytes { raw -> Int? in
                let mask = slots.count - 1
                var slot = Int(StreamHeads.hash(wanted)) & mask
                while slots[slot] != 0 {
                    let offset = Int(slots[slot]) - 1
                    if entryKey(at: offset, in: raw).elementsEqual(wanted) { return offset }
                    slot = (slot + 1) & mask
                }
                return nil
            }
        }
    }

    /// Every entry, for writing a checkpoint whose bytes must not depend on how the model was folded.
    var all: [String: LogPosition] {
        var out: [String: LogPosition] = [:]
        out.reserveCapacity(frozenCount + recent.count)
        frozen.withUnsafeBytes { raw in
            for slot in slots where slot != 0 {
                let offset = Int(slot) - 1
                out[String(decoding: entryKey(at: offset, in: raw), as: UTF8.self)] = frozenPosition(offset)
            }
        }
        recent.forEach { out[$0.name] = $1 }
        return out
    }

    func encode(to w: inout StateWriter) {
        // A writer that sorts (tests comparing bytes) gets every entry through one table; a checkpoint
        // being saved gets the frozen entries still in force copied as they are, then the recent ones.
        guard !w.sortsKeys else { return w.dictionary(all) { $0.int($1) } }
        var superseded = Set<Int>()
        recent.forEach { key, _ in if let offset = frozenOffset(of: key.name) { superseded.insert(offset) } }
        w.int(frozenCount - superseded.count + recent.count)
        frozen.withUnsafeBytes { raw in
            for slot in slots where slot != 0 && !superseded.contains(Int(slot) - 1) {
                let offset = Int(slot) - 1
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                w.bytes(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 4 + length + 8)]))
            }
        }
        recent.forEach { w.string($0.name); w.int($1) }
    }

    init(from r: inout StateReader) throws {
        let (bytes, offsets) = try r.stringToIntTable()
        frozen = bytes
        frozenCount = offsets.count
        var size = 16
        while size < offsets.count * 2 { size <<= 1 }
        var slots = [Int32](repeating: 0, count: size)
        bytes.withUnsafeBytes { raw in
            for offset in offsets {
                var slot = Int(StreamHeads.hash(entryKey(at: Int(offset), in: raw))) & (size - 1)
                while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
                slots[slot] = offset + 1
            }
        }
        self.slots = slots
    }
}
