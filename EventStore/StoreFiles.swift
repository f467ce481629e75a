import Foundation

/// Small named files kept under the store (`meta/`), for the daemons' heartbeats
/// and the like: written atomically, read whole. Not part of the log.
extension EventLog {
    var metadataDirectory: String { path + "/meta" }

    public func saveMetadata(_ bytes: [UInt8], named name: String) throws {
        try Directory.create(metadataDirectory)
        try Directory.writeAtomically(bytes, to: metadataDirectory + "/" + name, directory: metadataDirectory)
    }

    public func loadMetadata(named name: String) -> [UInt8]? {
        Directory.readFile(metadataDirectory + "/" + name)
    }

    /// The names of the files under `meta/`, in no particular order (none before the first is saved).
    ///
    /// A file being saved shows for a moment under a temporary name beside it (`NAME.tmp.…`).
    public func metadataNames() throws -> [String] {
        guard Directory.exists(metadataDirectory) else { return [] }
        return try Directory.entries(metadataDirectory)
    }

    /// Removes a file under `meta/`; removing one that is not there is no error.
    public func removeMetadata(named name: String) throws {
        let path = metadataDirectory + "/" + name
        guard unlink(path) == 0 || errno == ENOENT else { throw EventStoreError.io(operation: "unlink", path: path, errno: errno) }
    }

    /// Takes a named lock under the store without waiting; nil when another process holds it in a way
    /// that excludes this one (any holder for an exclusive lock, an exclusive holder for a shared one).
    ///
    /// The lock lasts as long as the returned value (or the process) lives.
    public func tryLock(named name: String, shared: Bool = false) throws -> StoreLock? {
        try Directory.create(metadataDirectory)
        let file = try RawFile.open(metadataDirectory + "/" + name + ".lock", flags: O_RDWR | O_CREAT)
        let taken = shared ? try file.tryLockShared() : try file.tryLockExclusive()
        return taken ? StoreLock(file: file) : nil
    }
}

/// A held advisory lock; released when this is released.
public final class StoreLock: Sendable {
    let file: RawFile
    init(file: RawFile) { self.file = file }
    deinit { file.unlock() }
}
