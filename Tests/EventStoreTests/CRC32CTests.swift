import EventStore
import Testing

/// CRC-32C (Castagnoli) check values from RFC 3720 (iSCSI), appendix B.4, and the usual "123456789" check.
struct CRC32CTests {
    @Test func theStandardCheckStringGivesE3069283() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputGivesZero() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }

    @Test func thirtyTwoZeroBytesGive8A9136AA() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func thirtyTwoFFBytesGive62A8AB43() {
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    }

    @Test func thirtyTwoIncrementingAndDecrementingBytesGiveTheRFC3720Values() {
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func unalignedBuffersGiveTheSameChecksumAsAlignedOnes() {
        // The slicing-by-8 loop loads unaligned words: check every starting offset within a word.
        let payload = Array("123456789".utf8)
        for shift in 0..<8 {
            let padded = [UInt8](repeating: 0xAA, count: shift) + payload
            let crc = padded.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[shift...])) }
            #expect(crc == 0xE306_9283, "shift \(shift)")
        }
    }

    @Test func chunkedInputChainedThroughTheSeedEqualsTheOneShotChecksum() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        let oneShot = CRC32C.checksum(data)
        // Every split point of a short prefix, plus uneven chunks over the whole buffer.
        for split in 0...40 {
            let a = Array(data[0..<split]), b = Array(data[split..<40])
            let first = CRC32C.checksum(a)
            let chained = b.withUnsafeBytes { CRC32C.checksum($0, seed: first) }
            #expect(chained == CRC32C.checksum(Array(data[0..<40])), "split \(split)")
        }
        var crc: UInt32 = 0
        var offset = 0
        for size in [1, 7, 8, 9, 0, 15, 16, 17, 100, 3] + [Int](repeating: 64, count: 20) {
            let end = min(data.count, offset + size)
            crc = data.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<end]), seed: crc) }
            offset = end
        }
        crc = data.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[offset...]), seed: crc) }
        #expect(crc == oneShot)
    }

    @Test func aSingleFlippedBitChangesTheChecksum() {
        let data = Array("the quick brown fox jumps over the lazy dog".utf8)
        let original = CRC32C.checksum(data)
        for i in data.indices {
            for bit in 0..<8 {
                var damaged = data
                damaged[i] ^= UInt8(1 << bit)
                #expect(CRC32C.checksum(damaged) != original)
            }
        }
    }
}

@Suite struct CRC32CImplementationTests {
    @Test func theHardwareAndTablePathsAgreeOnEveryLengthAndSeed() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let seed = UInt32.random(in: 0...UInt32.max, using: &generator)
            bytes.withUnsafeBytes { raw in
                #expect(CRC32C.checksum(raw) == CRC32C.softwareChecksum(raw), "length \(length)")
                #expect(CRC32C.checksum(raw, seed: seed) == CRC32C.softwareChecksum(raw, seed: seed), "length \(length) seeded")
            }
        }
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.softwareChecksum($0) } == 0xE306_9283)
    }
}

/// A checksum over parts, each seeded with the one before, equals the checksum of the whole
/// (checkpoints are checksummed part by part).
@Test func aChecksumChainedOverPartsEqualsTheChecksumOfTheWhole() {
    let whole = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let cuts = [0, 1, 7, 4096, 9_999, 10_000]
    for cut in cuts {
        let a = Array(whole[..<cut]), b = Array(whole[cut...])
        let chained = b.withUnsafeBytes { CRC32C.checksum($0, seed: a.withUnsafeBytes { CRC32C.checksum($0) }) }
        #expect(chained == whole.withUnsafeBytes { CRC32C.checksum($0) }, "cut at \(cut)")
        let software = b.withUnsafeBytes { CRC32C.softwareChecksum($0, seed: a.withUnsafeBytes { CRC32C.softwareChecksum($0) }) }
        #expect(software == chained, "cut at \(cut)")
    }
}
