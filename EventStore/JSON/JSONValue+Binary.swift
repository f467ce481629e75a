/// The compact binary form of `data` inside a stored record.
///
/// Replay must decode far faster than text JSON allows, so `data` is stored
/// as tagged values (see docs/FORMAT.md, "Data encoding"): one tag byte, then
/// fixed-width little-endian lengths and numbers.
extension JSONValue {
    enum BinaryTag: UInt8 { case null = 0, `false` = 1, `true` = 2, int = 3, double = 4, string = 5, array = 6, object = 7 }

    /// Appends the binary form of the value to `out`.
    public func encodeBinary(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(BinaryTag.null.rawValue)
        case .bool(let b): out.append(b ? BinaryTag.true.rawValue : BinaryTag.false.rawValue)
        case .int(let i): out.append(BinaryTag.int.rawValue); ByteWriter.append(UInt64(bitPattern: i), to: &out)
        case .double(let d): out.append(BinaryTag.double.rawValue); ByteWriter.append(d.bitPattern, to: &out)
        case .string(let s):
            out.append(BinaryTag.string.rawValue)
            ByteWriter.appendString32(s, to: &out)
        case .array(let items):
            out.append(BinaryTag.array.rawValue)
            ByteWriter.append(UInt32(items.count), to: &out)
            for item in items { item.encodeBinary(into: &out) }
        case .object(let object):
            out.append(BinaryTag.object.rawValue)
            ByteWriter.append(UInt32(object.count), to: &out)
            for pair in object.pairs {
                ByteWriter.appendString32(pair.key, to: &out)
                pair.value.encodeBinary(into: &out)
            }
        }
    }

    /// The length of the binary form, without writing it: a writer sizes a batch, and refuses a record
    /// too large for a reader to accept, before it writes anything.
    public var binarySize: Int {
        switch self {
        case .null, .bool: return 1
        case .int, .double: return 9
        case .string(let s): return 5 + s.utf8.count
        case .array(let items): return items.reduce(5) { $0 + $1.binarySize }
        case .object(let object): return object.pairs.reduce(5) { $0 + 4 + $1.key.utf8.count + $1.value.binarySize }
        }
    }

    /// Decodes one binary value; nil when the bytes are not a well-formed value.
    public static func decodeBinary(_ reader: inout ByteReader, depth: Int = 0) -> JSONValue? {
        guard let raw = reader.readUInt8(), let tag = BinaryTag(rawValue: raw) else { return nil }
        if (tag == .array || tag == .object) && depth >= JSONParser.maximumDepth { return nil }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return reader.readUInt64().map { .int(Int64(bitPattern: $0)) }
        case .double: return reader.readUInt64().map { .double(Double(bitPattern: $0)) }
        case .string: return reader.readString32().map { .string($0) }
        case .array:
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining else { return nil }
            var items: [JSONValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let item = decodeBinary(&reader, depth: depth + 1) else { return nil }
                items.append(item)
            }
            return .array(items)
        case .object:
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining else { return nil }
            var pairs: [(key: String, value: JSONValue)] = []
            pairs.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let key = reader.readString32(), let value = decodeBinary(&reader, depth: depth + 1) else { return nil }
                pairs.append((key, value))
            }
            return .object(JSONObject(pairs))
        }
    }

    /// Steps over one binary value, checking it as `decodeBinary` would (tags, lengths, depth, UTF-8)
    /// without building it; false when the bytes are not a well-formed value.
    /// - Parameter validating: false for bytes already checked (a `RecordView`'s data): lengths only.
    static func skipBinary(_ reader: inout ByteReader, depth: Int = 0, validating: Bool = true) -> Bool {
        guard let raw = reader.readUInt8(), let tag = BinaryTag(rawValue: raw) else { return false }
        if (tag == .array || tag == .object) && depth >= JSONParser.maximumDepth { return false }
        func string(_ reader: inout ByteReader) -> Bool {
            guard let n = reader.readUInt32(), let bytes = reader.readBytes(Int(n)) else { return false }
            return !validating || JSONParser.isValidUTF8(bytes)
        }
        switch tag {
        case .null, .false, .true: return true
        case .int, .double: return reader.readUInt64() != nil
        case .string: return string(&reader)
        case .array:
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining else { return false }
            for _ in 0..<count where !skipBinary(&reader, depth: depth + 1, validating: validating) { return false }
            return true
        case .object:
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining else { return false }
            for _ in 0..<count where !(string(&reader) && skipBinary(&reader, depth: depth + 1, validating: validating)) { return false }
            return true
        }
    }
}
