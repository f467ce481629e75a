import Foundation

/// Which streams the log holds, as a Bloom filter over their index keys.
///
/// A writer must know a stream's last version before appending to it. For a stream the log has
/// never seen, the only proof in the index is a backward search through every entry: at a million
/// events, 40 MB read for each new participant, session or view stream. A Bloom filter has no false
/// negatives, so a key it has never seen certainly has no event among the positions it covers, and
/// the search is skipped; a key it may have seen is searched for as before.
///
/// Derived data (`index/streams`), like the index: never synced, written whole and atomically,
/// guarded by a CRC, and tied to one log by the chain hash at its last covered position. A filter
/// that fails either check, or has grown too full to be useful, is rebuilt from the index.
struct StreamFilter: Equatable {
    private(set) var keys: KeyFilter
    /// Every event before this position has its stream's key in the filter.
    private(set) var covered: Int
    /// The hash of the event at `covered - 1` (genesis when nothing is covered).
    private(set) var coveredHash: ChainHash
    /// Whether the filter changed since it was loaded or saved.
    private(set) var isDirty = false

    /// How far a writer's filter may run ahead of the saved one before it is written again.
    static let saveAfter = 1_000

    static let magic = Array("HLSFLT01".utf8)
    static let headerSize = 8 + 8 + 8 + 8 + 32

    /// An empty filter with room for about `streams` streams.
    init(capacityFor streams: Int) {
        keys = KeyFilter(capacityFor: streams)
        covered = 0
        coveredHash = .genesis
    }

    private init(keys: KeyFilter, covered: Int, coveredHash: ChainHash) {
        self.keys = keys; self.covered = covered; self.coveredHash = coveredHash
    }

    var inserted: Int { keys.inserted }
    var isCrowded: Bool { keys.isCrowded }
    func mightContain(_ key: UInt64) -> Bool { keys.mightContain(key) }

    mutating func insert(_ key: UInt64) {
        if keys.insert(key) { isDirty = true }
    }

    /// Records that every event before `count`, the last with `hash`, is in the filter.
    mutating func cover(upTo count: Int, hash: ChainHash) {
        guard count != covered || hash != coveredHash else { return }
        covered = count
        coveredHash = hash
        isDirty = true
    }

    static func path(_ layout: StoreLayout) -> String { layout.indexDirectory + "/streams" }

    func save(_ layout: StoreLayout) throws {
        var out = Self.magic
        out.reserveCapacity(Self.headerSize + keys.words.count * 8 + 4)
        ByteWriter.append(UInt64(keys.words.count), to: &out)
        ByteWriter.append(UInt64(covered), to: &out)
        ByteWriter.append(UInt64(keys.inserted), to: &out)
        out += coveredHash.bytes
        for word in keys.words { ByteWriter.append(word, to: &out) }
        ByteWriter.append(out.withUnsafeBytes { CRC32C.checksum($0) }, to: &out)
        try Directory.writeAtomically(out, to: Self.path(layout), directory: layout.indexDirectory, durable: false)
    }

    /// The saved filter, or nil when there is none or it is damaged. Whether it belongs to this log
    /// is the caller's check (`coveredHash`).
    static func load(_ layout: StoreLayout) -> StreamFilter? {
        guard let bytes = Directory.readFile(path(layout)), bytes.count >= headerSize + 4 else { return nil }
        return bytes.withUnsafeBytes { raw -> StreamFilter? in
            let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)])
            var tail = ByteReader(UnsafeRawBufferPointer(rebasing: raw[(raw.count - 4)...]))
            guard tail.readUInt32() == CRC32C.checksum(body), Array(body[0..<8]) == magic else { return nil }
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: body[8...]))
            guard let count = r.readUInt64(), let covered = r.readUInt64(), let inserted = r.readUInt64(), let hash = r.readBytes(32),
                  count > 0, count.nonzeroBitCount == 1, UInt64(r.remaining) == count * 8,
                  covered <= UInt64(Int.max), inserted <= UInt64(Int.max) else { return nil }
            var words = [UInt64](repeating: 0, count: Int(count))
            for i in words.indices {
                guard let word = r.readUInt64() else { return nil }
                words[i] = word
            }
            return StreamFilter(keys: KeyFilter(words: words, inserted: Int(inserted)), covered: Int(covered), coveredHash: ChainHash(raw: hash))
        }
    }
}
