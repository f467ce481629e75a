import CHashAccel
import Foundation

/// A Bloom filter over 64-bit keys: no false negatives, so a key it has never seen is certainly
/// absent. The writer keeps one of stream keys (`StreamFilter`, saved) and one of event ids (in
/// memory), so that proving something new never needs a search through the index.
struct KeyFilter: Equatable {
    private(set) var words: [UInt64]
    /// Keys whose insertion set a new bit: about how many distinct keys it holds.
    private(set) var inserted: Int
    /// Bits set per key. The saved stream filter's layout fixes 4 (`init(words:inserted:)`).
    let hashCount: Int
    /// At most one key per this many bits, or the filter is rebuilt larger.
    let bitsPerKey: Int
    /// Whether a key's bits all lie in one 512-bit block (one cache line): one miss per question
    /// instead of one per hash, for a filter of megabytes asked about every appended id.
    let blocked: Bool

    /// An empty filter with room for about `keys` keys. Four hashes and 16 bits a key answer "maybe"
    /// for about one absent key in 400 when full; eight and 32 in 512-bit blocks, one in 60,000
    /// (the id filter: each "maybe" costs a pass over the index).
    init(capacityFor keys: Int, hashCount: Int = 4, bitsPerKey: Int = 16, blocked: Bool = false) {
        self.hashCount = hashCount
        self.bitsPerKey = bitsPerKey
        self.blocked = blocked
        var bits = 1 << 16
        while bits < max(keys, 1) * bitsPerKey { bits <<= 1 }
        // On 2 MB pages when big enough: the id filter of a million events spans a thousand small
        // pages, and each key's block is asked for at random (under nested paging a TLB miss costs
        // more than the cache miss).
        let count = bits / 64
        words = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: count * 8))
            buffer.baseAddress?.initialize(repeating: 0, count: count)
            initialized = count
        }
        inserted = 0
    }

    /// A filter as the stream filter's file holds it (four hashes, 16 bits a key).
    init(words: [UInt64], inserted: Int) {
        self.words = words; self.inserted = inserted
        hashCount = 4; bitsPerKey = 16; blocked = false
    }

    /// Whether more keys were added than the filter was sized for.
    var isCrowded: Bool { !hasRoom(forAdding: 0) }

    /// Whether `count` more keys keep the filter within its sizing.
    func hasRoom(forAdding count: Int) -> Bool { (inserted + count) * bitsPerKey <= words.count * 64 }

    /// The hashes of a key, mixed again so that low bits spread (stream keys are FNV hashes): `h1`
    /// places the bits (or, blocked, the block); `h2` steps between them (blocked: a further mix
    /// whose nine-bit pieces are the offsets in the block).
    private func bits(_ key: UInt64) -> (UInt64, UInt64, Int) {
        var h = key ^ (key >> 33)
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        guard blocked else { return (h, (h >> 32 | h << 32) | 1, words.count * 64 - 1) }
        var g = (h ^ (h >> 31)) &* 0xbf58_476d_1ce4_e5b9
        g = (g ^ (g >> 27)) &* 0x94d0_49bb_1331_11eb
        return (h, g ^ (g >> 31), words.count * 64 - 1)
    }

    /// The `i`th bit of a key with hashes `h1`, `h2`: anywhere, or within the block `h1` picks.
    /// In a block each offset is its own nine bits of `h2`: offsets in arithmetic progression
    /// (double hashing) leave only 131,072 patterns per block, and a query matching a stored key's
    /// pattern made "maybe" some 80 times likelier.
    @inline(__always)
    private func bit(_ i: UInt64, _ h1: UInt64, _ h2: UInt64, _ mask: Int) -> Int {
        guard blocked else { return Int(truncatingIfNeeded: h1 &+ i &* h2) & mask }
        // Seven offsets from h2's 63 low bits; any further one from the top of another product of it.
        let source = i < 7 ? h2 >> (i * 9) : (h2 &* (0x9E37_79B9_7F4A_7C15 &+ (i << 1))) >> 55
        return blockStart(h1, mask) | (Int(truncatingIfNeeded: source) & 511)
    }

    /// The first bit of the 512-bit block that `h1` picks (blocked filters).
    @inline(__always)
    private func blockStart(_ h1: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: h1 >> 7) & mask & ~511 }

    func mightContain(_ key: UInt64) -> Bool {
        let (h1, h2, mask) = bits(key)
        for i in 0..<UInt64(hashCount) {
            let bit = bit(i, h1, h2, mask)
            if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Starts loading the lines that `insertReportingPresence(key)` will touch (a block spans two:
    /// the array's storage is not 64-byte aligned). Blocked filters only.
    func prefetch(_ key: UInt64) {
        guard blocked else { return }
        let (h1, _, mask) = bits(key)
        let word = blockStart(h1, mask) >> 6
        words.withUnsafeBufferPointer { words in
            guard let base = words.baseAddress else { return }
            hl_prefetch(base + word)
            hl_prefetch(base + word + 7)
        }
    }

    /// Adds a key, and tells whether the filter might have held it before (every bit already set):
    /// `mightContain` and `insert` in one visit of the key's block. Apart, the two touched it a whole
    /// batch apart (its encoding, write and fdatasync between them), and at a million ids the insert's
    /// load missed the cache again: most of its time.
    mutating func insertReportingPresence(_ key: UInt64) -> Bool {
        let (h1, h2, mask) = bits(key)
        var present = true
        for i in 0..<UInt64(hashCount) {
            let bit = bit(i, h1, h2, mask)
            let flag: UInt64 = 1 << UInt64(bit & 63)
            if words[bit >> 6] & flag == 0 { words[bit >> 6] |= flag; present = false }
        }
        if !present { inserted += 1 }
        return present
    }

    /// How many keys ahead of its insert a key's block is asked for (`prefetch`). A filter larger than
    /// the caches misses on every key; a few misses in flight at once overlap, while a whole batch's
    /// thousand asked for at once were half of them gone again when used (this machine's EPYC).
    static let lookahead = 16

    /// Adds every key, each block asked for `lookahead` keys before its insert: rebuilding the id
    /// filter at a million ids spent ~55 ns per key waiting for memory one miss after another.
    mutating func insert(contentsOf keys: [UInt64]) {
        for i in keys.indices {
            if i + Self.lookahead < keys.count { prefetch(keys[i + Self.lookahead]) }
            insert(keys[i])
        }
    }

    /// Adds a key; true when that set a new bit.
    @discardableResult
    mutating func insert(_ key: UInt64) -> Bool { !insertReportingPresence(key) }

    /// The key an event id is filed under.
    static func key(_ id: UUID) -> UInt64 { id.tableFingerprint }
}
