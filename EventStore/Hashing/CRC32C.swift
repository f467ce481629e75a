import CHashAccel

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI and ext4.
///
/// It frames each record so a reader can tell a whole record from a torn one.
/// Slicing-by-8 keeps it fast enough to check every record on every open.
public enum CRC32C {
    /// Whether this CPU's CRC32 instruction is in use.
    public static let isHardwareAccelerated: Bool = hl_has_crc32c_instruction() != 0

    /// The checksum of a raw buffer (the CPU's instruction when present, else slicing-by-8).
    public static func checksum(_ buffer: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        if isHardwareAccelerated, let base = buffer.baseAddress {
            return ~hl_crc32c_update(~seed, base.assumingMemoryBound(to: UInt8.self), buffer.count)
        }
        return softwareChecksum(buffer, seed: seed)
    }

    /// The table-driven checksum, whatever the CPU (tests prove it equals the hardware one).
    public static func softwareChecksum(_ buffer: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        guard var p = buffer.baseAddress else { return seed }
        var n = buffer.count
        table.withUnsafeBufferPointer { t in
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ crc
                let hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                p += 8; n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                p += 1; n -= 1
            }
        }
        return ~crc
    }

    /// The checksum of a byte array.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for s in 1..<8 { t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[Int(t[(s - 1) * 256 + i] & 0xff)] }
        }
        return t
    }()
}
