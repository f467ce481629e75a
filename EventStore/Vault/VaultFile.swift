import Foundation

/// One entry of the vault: a sealed field's value, or the mark that it was erased.
struct VaultRecord: Sendable, Equatable {
    enum Kind: UInt8, Sendable { case value = 1, erased = 2 }

    var kind: Kind
    var event: UUID
    var field: String
    /// 16 random bytes hashed before the value, so an erased short text cannot be found by guessing.
    var salt: [UInt8]
    var text: String

    static func value(_ text: String, of field: String, in event: UUID) -> VaultRecord {
        var generator = SystemRandomNumberGenerator()
        var salt = [UInt8](); salt.reserveCapacity(16)
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            for i in 0..<8 { salt.append(UInt8(truncatingIfNeeded: word >> UInt64(8 * i))) }
        }
        return VaultRecord(kind: .value, event: event, field: field, salt: salt, text: text)
    }

    static func erasure(of field: String, in event: UUID) -> VaultRecord {
        VaultRecord(kind: .erased, event: event, field: field, salt: [], text: "")
    }

    /// SHA-256 of salt ‖ UTF-8 value: what the event carries in place of the value.
    var digest: [UInt8] { SHA256.hash(salt + Array(text.utf8)) }

    func matches(digest hex: String) -> Bool { kind == .value && digest.hexString == hex }
}

/// What a read of the vault file found.
struct VaultScan: Sendable {
    var records: [VaultRecord] = []
    /// The end of the last whole record: where the next one is written.
    var end = 0
    /// Bytes after `end` that are an interrupted write (no whole record follows them).
    var tornTail = false
    /// A broken record with whole records after it: damage, not an interrupted write.
    var damage: String?
}

/// The vault's file format (docs/FORMAT.md, "Vault"): records appended one after another,
/// each `magic(8) length(4) crc32c(4) body`, body = kind(1) uuid(16) field(u16+utf8)
/// [salt(16) value(u32+utf8)].
///
/// The magic lets a reader that meets a broken record look for whole records after it: if
/// there are none, the bytes are an interrupted final write (the events they belonged to were
/// never acknowledged, since the vault is synced before the log); if there are, it is damage.
enum VaultFile {
    static let magic: [UInt8] = Array("HLVAULT1".utf8)
    static let headerSize = 16
    static let maximumBodySize = 16 << 20

    static func encode(_ record: VaultRecord, into out: inout [UInt8]) {
        var body: [UInt8] = [record.kind.rawValue]
        withUnsafeBytes(of: record.event.uuid) { body.append(contentsOf: $0) }
        ByteWriter.appendString16(record.field, to: &body)
        if record.kind == .value {
            body.append(contentsOf: record.salt)
            ByteWriter.appendString32(record.text, to: &body)
        }
        out.append(contentsOf: magic)
        ByteWriter.append(UInt32(body.count), to: &out)
        ByteWriter.append(body.withUnsafeBytes { CRC32C.checksum($0) }, to: &out)
        out.append(contentsOf: body)
    }

    static func encode(_ records: [VaultRecord]) -> [UInt8] {
        var out: [UInt8] = []
        for record in records { encode(record, into: &out) }
        return out
    }

    /// Reads the whole vault; a missing file is an empty vault.
    static func read(_ path: String) throws -> VaultScan {
        guard Directory.fileExists(path) else { return VaultScan() }
        let file = try RawFile.open(path, flags: O_RDONLY)
        return scan(try file.readBytes(at: 0, count: try file.size()))
    }

    static func scan(_ bytes: [UInt8]) -> VaultScan {
        var result = VaultScan()
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                if let (record, next) = parse(raw, at: offset) {
                    result.records.append(record)
                    offset = next
                    result.end = next
                    continue
                }
                // Whole records after a broken one mean damage; none means an interrupted write.
                var probe = offset + 1
                while probe + headerSize <= raw.count {
                    if raw[probe] == magic[0], parse(raw, at: probe) != nil {
                        result.damage = "a broken vault record at byte \(offset) is followed by whole records"
                        return
                    }
                    probe += 1
                }
                result.tornTail = true
                return
            }
        }
        return result
    }

    /// The record at `offset` and the offset after it, or nil when the bytes there are not a whole, intact record.
    static func parse(_ raw: UnsafeRawBufferPointer, at offset: Int) -> (VaultRecord, Int)? {
        guard offset + headerSize <= raw.count,
              magic.indices.allSatisfy({ raw[offset + $0] == magic[$0] }) else { return nil }
        var header = ByteReader(raw, offset: offset + magic.count)
        guard let length = header.readUInt32(), let crc = header.readUInt32(), Int(length) <= maximumBodySize,
              offset + headerSize + Int(length) <= raw.count else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: raw[(offset + headerSize)..<(offset + headerSize + Int(length))])
        guard CRC32C.checksum(body) == crc else { return nil }
        var r = ByteReader(body)
        guard let kindByte = r.readUInt8(), let kind = VaultRecord.Kind(rawValue: kindByte), let idBytes = r.readBytes(16),
              let field = r.readString16() else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: idBytes) }
        var record = VaultRecord(kind: kind, event: UUID(uuid: uuid), field: field, salt: [], text: "")
        if kind == .value {
            guard let salt = r.readBytes(16), let text = r.readString32() else { return nil }
            record.salt = Array(salt)
            record.text = text
        }
        guard r.remaining == 0 else { return nil }
        return (record, offset + headerSize + Int(length))
    }
}
