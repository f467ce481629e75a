@testable import EventStore
import Testing

/// The index files events under FNV-1a 64 of the stream's name: part of the on-disk format, so it
/// must match the published function (vectors from the FNV authors' test suite) however it is computed.
@Test(arguments: [("", 0xcbf2_9ce4_8422_2325 as UInt64), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x8594_4171_f739_67e8)])
func aStreamsIndexKeyIsFNV1a64OfItsName(name: String, expected: UInt64) {
    #expect(FNV1a.hash(Array(name.utf8)) == expected)
    #expect(StreamID(name).indexKey == expected)
}

/// A name that is not one contiguous native string (bridged or built by pieces) hashes the same.
@Test func anIndexKeyDependsOnlyOnTheNamesBytes() {
    let pieces = ["participant-", "P-0361", "-0"].joined()
    let substring = "xxparticipant-P-0361-0xx".dropFirst(2).dropLast(2)
    #expect(StreamID(pieces).indexKey == StreamID(String(substring)).indexKey)
    #expect(StreamID("participant-P-0361-0").indexKey == FNV1a.hash(Array("participant-P-0361-0".utf8)))
}
