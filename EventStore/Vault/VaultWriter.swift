import Foundation

/// Appends to and rewrites the vault. Every call runs under the store's `flock` (inside
/// `LogWriter`), so at most one process touches the file at a time; readers never lock.
final class VaultWriter {
    let path: String
    let directory: String
    let root: String
    /// The file as this writer last left it; anything else means another process wrote or
    /// rewrote it, and it is scanned again before the next append.
    private var known: (inode: UInt64, size: Int)?

    init(layout: StoreLayout) {
        path = layout.vaultFile
        directory = layout.vaultDirectory
        root = layout.root
    }

    /// Appends records and syncs them. Called before the log's own write, so a value is on disk
    /// before the event that refers to it is acknowledged.
    func append(_ records: [VaultRecord]) throws {
        guard !records.isEmpty else { return }
        if !Directory.exists(directory) {
            try Directory.create(directory)
            try Directory.sync(root)
        }
        let created = !Directory.fileExists(path)
        let file = try RawFile.open(path, flags: O_RDWR | O_CREAT)
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { throw EventStoreError.io(operation: "stat", path: path, errno: errno) }
        var end = Int(st.st_size)
        if known.map({ $0.inode != UInt64(st.st_ino) || $0.size != end }) ?? true {
            let scan = VaultFile.scan(try file.readBytes(at: 0, count: end))
            if let damage = scan.damage { throw EventStoreError.damagedVault(reason: damage) }
            if scan.tornTail {
                // An interrupted append of another writer: its events were never acknowledged.
                try file.truncate(to: scan.end)
                try file.sync()
            }
            end = scan.end
        }
        let bytes = VaultFile.encode(records)
        do {
            try file.write(bytes, at: end)
            try file.sync(metadata: created)
            if created { try Directory.sync(directory) }
        } catch {
            try? file.truncate(to: end)
            known = nil
            throw error
        }
        known = (UInt64(st.st_ino), end + bytes.count)
    }

    /// Every record, refusing a damaged vault.
    func records() throws -> [VaultRecord] {
        let scan = try VaultFile.read(path)
        if let damage = scan.damage { throw EventStoreError.damagedVault(reason: damage) }
        return scan.records
    }

    /// Replaces the values of `events`' sealed fields with erasure marks and drops values whose
    /// event never reached the log (left by failed appends); the new file replaces the old
    /// atomically. Returns how many values were erased.
    func erase(_ events: Set<UUID>, isInLog: (UUID) -> Bool) throws -> Int {
        guard Directory.fileExists(path) else { return 0 }
        var kept: [VaultRecord] = []
        var marked = Set<String>()
        var erased = Set<String>()
        for record in try records() {
            let key = record.event.uuidString + "/" + record.field
            if events.contains(record.event) {
                if record.kind == .value { erased.insert(key) }
                if marked.insert(key).inserted { kept.append(.erasure(of: record.field, in: record.event)) }
            } else if record.kind == .erased || isInLog(record.event) {
                kept.append(record)
            }
        }
        try Directory.writeAtomically(VaultFile.encode(kept), to: path, directory: directory)
        known = nil
        return erased.count
    }
}
