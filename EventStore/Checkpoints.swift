import Foundation

/// A saved read-model state and the log head it was computed at.
public struct Checkpoint: Sendable, Equatable {
    public var head: LogHead
    public var state: [UInt8]
    public init(head: LogHead, state: [UInt8]) { self.head = head; self.state = state }
}

/// Opaque, named checkpoints kept under the store, for projections to resume from.
///
/// The store neither knows nor cares what the state means. Saves are atomic
/// (new file, rename; not fsynced — a checkpoint is derived, and one lost or torn
/// in a crash fails its CRC and is rebuilt) and serialised by a per-name lock; a checkpoint
/// only ever moves forward. A checkpoint whose head no longer matches the log
/// is the caller's to discard.
extension EventLog {
    static let checkpointMagic = Array("HLCKPT01".utf8)

    func checkpointPath(_ name: String) -> String { layout.checkpoints + "/" + name + ".ckpt" }

    /// The saved checkpoint, or nil when there is none or it is unreadable (torn, damaged).
    public func loadCheckpoint(named name: String) -> Checkpoint? {
        let headerSize = 8 + 8 + 32 + 4
        guard var bytes = Directory.readFile(checkpointPath(name)), bytes.count >= headerSize,
              Array(bytes[0..<8]) == EventLog.checkpointMagic else { return nil }
        let header = bytes.withUnsafeBytes { raw -> (LogHead, UInt32)? in
            var r = ByteReader(raw, offset: 8)
            guard let position = r.readUInt64(), let hash = r.readBytes(32), let crc = r.readUInt32() else { return nil }
            return (LogHead(position: LogPosition(position), hash: ChainHash(raw: hash)), crc)
        }
        guard let (head, crc) = header else { return nil }
        // Drop the header in place rather than copying a state that may be tens of megabytes.
        bytes.removeSubrange(0..<headerSize)
        guard CRC32C.checksum(bytes) == crc else { return nil }
        return Checkpoint(head: head, state: bytes)
    }

    /// Saves a checkpoint unless one at the same or a later position is already saved.
    public func saveCheckpoint(_ checkpoint: Checkpoint, named name: String) throws {
        try saveCheckpoint(head: checkpoint.head, parts: [checkpoint.state], named: name)
    }

    /// The same, for a state given in parts (written one after another, never joined in memory).
    public func saveCheckpoint(head: LogHead, parts: [[UInt8]], named name: String) throws {
        try saveCheckpoint(head: head, named: name) { write in for part in parts { try write(part) } }
    }

    /// The same, for a state written part by part as it is encoded: each part goes to the file when
    /// `write` gets it, so a state of tens of megabytes is never held whole in memory. The header
    /// (with the state's CRC) is written last, then the file is renamed into place.
    public func saveCheckpoint(head: LogHead, named name: String,
                               writing body: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        try? Directory.create(layout.checkpoints)
        let lock = try RawFile.open(layout.checkpoints + "/" + name + ".lock", flags: O_RDWR | O_CREAT)
        try lock.lockExclusive()
        defer { lock.unlock() }
        // The header says whether a later one is saved; only then is the whole file read, to be sure it is sound.
        if let saved = savedCheckpointPosition(named: name), saved >= head.position,
           let existing = loadCheckpoint(named: name), existing.head.position >= head.position { return }
        let headerSize = 8 + 8 + 32 + 4
        let path = checkpointPath(name)
        let temporary = path + ".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        do {
            let file = try RawFile.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            var offset = headerSize
            var crc: UInt32 = 0
            try body { part in
                try file.write(part, at: offset)
                offset += part.count
                crc = part.withUnsafeBytes { CRC32C.checksum($0, seed: crc) }
            }
            var header = EventLog.checkpointMagic
            ByteWriter.append(UInt64(head.position), to: &header)
            header += head.hash.bytes
            ByteWriter.append(crc, to: &header)
            try file.write(header, at: 0)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw EventStoreError.io(operation: "rename", path: path, errno: code)
        }
    }

    /// The position a saved checkpoint's header names, read without the (possibly large) state.
    func savedCheckpointPosition(named name: String) -> LogPosition? {
        guard let file = try? RawFile.open(checkpointPath(name), flags: O_RDONLY),
              let header = try? file.readBytes(at: 0, count: 16), header.count == 16,
              Array(header[0..<8]) == EventLog.checkpointMagic else { return nil }
        return header.withUnsafeBytes { LogPosition(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) }
    }

    /// Removes every checkpoint (for `rebuild`), or just the named one.
    public func discardCheckpoints(named name: String? = nil) throws {
        for file in (try? Directory.entries(layout.checkpoints)) ?? [] where file.hasSuffix(".ckpt") {
            if let name, file != name + ".ckpt" { continue }
            unlink(layout.checkpoints + "/" + file)
        }
    }
}
