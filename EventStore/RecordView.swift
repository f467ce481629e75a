import Foundation

/// One stored event read in place: its fields are read from the record's bytes when asked for,
/// without building a `RecordedEvent` (strings, a data object, a copy of everything).
///
/// A rebuild turns a million records into typed events; building each as a `RecordedEvent` first
/// cost more than everything the projections then did with it. A view is valid only inside the
/// `EventLog.forEachRecord(from:_:batchEnded:)` call that handed it over: keep what you read from
/// it, never the view. Its record's CRC, position and chain link were checked before it was made,
/// and its layout (every string valid UTF-8, the data a well-formed object) when it was made.
public struct RecordView {
    private let body: UnsafeRawBufferPointer
    private let streamRange: Range<Int>, typeRange: Range<Int>, actorRange: Range<Int>, dataRange: Range<Int>
    private let fields: DataView.FieldIndex

    /// Checks the layout of a record body whose CRC has been checked; nil when it is malformed.
    init?(body: UnsafeRawBufferPointer) {
        var r = ByteReader(body, offset: RecordCodec.fixedBodySize)
        guard body.count >= RecordCodec.fixedBodySize + RecordCodec.hashesSize else { return nil }
        let flags = body[50]
        func string16(_ r: inout ByteReader) -> Range<Int>? {
            guard let n = r.readUInt16() else { return nil }
            let start = r.position
            guard let raw = r.readBytes(Int(n)), JSONParser.isValidUTF8(raw) else { return nil }
            return start..<start + Int(n)
        }
        guard let stream = string16(&r), let type = string16(&r), let actor = string16(&r) else { return nil }
        if flags & RecordCodec.Flag.hasCorrelation != 0 { guard string16(&r) != nil else { return nil } }
        if flags & RecordCodec.Flag.hasCausation != 0 { guard string16(&r) != nil else { return nil } }
        guard let dataLength = r.readUInt32() else { return nil }
        let dataStart = r.position
        guard let data = r.readBytes(Int(dataLength)), r.remaining == RecordCodec.hashesSize else { return nil }
        guard let fields = DataView.FieldIndex(checking: data) else { return nil }
        self.body = body
        self.fields = fields
        streamRange = stream; typeRange = type; actorRange = actor; dataRange = dataStart..<dataStart + Int(dataLength)
    }

    private func int64(at offset: Int) -> Int64 { Int64(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
    private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: body[range]), as: UTF8.self)
    }

    public var position: LogPosition { int64(at: 0) }
    public var streamVersion: StreamVersion { int64(at: 8) }
    public var occurredAt: Timestamp { Timestamp(microseconds: int64(at: 16)) }
    public var recordedAt: Timestamp { Timestamp(microseconds: int64(at: 24)) }
    public var id: UUID {
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: body[32..<48])) }
        return UUID(uuid: uuid)
    }
    public var hash: ChainHash { ChainHash(raw: UnsafeRawBufferPointer(rebasing: body[(body.count - 32)...])) }
    public var stream: StreamID { StreamID(string(streamRange)) }
    public var type: String { string(typeRange) }
    public var actor: String { string(actorRange) }

    /// The actor, reusing `last` when the bytes are the same (a log's actors repeat from record to
    /// record; making each one a String again was a tenth of reading a record).
    public func actor(reusing last: inout String) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: body[actorRange])
        if last.utf8.withContiguousStorageIfAvailable({ UnsafeRawBufferPointer($0).hasSameBytes(as: bytes) }) == true { return last }
        last = string(actorRange)
        return last
    }

    /// Whether the event's type is `name`, compared in place.
    public func hasType(_ name: StaticString) -> Bool {
        name.withUTF8Buffer { UnsafeRawBufferPointer($0).elementsEqual(UnsafeRawBufferPointer(rebasing: body[typeRange])) }
    }

    /// Calls `read` with the stream name's UTF-8 bytes (to make a key of it without the whole String).
    public func withStreamBytes<T>(_ read: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try read(UnsafeRawBufferPointer(rebasing: body[streamRange]))
    }

    /// Calls `body` with the type's UTF-8 bytes (for matching against known names without a String).
    public func withTypeBytes<T>(_ read: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try read(UnsafeRawBufferPointer(rebasing: body[typeRange]))
    }

    /// The data object's fields, read in place.
    public var data: DataView { DataView(bytes: UnsafeRawBufferPointer(rebasing: body[dataRange]), fields: fields) }

    /// The whole event, decoded (what `forEach(from:through:_:)` hands over).
    public func recorded() -> RecordedEvent? { RecordCodec.decode(body: body) }
}

/// The fields of a stored event's data object, looked up by key in the binary form.
public struct DataView {
    fileprivate let bytes: UnsafeRawBufferPointer
    fileprivate let fields: FieldIndex

    fileprivate init(bytes: UnsafeRawBufferPointer, fields: FieldIndex) { self.bytes = bytes; self.fields = fields }

    /// Where the first fields' keys start, noted while the object is checked, so a lookup compares
    /// keys without stepping over every value before it (a rebuild looks up several fields of
    /// every event). Up to `capacity` fields of an object under 64 KiB; the rest are found by a scan.
    struct FieldIndex {
        static let capacity = 8
        /// Key offsets as 16-bit lanes: fields 0–3 in `low`, 4–7 in `high`.
        private var low: UInt64 = 0, high: UInt64 = 0
        /// How many fields the index holds, and how many the object has.
        private(set) var indexed = 0, count = 0

        func keyOffset(_ i: Int) -> Int { Int(((i < 4 ? low : high) >> (UInt64(i % 4) * 16)) & 0xFFFF) }

        /// Checks a stored data object (tags, lengths, depth, UTF-8) and indexes its first keys; nil when malformed.
        init?(checking data: UnsafeRawBufferPointer) {
            var r = ByteReader(data)
            guard r.readUInt8() == JSONValue.BinaryTag.object.rawValue, let n = r.readUInt32(), Int(n) <= r.remaining else { return nil }
            count = Int(n)
            for i in 0..<count {
                let at = r.position
                guard let length = r.readUInt32(), let key = r.readBytes(Int(length)), JSONParser.isValidUTF8(key),
                      JSONValue.skipBinary(&r, depth: 1) else { return nil }
                if i < FieldIndex.capacity && at <= 0xFFFF && data.count <= 0xFFFF {
                    if i < 4 { low |= UInt64(at) << (UInt64(i) * 16) } else { high |= UInt64(at) << (UInt64(i - 4) * 16) }
                    indexed = i + 1
                }
            }
            guard r.remaining == 0 else { return nil }
        }
    }

    /// The reader positioned at the value of `key`, or nil when the object has no such field.
    private func reader(at key: String) -> ByteReader? {
        var key = key
        return key.withUTF8 { reader(matching: UnsafeRawBufferPointer($0)) }
    }

    /// The same for a key known when the program was built (every key a typed event reads): its bytes are
    /// read where they lie, not copied out of a String first.
    private func reader(at key: StaticString) -> ByteReader? {
        key.withUTF8Buffer { reader(matching: UnsafeRawBufferPointer($0)) }
    }

    private func reader(matching wanted: UnsafeRawBufferPointer) -> ByteReader? {
        for i in 0..<fields.indexed {
            var r = ByteReader(bytes, offset: fields.keyOffset(i))
            guard let n = r.readUInt32(), let name = r.readBytes(Int(n)) else { return nil }
            if name.hasSameBytes(as: wanted) { return r }
        }
        guard fields.indexed < fields.count else { return nil }
        // Past the index: step from the last indexed field (or the start) over each value.
        var r = ByteReader(bytes, offset: fields.indexed == 0 ? 5 : fields.keyOffset(fields.indexed - 1))
        if fields.indexed > 0 {
            guard let n = r.readUInt32(), r.readBytes(Int(n)) != nil, JSONValue.skipBinary(&r, validating: false) else { return nil }
        }
        for _ in fields.indexed..<fields.count {
            guard let n = r.readUInt32(), let name = r.readBytes(Int(n)) else { return nil }
            if name.hasSameBytes(as: wanted) { return r }
            guard JSONValue.skipBinary(&r, validating: false) else { return nil }
        }
        return nil
    }

    /// The field's value, decoded (nil when absent).
    public subscript(key: String) -> JSONValue? {
        guard var r = reader(at: key) else { return nil }
        return JSONValue.decodeBinary(&r, depth: 1)
    }

    /// The field as a string, without decoding anything else; nil when absent or not a string.
    public func string(_ key: String) -> String? {
        guard var r = reader(at: key) else { return nil }
        return DataView.string(&r)
    }

    /// The same, for a key written in the program.
    public func string(_ key: StaticString) -> String? {
        guard var r = reader(at: key) else { return nil }
        return DataView.string(&r)
    }

    /// The string value at the reader; its UTF-8 was checked when the view was made, so it is not again.
    private static func string(_ r: inout ByteReader) -> String? {
        guard r.readUInt8() == JSONValue.BinaryTag.string.rawValue, let n = r.readUInt32(), let raw = r.readBytes(Int(n)) else { return nil }
        return raw.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
    }

    /// The field as a boolean; nil when absent or not a boolean.
    public func bool(_ key: String) -> Bool? {
        guard var r = reader(at: key) else { return nil }
        return DataView.bool(&r)
    }

    /// The same, for a key written in the program.
    public func bool(_ key: StaticString) -> Bool? {
        guard var r = reader(at: key) else { return nil }
        return DataView.bool(&r)
    }

    private static func bool(_ r: inout ByteReader) -> Bool? {
        guard let tag = r.readUInt8() else { return nil }
        switch tag {
        case JSONValue.BinaryTag.true.rawValue: return true
        case JSONValue.BinaryTag.false.rawValue: return false
        default: return nil
        }
    }

    /// The whole object, decoded.
    public var object: JSONObject {
        var r = ByteReader(bytes)
        guard case .object(let o)? = JSONValue.decodeBinary(&r) else { return JSONObject() }
        return o
    }
}
