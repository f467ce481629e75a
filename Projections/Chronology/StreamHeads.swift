import EventStore

/// The last position of every hub stream, read from a checkpoint without building a dictionary.
///
/// A chronology needs a handful of these out of tens of thousands, and `history` runs once
/// per process: so the checkpoint's sorted table is kept as bytes and binary-searched, and
/// only streams that moved since the checkpoint live in a dictionary.
struct StreamHeads: Sendable {
    /// `u32 length, key bytes, i64 position` entries, sorted by key (as `StateWriter.dictionary` writes them).
    private var frozen: [UInt8] = []
    private var offsets: [Int32] = []
    private var recent: [String: LogPosition] = [:]

    init() {}

    subscript(key: String) -> LogPosition? {
        get { recent[key] ?? frozenLookup(key) }
        set { recent[key] = newValue }
    }

    private func frozenLookup(_ key: String) -> LogPosition? {
        var target = key
        return target.withUTF8 { k -> LogPosition? in
            frozen.withUnsafeBytes { raw -> LogPosition? in
                var low = 0, high = offsets.count - 1
                while low <= high {
                    let mid = (low + high) / 2
                    let at = Int(offsets[mid])
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                    let entry = UnsafeRawBufferPointer(rebasing: raw[(at + 4)..<(at + 4 + length)])
                    let order = compare(entry, UnsafeRawBufferPointer(k))
                    if order == 0 { return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4 + length, as: Int64.self)) }
                    if order < 0 { low = mid + 1 } else { high = mid - 1 }
                }
                return nil
            }
        }
    }

    /// Byte order, which is the order Swift's `String <` gives for the ASCII ids streams use…
    /// but the table was sorted with `<` on Strings, so compare the same way for non-ASCII keys.
    private func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        if a.allSatisfy({ $0 < 0x80 }) && b.allSatisfy({ $0 < 0x80 }) {
            let n = min(a.count, b.count)
            for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
        let x = String(decoding: a, as: UTF8.self), y = String(decoding: b, as: UTF8.self)
        return x == y ? 0 : (x < y ? -1 : 1)
    }

    /// Every entry, for writing a checkpoint.
    var all: [String: LogPosition] {
        var out: [String: LogPosition] = [:]
        frozen.withUnsafeBytes { raw in
            for at in offsets.map(Int.init) {
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                let key = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 4)..<(at + 4 + length)]), as: UTF8.self)
                out[key] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 4 + length, as: Int64.self))
            }
        }
        for (k, v) in recent { out[k] = v }
        return out
    }

    func encode(to w: inout StateWriter) {
        w.sortedDictionary(all) { $0.int($1) }
    }

    init(from r: inout StateReader) throws {
        let (bytes, offsets) = try r.stringToIntTable()
        self.frozen = bytes
        self.offsets = offsets
    }
}
