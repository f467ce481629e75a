import EventStore
import Foundation

/// One segment file's bytes and where its frames are (docs/FORMAT.md: a 16-byte header, then
/// `[u32 length][u32 crc32c][body]` frames, the body starting with its u64 position), for tests
/// that damage a store on purpose.
public struct SegmentImage {
    public var bytes: [UInt8]
    /// Byte ranges of the frames, in file order.
    public var frames: [Range<Int>]

    public init(path: String) throws {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        frames = []
        var offset = 16
        while offset + 8 <= bytes.count {
            let length = Int(Self.u32(bytes, offset))
            guard length > 0, offset + 8 + length <= bytes.count else { break }
            frames.append(offset..<(offset + 8 + length))
            offset += 8 + length
        }
    }

    public static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    public static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * $1) } }

    public func body(_ i: Int) -> [UInt8] { Array(bytes[(frames[i].lowerBound + 8)..<frames[i].upperBound]) }
    public func position(_ i: Int) -> Int64 { Int64(bitPattern: Self.u64(bytes, frames[i].lowerBound + 8)) }
    public func storedCRC(_ i: Int) -> UInt32 { Self.u32(bytes, frames[i].lowerBound + 4) }
    public var firstPosition: Int64 { Int64(bitPattern: Self.u64(bytes, 8)) }
    /// Where the data ends: just after the last frame.
    public var dataEnd: Int { frames.last?.upperBound ?? 16 }
    /// The frame holding byte `offset`.
    public func frame(containing offset: Int) -> Int? { frames.firstIndex { $0.contains(offset) } }

    /// Sets the bytes in `range` to zero: what an unwritten sector or a lost block reads as.
    public mutating func zero(_ range: Range<Int>) {
        bytes.replaceSubrange(range, with: [UInt8](repeating: 0, count: range.count))
    }

    /// Rewrites frame `i`'s CRC to match its (possibly edited) body.
    public mutating func recomputeCRC(_ i: Int) {
        let crc = CRC32C.checksum(body(i))
        for k in 0..<4 { bytes[frames[i].lowerBound + 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
    }

    /// Rewrites frame `i`'s own hash (the body's last 32 bytes) to match the rest of its body.
    public mutating func recomputeHash(_ i: Int) {
        let body = body(i)
        let hash = SHA256.hash(Array(body[0..<(body.count - 32)]))
        let start = frames[i].upperBound - 32
        bytes.replaceSubrange(start..<(start + 32), with: hash)
    }

    public func write(to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}
