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
