import EventStore

/// A table of names to values read from a checkpoint without decoding it: the entries' bytes and
/// the hash index saved beside them, both kept as slices of the checkpoint.
///
/// `history` runs once per process and needs a handful of entries out of a hundred thousand, so
/// loading visits none of them; a lookup hashes the name (FNV-1a 32), probes the index, and checks
/// the entry it reads lies whole inside the table (the checkpoint's CRC vouches for the bytes).
///
/// Layout: `u32 entries`, `u32 slots` (a power of two, at least twice the entries), `slots` × `u32`
/// (an entry's offset in the entries' bytes + 1, or 0), `u64` length of the entries' bytes, then the
/// entries, each `u32 name length, name, u32 value length, value`.
struct FrozenTable: Sendable {
    private var entries: ArraySlice<UInt8> = []
    private var slots: ArraySlice<UInt8> = []
    private(set) var slotCount = 0
    private(set) var count = 0

    init() {}

    static func hash(_ parts: UnsafeRawBufferPointer...) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for part in parts { for b in part { h = (h ^ UInt32(b)) &* 0x0100_0193 } }
        return h
    }

    private func slot(_ i: Int) -> Int {
        slots.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
    }

    /// The name and value of the entry at `offset`, if it lies whole inside the table.
    private func entry(at offset: Int, in raw: UnsafeRawBufferPointer) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        guard offset >= 0, offset + 4 <= raw.count else { return nil }
        let n = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        guard offset + 4 + n + 4 <= raw.count else { return nil }
        let v = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 + n, as: UInt32.self)))
        guard offset + 8 + n + v <= raw.count else { return nil }
        return (UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + n)]),
                UnsafeRawBufferPointer(rebasing: raw[(offset + 8 + n)..<(offset + 8 + n + v)]))
    }

    /// The entry's offset for `name`, or nil when absent.
    func offset(of name: String) -> Int? {
        guard slotCount > 0 else { return nil }
        var name = name
        return name.withUTF8 { n -> Int? in
            let wanted = UnsafeRawBufferPointer(n)
            return entries.withUnsafeBytes { raw -> Int? in
                var i = Int(FrozenTable.hash(wanted)) & (slotCount - 1)
                for _ in 0..<slotCount {
                    let s = slot(i)
                    guard s != 0, let found = entry(at: s - 1, in: raw) else { return nil }
                    if found.name.hasSameBytes(as: wanted) { return s - 1 }
                    i = (i + 1) & (slotCount - 1)
                }
                return nil
            }
        }
    }

    /// Calls `read` with the value of the entry at `offset` (from `offset(of:)` or `forEach`).
    func withValue<R>(at offset: Int, _ read: (UnsafeRawBufferPointer) -> R) -> R? {
        entries.withUnsafeBytes { raw in entry(at: offset, in: raw).map { read($0.value) } }
    }

    /// Every entry: its offset, name and value.
    func forEach(_ body: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        entries.withUnsafeBytes { raw in
            for i in 0..<slotCount {
                let s = slot(i)
                guard s != 0, let found = entry(at: s - 1, in: raw) else { continue }
                body(s - 1, found.name, found.value)
            }
        }
    }

    /// Writes `count` entries in this layout. `describe(i)` gives entry i's name hash and its name's and
    /// value's lengths; `write(i, &w)` writes its name bytes, `u32` value length and value bytes.
    static func write(count: Int, to w: inout StateWriter, describe: (Int) -> (hash: UInt32, name: Int, value: Int),
                      write: (Int, inout StateWriter) -> Void) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        var table = [UInt32](repeating: 0, count: size)
        var names = [Int](repeating: 0, count: count)
        var offset = 0
        for i in 0..<count {
            let d = describe(i)
            names[i] = d.name
            var s = Int(d.hash) & (size - 1)
            while table[s] != 0 { s = (s + 1) & (size - 1) }
            table[s] = UInt32(offset + 1)
            offset += 4 + d.name + 4 + d.value
        }
        w.uint32(UInt32(count))
        w.uint32(UInt32(size))
        table.withUnsafeBytes { w.bytes($0) }
        w.int(offset)
        for i in 0..<count {
            w.uint32(UInt32(names[i]))
            write(i, &w)
        }
    }

    init(from r: inout StateReader) throws {
        count = Int(try r.uint32())
        slotCount = Int(try r.uint32())
        guard slotCount >= 16, slotCount & (slotCount - 1) == 0, slotCount >= count * 2 else { throw StateReader.Malformed() }
        slots = try r.slice(slotCount * 4)
        entries = try r.slice(try r.count())
    }
}
