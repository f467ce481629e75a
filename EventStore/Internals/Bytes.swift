import Foundation

/// The lower-case hexadecimal digit for `n` (0–15): hashes, ids and JSON escapes are spelled with it.
@inline(__always)
func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? UInt8(ascii: "0") + n : UInt8(ascii: "a") + n - 10 }

/// Little-endian appends for building record bodies.
public enum ByteWriter {
    @inlinable @inline(__always)
    public static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A string with a 16-bit length prefix; callers check the length first.
    public static func appendString16(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            append(UInt16(truncatingIfNeeded: utf8.count), to: &out)
            out.append(contentsOf: utf8)
        }
    }

    public static func appendString32(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            append(UInt32(truncatingIfNeeded: utf8.count), to: &out)
            out.append(contentsOf: utf8)
        }
    }
}

/// A bounds-checked little-endian cursor over borrowed bytes.
///
/// Every read returns nil instead of trapping, because the bytes come from
/// disk and may be damaged.
public struct ByteReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset: Int
    public var position: Int { offset }

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    @inlinable @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count, let base = bytes.baseAddress else { return nil }
        let value = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    @inlinable public mutating func readUInt8() -> UInt8? { read(UInt8.self) }
    @inlinable public mutating func readUInt16() -> UInt16? { read(UInt16.self) }
    @inlinable public mutating func readUInt32() -> UInt32? { read(UInt32.self) }
    @inlinable public mutating func readUInt64() -> UInt64? { read(UInt64.self) }
    @inlinable public mutating func readInt64() -> Int64? { read(Int64.self) }

    public mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        offset += count
        return slice
    }

    /// Ill-formed UTF-8 is refused (nil), but ASCII — nearly every stored string — skips the
    /// slow, unspecialised validating initialiser.
    mutating func readString(count: Int) -> String? {
        guard let raw = readBytes(count) else { return nil }
        return JSONParser.utf8String(raw)
    }

    public mutating func readString16() -> String? {
        guard let n = readUInt16() else { return nil }
        return readString(count: Int(n))
    }

    public mutating func readString32() -> String? {
        guard let n = readUInt32() else { return nil }
        return readString(count: Int(n))
    }
}

extension UnsafeRawBufferPointer {
    /// Whether both hold the same bytes: lengths first, then one `memcmp` (what names read in place
    /// are matched with, for every record a rebuild reads).
    public func hasSameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard let a = baseAddress, let b = other.baseAddress else { return count == 0 }
        return memcmp(a, b, count) == 0
    }

    /// Whether these bytes begin with `prefix`.
    public func starts(withBytes prefix: UnsafeRawBufferPointer) -> Bool {
        count >= prefix.count && UnsafeRawBufferPointer(rebasing: self[..<prefix.count]).hasSameBytes(as: prefix)
    }
}

extension UnsafeRawBufferPointer {
    /// Whether every byte is below 0x80, checked eight at a time (every string of every record read
    /// is checked: nearly all are ASCII).
    public var isASCII: Bool {
        var i = 0
        while i + 8 <= count {
            if loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < count {
            if self[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }
}
