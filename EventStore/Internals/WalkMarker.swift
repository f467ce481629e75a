import Foundation

/// What a writer knew to be sound when it last walked the log: the head it reached, and every
/// segment file's size and modification time then.
///
/// Opening for append walks the log so that damage is refused rather than written past. With a
/// marker whose segments are all exactly as recorded, the next writer walks only from the
/// marker's head: nothing before it can have changed without changing a segment's stamp. Any
/// difference (damage, a copy, a writer killed after appending) means a walk of the whole log.
/// The marker is derived data (`index/walked`), never synced: lost or torn, it is ignored.
///
/// It also says how many index entries were synced to disk before it was written: those cannot
/// have been zeroed by a crash, so the next writer checks the index for lost entries only after them.
struct WalkMarker: Equatable {
    struct Stamp: Equatable {
        var segment: UInt32
        var size: Int64
        var seconds: Int64
        var nanoseconds: Int64
    }

    var head: LogHead
    var stamps: [Stamp]
    /// Index entries known to be on disk when the marker was written (0: none vouched for).
    var syncedIndexEntries: Int = 0

    static func path(_ layout: StoreLayout) -> String { layout.indexDirectory + "/walked" }

    /// The segments' stamps as they are now.
    static func stamps(_ layout: StoreLayout) throws -> [Stamp] {
        try layout.segmentNumbers().map { number in
            var st = stat()
            let path = layout.segmentPath(number)
            guard stat(path, &st) == 0 else { throw EventStoreError.io(operation: "stat", path: path, errno: errno) }
            return Stamp(segment: UInt32(number), size: Int64(st.st_size), seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec))
        }
    }

    func save(_ layout: StoreLayout) throws {
        var out: [UInt8] = []
        ByteWriter.append(UInt64(head.position), to: &out)
        out += head.hash.bytes
        ByteWriter.append(UInt32(stamps.count), to: &out)
        for s in stamps {
            ByteWriter.append(s.segment, to: &out)
            ByteWriter.append(s.size, to: &out)
            ByteWriter.append(s.seconds, to: &out)
            ByteWriter.append(s.nanoseconds, to: &out)
        }
        ByteWriter.append(UInt64(syncedIndexEntries), to: &out)
        ByteWriter.append(out.withUnsafeBytes { CRC32C.checksum($0) }, to: &out)
        try Directory.writeAtomically(out, to: Self.path(layout), directory: layout.indexDirectory, durable: false)
    }

    static func remove(_ layout: StoreLayout) { unlink(path(layout)) }

    static func load(_ layout: StoreLayout) -> WalkMarker? {
        guard let bytes = Directory.readFile(path(layout)), bytes.count >= 4 + 32 + 8 + 4 else { return nil }
        return bytes.withUnsafeBytes { raw -> WalkMarker? in
            let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)])
            var tail = ByteReader(UnsafeRawBufferPointer(rebasing: raw[(raw.count - 4)...]))
            guard tail.readUInt32() == CRC32C.checksum(body) else { return nil }
            var r = ByteReader(body)
            guard let position = r.readUInt64(), let hash = r.readBytes(32), let count = r.readUInt32() else { return nil }
            var stamps: [Stamp] = []
            for _ in 0..<count {
                guard let segment = r.readUInt32(), let size = r.readInt64(), let seconds = r.readInt64(), let nanoseconds = r.readInt64() else { return nil }
                stamps.append(Stamp(segment: segment, size: size, seconds: seconds, nanoseconds: nanoseconds))
            }
            // A marker from before the synced count was written ends here: it vouches for no entries.
            let synced = r.remaining == 0 ? 0 : r.readUInt64().map { Int(clamping: $0) }
            guard let synced, r.remaining == 0 else { return nil }
            return WalkMarker(head: LogHead(position: LogPosition(bitPattern: position), hash: ChainHash(raw: hash)), stamps: stamps,
                              syncedIndexEntries: synced)
        }
    }
}
