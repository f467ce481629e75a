#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file descriptor with the few system calls the store needs, each turning
/// `errno` into an `EventStoreError.io` that names the file.
final class RawFile: Sendable {
    let fd: Int32
    let path: String

    private init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> RawFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw EventStoreError.io(operation: "open", path: path, errno: errno) }
        return RawFile(fd: fd, path: path)
    }

    deinit { _ = Glibc.close(fd) }

    func size() throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EventStoreError.io(operation: "stat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// Reads up to `count` bytes at `offset` into `buffer`, looping over short reads; returns the bytes read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw EventStoreError.io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func readBytes(at offset: Int, count: Int) throws -> [UInt8] {
        // Not zeroed first: only the bytes the read fills are kept (a checkpoint is megabytes).
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            initialized = try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw EventStoreError.io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { buffer throws in try write(buffer, at: offset) }
    }

    /// Flushes data and, when `metadata` is set, the file's size and allocation too.
    func sync(metadata: Bool = true) throws {
        let rc = metadata ? fsync(fd) : fdatasync(fd)
        guard rc == 0 else { throw EventStoreError.io(operation: metadata ? "fsync" : "fdatasync", path: path, errno: errno) }
    }

    /// Allocates zero-filled space so later writes need not change the file's size.
    func preallocate(from offset: Int, length: Int) throws {
        let rc = posix_fallocate(fd, off_t(offset), off_t(length))
        guard rc == 0 else { throw EventStoreError.io(operation: "preallocate", path: path, errno: rc) }
    }

    func truncate(to length: Int) throws {
        guard ftruncate(fd, off_t(length)) == 0 else { throw EventStoreError.io(operation: "truncate", path: path, errno: errno) }
    }

    /// Takes the advisory lock, waiting for it.
    func lockExclusive() throws {
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw EventStoreError.io(operation: "lock", path: path, errno: errno)
        }
    }

    /// Takes the advisory lock only if it is free.
    func tryLockExclusive() throws -> Bool { try tryLock(LOCK_EX) }

    /// Takes the advisory lock shared with other shared holders, only if no one holds it exclusively.
    func tryLockShared() throws -> Bool { try tryLock(LOCK_SH) }

    private func tryLock(_ operation: Int32) throws -> Bool {
        if flock(fd, operation | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw EventStoreError.io(operation: "lock", path: path, errno: errno)
    }

    func unlock() { _ = flock(fd, LOCK_UN) }
}

/// Directory operations the store uses.
enum Directory {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether something other than a directory (a file) is at `path`.
    static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func create(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw EventStoreError.io(operation: "mkdir", path: path, errno: errno) }
    }

    static func entries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw EventStoreError.io(operation: "list", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Makes a new directory entry durable.
    static func sync(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw EventStoreError.io(operation: "open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw EventStoreError.io(operation: "fsync", path: path, errno: errno) }
    }

    /// Writes a small file atomically: a temporary file, fsync, rename, fsync of the directory.
    /// - Parameter durable: fsync before and after the rename; derived files (checkpoints) skip it,
    ///   since a lost or torn one is detected and rebuilt.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String, durable: Bool = true) throws {
        try writeAtomically(parts: [bytes], to: path, directory: directory, durable: durable)
    }

    /// The same, for content in several parts (written one after another, never copied together).
    static func writeAtomically(parts: [[UInt8]], to path: String, directory: String, durable: Bool = true) throws {
        let temporary = path + ".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        do {
            let file = try RawFile.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            var offset = 0
            for part in parts {
                try file.write(part, at: offset)
                offset += part.count
            }
            if durable { try file.sync() }
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw EventStoreError.io(operation: "rename", path: path, errno: code)
        }
        if durable { try sync(directory) }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = try? RawFile.open(path, flags: O_RDONLY), let size = try? file.size(),
              let bytes = try? file.readBytes(at: 0, count: size) else { return nil }
        return bytes
    }
}
