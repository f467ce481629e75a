import Foundation

/// The name of a stream, e.g. `participant-P-0001`.
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }
    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.name < rhs.name }

    /// FNV-1a 64 of the name: the key the stream index files events under. Hashed from the name's
    /// contiguous bytes: stepping through `utf8` cost ~70 ns a name, in every appended event.
    var indexKey: UInt64 {
        var bytes = name
        return bytes.withUTF8 { FNV1a.hash($0) }
    }
}

/// A 0-based, gapless position over the whole store.
public typealias LogPosition = Int64

/// A 0-based, gapless version within one stream.
public typealias StreamVersion = Int64

/// What a writer expects a stream to look like before its events land.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Append whatever the stream holds.
    case any
    /// The stream must not exist yet: how ids are kept unique.
    case noStream
    /// The stream must already hold at least one event.
    case streamExists
    /// The stream's last event must have exactly this version.
    case exact(StreamVersion)

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no-stream"
        case .streamExists: return "exists"
        case .exact(let v): return String(v)
        }
    }

    /// Parses the CLI's spelling: `any`, `no-stream`, `exists` or a version number.
    public init?(_ text: String) {
        switch text {
        case "any": self = .any
        case "no-stream": self = .noStream
        case "exists": self = .streamExists
        default:
            guard let v = Int64(text), v >= 0 else { return nil }
            self = .exact(v)
        }
    }

    func isSatisfied(byLastVersion last: StreamVersion?) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return last == nil
        case .streamExists: return last != nil
        case .exact(let v): return last == v
        }
    }
}

/// A SHA-256 value in the chain: a record's own hash or its predecessor's.
///
/// Kept inline as four words (no allocation), because every record read carries two.
public struct ChainHash: Sendable, Hashable, CustomStringConvertible {
    var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// The predecessor of the first record: 32 zero bytes.
    public static let genesis = ChainHash(w0: 0, w1: 0, w2: 0, w3: 0)

    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) { self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3 }

    /// From exactly 32 raw bytes.
    public init(raw: UnsafeRawBufferPointer) {
        w0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    public init(bytes: [UInt8]) {
        var padded = bytes + [UInt8](repeating: 0, count: max(0, 32 - bytes.count))
        self = padded.withUnsafeMutableBytes { ChainHash(raw: UnsafeRawBufferPointer($0)) }
    }

    public init?(hex: String) {
        guard hex.utf8.count == 64, let b = [UInt8](hexString: hex) else { return nil }
        self.init(bytes: b)
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }

    /// Appends the 32 bytes to `out` (what `bytes` holds, without an array of its own).
    func append(to out: inout [UInt8]) {
        withUnsafeBytes(of: w0) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: w1) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: w2) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: w3) { out.append(contentsOf: $0) }
    }

    /// Whether these are the 32 bytes at `raw`.
    func matches(_ raw: UnsafeRawBufferPointer) -> Bool { self == ChainHash(raw: raw) }

    public var hex: String { bytes.hexString }
    public var description: String { hex }
}

/// Where the log ends: the last event's position and hash.
///
/// Anyone holding a head can later prove, with `verify --expect-head`, that
/// the log still extends it unchanged.
public struct LogHead: Sendable, Hashable, CustomStringConvertible {
    public var position: LogPosition
    public var hash: ChainHash
    public init(position: LogPosition, hash: ChainHash) { self.position = position; self.hash = hash }
    public var description: String { "\(position):\(hash.hex)" }

    /// Parses `POSITION:HASH`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let p = Int64(parts[0]), p >= 0, let h = ChainHash(hex: String(parts[1])) else { return nil }
        self.position = p; self.hash = h
    }
}

extension UUID {
    /// The UUID as the log's JSON and messages spell it: lower-case hex, 8-4-4-4-12. Written digit by
    /// digit: `uuidString` formats through `sprintf`, then `lowercased()` copies it, and `log --json`
    /// asks for one per event.
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                var o = 0
                for (i, byte) in raw.enumerated() {
                    if i == 4 || i == 6 || i == 8 || i == 10 { out[o] = UInt8(ascii: "-"); o += 1 }
                    out[o] = hexDigit(byte >> 4); out[o + 1] = hexDigit(byte & 0xF); o += 2
                }
                return o
            }
        }
    }

    /// A random (version 4) UUID from the system generator (`getrandom`), without the file
    /// open, read and close that Foundation's `UUID()` costs here on every call.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        let a = generator.next() as UInt64, b = generator.next() as UInt64
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: a >> UInt64(8 * i)); bytes[8 + i] = UInt8(truncatingIfNeeded: b >> UInt64(8 * i)) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
