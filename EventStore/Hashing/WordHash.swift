/// A hash of a short byte string eight bytes at a time, for in-memory tables only (never stored:
/// FNV-1a stays the index's hash). The read models hash a participant's id or a stream's name
/// several times per event; FNV-1a's byte-at-a-time loop was 7 % of a rebuild's instructions.
///
/// Not a cryptographic hash: `SlotTable` mixes in a per-process seed, and equal hashes are only
/// ever a hint (keys are compared).
public enum WordHash {
    /// The state a fresh hash starts from; callers telling kinds of key apart mix their tag into it.
    public static let seed: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, from state: UInt64 = seed) -> UInt64 {
        let n = bytes.count
        var h = (state ^ UInt64(truncatingIfNeeded: n)) &* 0xff51_afd7_ed55_8ccd
        var i = 0
        while i + 8 < n {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xc4ce_b9fe_1a85_ec53
            h ^= h >> 31
            i += 8
        }
        // The last one to eight bytes: overlapping loads, the length (mixed in above) telling them apart.
        let rest = n - i
        var tail: UInt64 = 0
        if rest >= 4 {
            tail = UInt64(bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
                | UInt64(bytes.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
        } else if rest > 0 {
            tail = UInt64(bytes[i]) | UInt64(bytes[i + rest / 2]) << 8 | UInt64(bytes[n - 1]) << 16
        }
        h = (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 29)
    }
}
