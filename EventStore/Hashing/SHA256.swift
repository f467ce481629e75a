import CHashAccel

/// SHA-256 (FIPS 180-4), written for the hash chain.
///
/// Every record's hash is computed on append and again on every `verify`, so
/// this runs once per event on the hottest paths. It works on raw buffers,
/// keeps its state in locals, and allocates nothing per block.
public struct SHA256: Sendable {
    /// A 32-byte digest.
    public typealias Digest = [UInt8]

    var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85
    var h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c
    var h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() { pending.reserveCapacity(64) }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: some Collection<UInt8>) -> Digest {
        var hasher = SHA256()
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    /// The digest of a raw buffer in one call, without copying it.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256()
        hasher.update(buffer)
        return hasher.finalize()
    }

    /// Which compression function runs: the CPU's SHA instructions when it has them, else the Swift code below.
    public enum Implementation: Sendable { case automatic, software }

    /// Whether this CPU's SHA extensions are in use.
    public static let isHardwareAccelerated: Bool = hl_has_sha_extensions() != 0

    /// The digest of a buffer as a chain hash, with no heap allocation: the hot path of append and verify.
    public static func chainHash(of buffer: UnsafeRawBufferPointer, using implementation: Implementation = .automatic) -> ChainHash {
        var hasher = SHA256(reservingPending: false)
        hasher.software = implementation == .software
        let whole = buffer.count / 64
        if whole > 0, let base = buffer.baseAddress { hasher.compress(blocks: base, count: whole) }
        let rest = buffer.count - whole * 64
        let bitLength = UInt64(buffer.count) &* 8
        let tailBlocks = rest + 9 <= 64 ? 1 : 2
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
            for i in 0..<128 { tail[i] = 0 }
            for i in 0..<rest { tail[i] = buffer[whole * 64 + i] }
            tail[rest] = 0x80
            let end = tailBlocks * 64
            for k in 0..<8 { tail[end - 1 - k] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * k)) }
            if let start = tail.baseAddress { hasher.compress(blocks: UnsafeRawPointer(start), count: tailBlocks) }
        }
        func be(_ a: UInt32, _ b: UInt32) -> UInt64 {
            // Two big-endian words, laid out in memory as the digest's bytes.
            (UInt64(a.bigEndian) | (UInt64(b.bigEndian) << 32)).littleEndian
        }
        return ChainHash(w0: be(hasher.h0, hasher.h1), w1: be(hasher.h2, hasher.h3), w2: be(hasher.h4, hasher.h5), w3: be(hasher.h6, hasher.h7))
    }

    private init(reservingPending: Bool) {}

    /// Forces the pure-Swift path (tests prove it equals the hardware one).
    var software = false

    /// The digest of some bytes with a chosen implementation.
    public static func hash(_ bytes: [UInt8], using implementation: Implementation) -> Digest {
        var hasher = SHA256()
        hasher.software = implementation == .software
        hasher.update(bytes)
        return hasher.finalize()
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        length &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, buffer.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            offset = take
            if pending.count == 64 {
                pending.withUnsafeBytes { block in
                    if let start = block.baseAddress { compress(blocks: start, count: 1) }
                }
                pending.removeAll(keepingCapacity: true)
            }
        }
        let whole = (buffer.count - offset) / 64
        if whole > 0 {
            compress(blocks: base + offset, count: whole)
            offset += whole * 64
        }
        if offset < buffer.count {
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: buffer.count - offset))
        }
    }

    public mutating func finalize() -> Digest {
        let bitLength = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { blocks in
            if let start = blocks.baseAddress { compress(blocks: start, count: blocks.count / 64) }
        }
        var out = [UInt8](repeating: 0, count: 32)
        for (i, word) in [h0, h1, h2, h3, h4, h5, h6, h7].enumerated() {
            out[i * 4] = UInt8(truncatingIfNeeded: word >> 24)
            out[i * 4 + 1] = UInt8(truncatingIfNeeded: word >> 16)
            out[i * 4 + 2] = UInt8(truncatingIfNeeded: word >> 8)
            out[i * 4 + 3] = UInt8(truncatingIfNeeded: word)
        }
        return out
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }

    mutating func compress(blocks: UnsafeRawPointer, count: Int) {
        if !software && SHA256.isHardwareAccelerated {
            var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (h0, h1, h2, h3, h4, h5, h6, h7)
            withUnsafeMutableBytes(of: &state) { raw in
                hl_sha256_blocks(raw.baseAddress?.assumingMemoryBound(to: UInt32.self), blocks.assumingMemoryBound(to: UInt8.self), count)
            }
            (h0, h1, h2, h3, h4, h5, h6, h7) = state
            return
        }
        var a0 = h0, b0 = h1, c0 = h2, d0 = h3, e0 = h4, f0 = h5, g0 = h6, hh0 = h7
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            SHA256.roundConstants.withUnsafeBufferPointer { k in
                for block in 0..<count {
                    let p = blocks + block * 64
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                    }
                    for i in 16..<64 {
                        let x = w[i - 15], y = w[i - 2]
                        let s0 = SHA256.rotr(x, 7) ^ SHA256.rotr(x, 18) ^ (x >> 3)
                        let s1 = SHA256.rotr(y, 17) ^ SHA256.rotr(y, 19) ^ (y >> 10)
                        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                    }
                    var a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, h = hh0
                    for i in 0..<64 {
                        let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
                        let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ maj
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                    a0 &+= a; b0 &+= b; c0 &+= c; d0 &+= d
                    e0 &+= e; f0 &+= f; g0 &+= g; hh0 &+= h
                }
            }
        }
        h0 = a0; h1 = b0; h2 = c0; h3 = d0; h4 = e0; h5 = f0; h6 = g0; h7 = hh0
    }

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal, the form hashes take in every output.
    public var hexString: String {
        String(unsafeUninitializedCapacity: count * 2) { out in
            for (i, byte) in enumerated() { out[2 * i] = hexDigit(byte >> 4); out[2 * i + 1] = hexDigit(byte & 0xF) }
            return count * 2
        }
    }

    /// Parses lower- or upper-case hexadecimal; nil when malformed.
    public init?(hexString: String) {
        let chars = Array(hexString.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8](); out.reserveCapacity(chars.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo); i += 2
        }
        self = out
    }
}
