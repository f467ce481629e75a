import Foundation

/// Small named files kept under the store (`meta/`), for the daemon's heartbeat
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

    /// Takes a named exclusive lock under the store without waiting; nil when another process holds it.
    ///
    /// The lock lasts as long as the returned value (or the process) lives.
    public func tryLock(named name: String) throws -> StoreLock? {
        try Directory.create(metadataDirectory)
        let file = try RawFile.open(metadataDirectory + "/" + name + ".lock", flags: O_RDWR | O_CREAT)
        return try file.tryLockExclusive() ? StoreLock(file: file) : nil
    }
}

/// A held advisory lock; released when this is released.
public final class StoreLock: Sendable {
    let file: RawFile
    init(file: RawFile) { self.file = file }
    deinit { file.unlock() }
}
