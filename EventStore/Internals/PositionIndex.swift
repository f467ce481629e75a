import Foundation

/// The derived index: one 40-byte entry per position, saying where the record
/// lives, which stream and id it carries, and where that stream's previous event
/// is — so one stream can be read backwards from its last event without a scan
/// (docs/FORMAT.md, "Index").
///
/// It is never fsynced and never trusted: every entry used is checked against
/// the record it points at, and the whole file can be rebuilt from the log.
struct PositionIndex {
    struct Entry: Equatable {
        var id: UUID
        var streamKey: UInt64
        var segment: Int
        var offset: Int
        /// The position of the previous event with the same stream key, or -1.
        var previousInStream: LogPosition = -1
    }

    static let entrySize = 40
    let file: RawFile

    init(path: String) throws {
        file = try RawFile.open(path, flags: O_RDWR | O_CREAT)
    }

    /// A buffer for `count` entries, not zeroed first: only the bytes a read fills are looked at.
    static func readBuffer(entries count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count * entrySize) { _, initialized in initialized = count * entrySize }
    }

    func count() throws -> Int { try file.size() / PositionIndex.entrySize }

    static func encode(_ entry: Entry, into out: inout [UInt8]) {
        withUnsafeBytes(of: entry.id.uuid) { out.append(contentsOf: $0) }
        ByteWriter.append(entry.streamKey, to: &out)
        ByteWriter.append(UInt32(entry.segment), to: &out)
        ByteWriter.append(UInt32(entry.offset), to: &out)
        ByteWriter.append(entry.previousInStream, to: &out)
    }

    static func decode(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Entry {
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 16])) }
        return Entry(id: UUID(uuid: uuid),
                     streamKey: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)),
                     segment: Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt32.self))),
                     offset: Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 28, as: UInt32.self))),
                     previousInStream: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 32, as: Int64.self)))
    }

    func write(_ entries: [Entry], startingAt position: LogPosition) throws {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * PositionIndex.entrySize)
        for entry in entries { PositionIndex.encode(entry, into: &out) }
        try file.write(out, at: Int(position) * PositionIndex.entrySize)
    }

    func entry(at position: LogPosition) throws -> Entry? { try PositionIndex.entry(at: position, in: file) }

    /// The entry at `position` of an index file opened by the caller (a reader opens it read-only),
    /// or nil when the file ends before it.
    static func entry(at position: LogPosition, in file: RawFile) throws -> Entry? {
        let bytes = try file.readBytes(at: Int(position) * entrySize, count: entrySize)
        guard bytes.count == entrySize else { return nil }
        return bytes.withUnsafeBytes { decode($0, at: 0) }
    }

    func truncate(to count: Int) throws { try file.truncate(to: count * PositionIndex.entrySize) }

    /// Whether every entry from `start` to `limit` points at a segment (a zeroed one was lost in a crash).
    /// Reads only that field, so it costs little more than reading that part of the file.
    func isComplete(from start: Int = 0, upTo limit: Int) throws -> Bool {
        var complete = true
        try forEachChunk(from: start, upTo: limit) { raw, _, count in
            for i in 0..<count where raw.loadUnaligned(fromByteOffset: i * PositionIndex.entrySize + 24, as: UInt32.self) == 0 {
                complete = false
                return false
            }
            return true
        }
        return complete
    }

    /// The last position before `limit` whose entry carries `key`, found by reading backwards.
    func lastPosition(withKey key: UInt64, before limit: Int) throws -> LogPosition? {
        let perChunk = 32_768
        var buffer = PositionIndex.readBuffer(entries: perChunk)
        var end = limit
        let wanted = key.littleEndian
        while end > 0 {
            let start = max(0, end - perChunk)
            let count = end - start
            let n = try buffer.withUnsafeMutableBytes { b throws in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<(count * PositionIndex.entrySize)]), at: start * PositionIndex.entrySize)
            }
            guard n == count * PositionIndex.entrySize else { return nil }
            let found: Int? = buffer.withUnsafeBytes { raw in
                for i in stride(from: count - 1, through: 0, by: -1)
                    where raw.loadUnaligned(fromByteOffset: i * PositionIndex.entrySize + 16, as: UInt64.self) == wanted {
                    return start + i
                }
                return nil
            }
            if let found { return LogPosition(found) }
            end = start
        }
        return nil
    }

    /// Calls `visit(bytes, first position, count)` for each chunk of raw entries from `start`, until it returns false.
    func forEachChunk(from start: Int, upTo limit: Int, _ visit: (UnsafeRawBufferPointer, Int, Int) -> Bool) throws {
        let perChunk = 32_768
        var buffer = PositionIndex.readBuffer(entries: perChunk)
        var position = start
        while position < limit {
            let want = min(perChunk, limit - position)
            let n = try buffer.withUnsafeMutableBytes { b throws in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<(want * PositionIndex.entrySize)]),
                              at: position * PositionIndex.entrySize)
            }
            let got = n / PositionIndex.entrySize
            if got == 0 { return }
            guard buffer.withUnsafeBytes({ visit($0, position, got) }) else { return }
            position += got
        }
    }

    /// Calls `visit(position, entry)` for every entry from `start`, reading in large chunks.
    func forEach(from start: Int = 0, upTo limit: Int, _ visit: (Int, Entry) -> Void) throws {
        try forEachChunk(from: start, upTo: limit) { raw, first, count in
            for i in 0..<count { visit(first + i, PositionIndex.decode(raw, at: i * PositionIndex.entrySize)) }
            return true
        }
    }
}
