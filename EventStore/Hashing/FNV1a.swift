/// FNV-1a 64: a cheap, well-spread hash of a few bytes. The index files stream keys under it
/// (`StreamID.indexKey`, part of the on-disk format); in-memory tables use the faster `WordHash`.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The hash of `bytes`, continuing from `state` (the offset basis for a fresh hash).
    @inlinable
    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes, from state: UInt64 = offsetBasis) -> UInt64 {
        var h = state
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
