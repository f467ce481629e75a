import EventStore
import Testing

/// FIPS 180-4 / NIST CSRC example vectors for SHA-256.
struct SHA256Tests {
    static let message448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    static let message896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"

    @Test func theEmptyMessageHashesToTheFIPSVector() {
        #expect(SHA256.hash([UInt8]()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abcHashesToTheFIPSVector() {
        #expect(SHA256.hash(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func the448BitMessageHashesToTheFIPSVector() {
        #expect(Array(Self.message448.utf8).count * 8 == 448)
        #expect(SHA256.hash(Array(Self.message448.utf8)).hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func the896BitMessageHashesToTheFIPSVector() {
        #expect(Array(Self.message896.utf8).count * 8 == 896)
        #expect(SHA256.hash(Array(Self.message896.utf8)).hexString == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func oneMillionLettersAHashToTheFIPSVectorInOneCall() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(million).hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(million.withUnsafeBytes { SHA256.hash($0) }.hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func oneMillionLettersAFedInUnevenChunksHashToTheSameVector() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        // Chunk sizes that straddle the 64-byte block boundary in every way, including empty updates.
        let sizes = [1, 0, 63, 64, 65, 7, 127, 128, 129, 1000, 3, 4095, 55, 56, 57]
        var hasher = SHA256()
        var offset = 0
        var k = 0
        while offset < million.count {
            let n = min(sizes[k % sizes.count], million.count - offset)
            hasher.update(Array(million[offset..<offset + n]))
            offset += n
            k += 1
        }
        #expect(hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func byteByByteUpdatesMatchOneShotHashingAtEveryLengthAroundThePaddingBoundary() {
        // Lengths 0...200 cover messages whose padding spills into an extra block (55, 56, 119, 120...).
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in 0...200 {
            let prefix = Array(message[0..<length])
            var hasher = SHA256()
            for byte in prefix { hasher.update([byte]) }
            let incremental = hasher.finalize()
            #expect(incremental == SHA256.hash(prefix), "length \(length)")
            #expect(incremental.count == 32)
        }
    }

    @Test func chainHashesAreTheSHA256OfTheBufferAtEveryLength() {
        // The allocation-free path used for every record's hash must agree with the FIPS vectors and the streaming hasher.
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Self.message448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (Self.message896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        ]
        for (message, digest) in vectors {
            #expect(Array(message.utf8).withUnsafeBytes { SHA256.chainHash(of: $0) }.hex == digest, "\(message)")
        }
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        for length in 0...300 {
            let prefix = Array(message[0..<length])
            let chain = prefix.withUnsafeBytes { SHA256.chainHash(of: $0) }
            #expect(chain.bytes == SHA256.hash(prefix), "length \(length)")
        }
    }

    @Test func distinctMessagesGiveDistinctDigests() {
        #expect(SHA256.hash(Array("abc".utf8)) != SHA256.hash(Array("abd".utf8)))
        #expect(SHA256.hash([0]) != SHA256.hash([UInt8]()))
    }

    @Test func hexStringRoundTripsEveryByteValue() throws {
        let all = (0...255).map { UInt8($0) }
        let hex = all.hexString
        #expect(hex.count == 512)
        #expect(hex.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
        #expect(hex.hasSuffix("fdfeff"))
        #expect(hex == hex.lowercased())
        let back = try #require([UInt8](hexString: hex))
        #expect(back == all)
        #expect([UInt8](hexString: hex.uppercased()) == all)
    }

    @Test func hexStringParsingRefusesMalformedText() {
        #expect([UInt8](hexString: "abc") == nil)       // odd length
        #expect([UInt8](hexString: "zz") == nil)        // not hex
        #expect([UInt8](hexString: "0g") == nil)
        #expect([UInt8](hexString: " 00 ") == nil)    // spaces
        #expect([UInt8](hexString: "") == [])
        #expect([UInt8](hexString: "00ff7F") == [0x00, 0xff, 0x7f])
    }
}

@Suite struct SHA256ImplementationTests {
    @Test func theHardwareAndSoftwarePathsGiveTheSameDigestForEveryLengthUpTo300Bytes() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let automatic = bytes.withUnsafeBytes { SHA256.chainHash(of: $0) }
            let software = bytes.withUnsafeBytes { SHA256.chainHash(of: $0, using: .software) }
            #expect(automatic == software, "length \(length)")
            #expect(SHA256.hash(bytes, using: .software) == SHA256.hash(bytes, using: .automatic), "length \(length)")
        }
    }

    @Test func theSoftwarePathAloneMeetsThePublishedVectors() {
        #expect(SHA256.hash(Array("abc".utf8), using: .software).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("".utf8), using: .software).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hash(long, using: .software).hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash(long, using: .automatic).hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
