import Foundation

/// Turns events into framed record bytes and back (docs/FORMAT.md, "Records").
enum RecordCodec {
    static let frameHeaderSize = 8
    static let fixedBodySize = 52
    static let hashesSize = 64
    /// Records larger than this are refused: a sign of damage when reading, of misuse when writing.
    static let maximumBodySize = 16 << 20
    /// The smallest body there can be (three empty strings' u16 lengths, an empty data's u32 length):
    /// a frame length below it is damage.
    static let minimumBodySize = fixedBodySize + 6 + 4 + hashesSize

    enum Flag {
        static let endsBatch: UInt8 = 1
        static let hasCorrelation: UInt8 = 2
        static let hasCausation: UInt8 = 4
        static let hasSealedValues: UInt8 = 8
    }

    /// Appends one framed record to `out` and returns its hash. The event is read through a pointer, where it
    /// lies in the caller's batch: handed over as a value, it was copied whole, strings and data retained and
    /// released (~100 ns per event, more once the batch's objects are out of the cache).
    static func encode(_ pointer: UnsafePointer<ProposedEvent>, position: LogPosition, version: StreamVersion, recordedAt: Timestamp,
                       previousHash: ChainHash, endsBatch: Bool, into out: inout [UInt8]) -> ChainHash {
        let frameStart = out.count
        out.append(contentsOf: repeatElement(0, count: frameHeaderSize))
        let bodyStart = out.count
        ByteWriter.append(UInt64(position), to: &out)
        ByteWriter.append(version, to: &out)
        ByteWriter.append(pointer.pointee.occurredAt.microseconds, to: &out)
        ByteWriter.append(recordedAt.microseconds, to: &out)
        withUnsafeBytes(of: pointer.pointee.id.uuid) { out.append(contentsOf: $0) }
        ByteWriter.append(pointer.pointee.schemaVersion, to: &out)
        var flags: UInt8 = endsBatch ? Flag.endsBatch : 0
        if pointer.pointee.correlationId != nil { flags |= Flag.hasCorrelation }
        if pointer.pointee.causationId != nil { flags |= Flag.hasCausation }
        if !pointer.pointee.sealedFields.isEmpty { flags |= Flag.hasSealedValues }
        out.append(flags)
        out.append(0)
        ByteWriter.appendString16(pointer.pointee.stream.name, to: &out)
        ByteWriter.appendString16(pointer.pointee.type, to: &out)
        ByteWriter.appendString16(pointer.pointee.actor, to: &out)
        if let c = pointer.pointee.correlationId { ByteWriter.appendString16(c, to: &out) }
        if let c = pointer.pointee.causationId { ByteWriter.appendString16(c, to: &out) }
        let dataLengthAt = out.count
        ByteWriter.append(UInt32(0), to: &out)
        JSONValue.object(pointer.pointee.data).encodeBinary(into: &out)
        let dataLength = UInt32(out.count - dataLengthAt - 4)
        withUnsafeBytes(of: dataLength.littleEndian) { raw in
            for i in 0..<4 { out[dataLengthAt + i] = raw[i] }
        }
        previousHash.append(to: &out)
        let hash = out.withUnsafeBytes { SHA256.chainHash(of: UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        hash.append(to: &out)
        let bodyLength = UInt32(out.count - bodyStart)
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        withUnsafeBytes(of: bodyLength.littleEndian) { raw in for i in 0..<4 { out[frameStart + i] = raw[i] } }
        withUnsafeBytes(of: crc.littleEndian) { raw in for i in 0..<4 { out[frameStart + 4 + i] = raw[i] } }
        return hash
    }

    /// The length of the body `encode` writes for the event (its frame is `frameHeaderSize` more).
    static func bodySize(of pointer: UnsafePointer<ProposedEvent>) -> Int {
        func string16(_ s: String?) -> Int { s.map { 2 + $0.utf8.count } ?? 0 }
        let event = pointer
        return fixedBodySize + string16(event.pointee.stream.name) + string16(event.pointee.type) + string16(event.pointee.actor)
            + string16(event.pointee.correlationId) + string16(event.pointee.causationId)
            + 4 + JSONValue.object(event.pointee.data).binarySize + hashesSize
    }

    /// Why a stored field cannot be encoded, or nil when it can.
    /// (Through a pointer: the writer checks the batch's events where they lie, not copies of them.)
    static func problem(with pointer: UnsafePointer<ProposedEvent>?) -> String? {
        guard let event = pointer else { return "no event" }
        func tooLong(_ value: String?) -> Bool { (value?.utf8.count ?? 0) > Int(UInt16.max) }
        if tooLong(event.pointee.stream.name) { return "stream is longer than \(UInt16.max) bytes" }
        if tooLong(event.pointee.type) { return "type is longer than \(UInt16.max) bytes" }
        if tooLong(event.pointee.actor) { return "actor is longer than \(UInt16.max) bytes" }
        if tooLong(event.pointee.correlationId) { return "correlationId is longer than \(UInt16.max) bytes" }
        if tooLong(event.pointee.causationId) { return "causationId is longer than \(UInt16.max) bytes" }
        if event.pointee.stream.name.isEmpty { return "stream name is empty" }
        if event.pointee.type.isEmpty { return "type is empty" }
        return nil
    }

    /// Decodes a record body whose CRC has been checked; nil when its fields are malformed.
    static func decode(body: UnsafeRawBufferPointer) -> RecordedEvent? {
        var r = ByteReader(body)
        guard let position = r.readUInt64(), let version = r.readInt64(), let occurred = r.readInt64(),
              let recorded = r.readInt64(), let idBytes = r.readBytes(16), let schema = r.readUInt16(),
              let flags = r.readUInt8(), r.readUInt8() != nil,
              let stream = r.readString16(), let type = r.readString16(), let actor = r.readString16() else { return nil }
        var correlation: String?, causation: String?
        if flags & Flag.hasCorrelation != 0 { guard let c = r.readString16() else { return nil }; correlation = c }
        if flags & Flag.hasCausation != 0 { guard let c = r.readString16() else { return nil }; causation = c }
        guard let dataLength = r.readUInt32(), let dataBytes = r.readBytes(Int(dataLength)) else { return nil }
        var dataReader = ByteReader(dataBytes)
        guard case .object(let data)? = JSONValue.decodeBinary(&dataReader), dataReader.remaining == 0,
              let prev = r.readBytes(32), let own = r.readBytes(32), r.remaining == 0 else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: idBytes) }
        return RecordedEvent(position: LogPosition(bitPattern: position), stream: StreamID(stream), streamVersion: version,
                             id: UUID(uuid: uuid), type: type, occurredAt: Timestamp(microseconds: occurred),
                             recordedAt: Timestamp(microseconds: recorded), actor: actor, data: data,
                             schemaVersion: schema, correlationId: correlation, causationId: causation,
                             previousHash: ChainHash(raw: prev), hash: ChainHash(raw: own),
                             endsBatch: flags & Flag.endsBatch != 0, hasSealedValues: flags & Flag.hasSealedValues != 0)
    }

    /// Recomputes a body's own hash from its bytes and compares it with the stored one.
    static func hashMatches(body: UnsafeRawBufferPointer) -> Bool {
        guard body.count >= hashesSize else { return false }
        let computed = SHA256.chainHash(of: UnsafeRawBufferPointer(rebasing: body[0..<body.count - 32]))
        return computed.matches(UnsafeRawBufferPointer(rebasing: body[(body.count - 32)...]))
    }
}
