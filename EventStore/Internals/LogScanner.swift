import Foundation

/// Reads the log across segments from a position, checking every frame's CRC,
/// the positions' sequence and the chain links, and delivering whole batches only.
///
/// One scanner serves readers, `verify` (which also recomputes every hash)
/// and a writer catching up with the tail.
struct LogScanner {
    enum Depth { case links, full }

    struct Location: Equatable { var segment: Int; var offset: Int; var size: Int }

    /// Where a scan stopped and what it found there.
    struct Summary {
        /// Position and hash of the last record of the last complete batch seen.
        var head: LogHead?
        var recordedAt: Timestamp?
        /// Where the next record would go: just after the last complete batch.
        var tail: Location?
        /// Damage that is not a torn final write.
        var damage: (position: LogPosition, segment: Int, reason: String)?
        /// Bytes after `tail` that belong to an interrupted final write.
        var tornRecords = 0
        var hasTornBytes = false
        var stoppedEarly = false

        /// Throws the damage found, as the error every caller reports it with.
        func throwIfDamaged() throws {
            if let damage {
                throw EventStoreError.damagedRecord(segment: StoreLayout.segmentName(damage.segment), position: damage.position, reason: damage.reason)
            }
        }
    }

    let layout: StoreLayout
    let depth: Depth
    /// Whether a clean end must be followed only by zeros to the end of the file (verify, writers),
    /// or only for the next 64 KiB (readers).
    var thorough: Bool { depth == .full }

    /// Scans from `start`; `visit` gets each delivered event with its location and returns false to stop.
    ///
    /// - Parameter decodeFrom: when set, walk every record from `start` (so damage there is found)
    ///   but decode and deliver only the records from this position on; earlier ones get the cheap
    ///   checks only (CRC, position, chain link, own hash at `.full` depth, batch boundaries).
    func scan(from start: LogPosition, index: PositionIndex?, decodeFrom: LogPosition? = nil,
              visit: (RecordedEvent, Location) throws -> Bool) throws -> Summary {
        var pending: [(RecordedEvent, Location)] = []
        return try walk(from: start, index: index, decodeFrom: decodeFrom, record: { body, location in
            guard let event = RecordCodec.decode(body: body) else { return false }
            pending.append((event, location))
            return true
        }, batchEnded: {
            defer { pending.removeAll(keepingCapacity: true) }
            for (event, location) in pending where try !visit(event, location) { return false }
            return true
        })
    }

    /// The walk every scan is made of. Each record from `start` (past the cheap walk) goes to
    /// `record` with its location, after its CRC, position and chain link were checked; `record`
    /// returns false when its fields are malformed. `batchEnded` is called when a batch is complete:
    /// only then may what `record` was given since the last call be delivered; it returns false to stop.
    /// Records after the last complete batch belong to an interrupted write (`Summary.tornRecords`).
    func walk(from start: LogPosition, index: PositionIndex?, decodeFrom: LogPosition? = nil,
              record: (UnsafeRawBufferPointer, Location) -> Bool, batchEnded: () throws -> Bool) throws -> Summary {
        let segments = try layout.segmentNumbers()
        var summary = Summary()
        guard !segments.isEmpty else { return summary }

        // Where to begin: the indexed location of `start` (or the last indexed one before it), checked.
        var segmentIndex = 0
        var offset = StoreLayout.segmentHeaderSize
        var expected: LogPosition = 0
        var previousHash: ChainHash? = ChainHash.genesis
        if start > 0, let index, let count = try? index.count(), count > 0 {
            let probe = min(start, LogPosition(count - 1))
            if let entry = try index.entry(at: probe), let i = segments.firstIndex(of: entry.segment),
               let event = try? readRecord(segment: entry.segment, offset: entry.offset), event.position == probe, event.id == entry.id {
                segmentIndex = i; offset = entry.offset; expected = probe; previousHash = nil
            }
        }

        /// Why a record read where position `expected` belongs breaks the chain, or nil: the same checks
        /// for the cheap walk and for decoded records. Given the walk's state rather than capturing it: a
        /// local function's captured variables are boxed and every access to them checked at run time
        /// (~4 % of a rebuild's instructions, one check per record).
        func chainProblem(position: LogPosition, previous: ChainHash, body: UnsafeRawBufferPointer,
                          expected: LogPosition, previousHash: ChainHash?) -> String? {
            if position != expected {
                return "found position \(position) where \(expected) was expected (records reordered, deleted or duplicated)"
            }
            if let previousHash, previous != previousHash {
                return "previous-hash link broken (the record before it was changed, removed or reordered)"
            }
            if depth == .full && !RecordCodec.hashMatches(body: body) {
                return "record hash does not match its content (edited after it was written)"
            }
            return nil
        }

        // Records since the last complete batch: all of them, and those past the cheap walk.
        var sinceBatchEnd = 0, deliveredSinceBatchEnd = 0
        let tail: Location? = expected == 0 ? Location(segment: segments[segmentIndex], offset: StoreLayout.segmentHeaderSize, size: 0) : nil
        while segmentIndex < segments.count {
            let number = segments[segmentIndex]
            let path = layout.segmentPath(number)
            let file = try RawFile.open(path, flags: O_RDONLY)
            let header = try file.readBytes(at: 0, count: StoreLayout.segmentHeaderSize)
            let segmentName = StoreLayout.segmentName(number)
            guard header.count == StoreLayout.segmentHeaderSize, Array(header[0..<8]) == StoreLayout.segmentMagic else {
                summary.damage = (expected, number, "segment \(segmentName) has no valid header")
                break
            }
            let firstPosition = header.withUnsafeBytes { LogPosition(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) }
            if offset == StoreLayout.segmentHeaderSize && firstPosition != expected && deliveredSinceBatchEnd == 0 {
                let reason = firstPosition > expected
                    ? "segment \(segmentName) starts at position \(firstPosition) but position \(expected) is missing (a segment was deleted or truncated)"
                    : "segment \(segmentName) starts at position \(firstPosition), overlapping earlier records"
                summary.damage = (expected, number, reason)
                break
            }
            var failure: EventStoreError?
            let outcome = try FrameScanner.scan(file, from: offset, position: expected, thorough: thorough,
                                                indexed: { indexed($0, segment: number, offset: $1) }) { frameOffset, body throws -> Bool in
                let location = Location(segment: number, offset: frameOffset, size: body.count + RecordCodec.frameHeaderSize)
                // The fixed fields are read in place: every record gets these checks, decoded or not.
                guard body.count >= RecordCodec.fixedBodySize + RecordCodec.hashesSize else {
                    failure = EventStoreError.damagedRecord(segment: segmentName, position: expected, reason: "record too short")
                    return false
                }
                let position = LogPosition(bitPattern: UInt64(littleEndian: body.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
                let previous = ChainHash(raw: UnsafeRawBufferPointer(rebasing: body[(body.count - 64)..<(body.count - 32)]))
                if let reason = chainProblem(position: position, previous: previous, body: body, expected: expected, previousHash: previousHash) {
                    failure = EventStoreError.damagedRecord(segment: segmentName, position: expected, reason: reason)
                    return false
                }
                let own = ChainHash(raw: UnsafeRawBufferPointer(rebasing: body[(body.count - 32)...]))
                let endsBatch = body[50] & RecordCodec.Flag.endsBatch != 0
                // The cheap walk reads nothing more; records before `start` (from an earlier indexed probe) neither.
                if !(decodeFrom.map { expected < $0 } ?? false) {
                    if position >= start, !record(body, location) {
                        failure = EventStoreError.damagedRecord(segment: segmentName, position: expected, reason: "record fields are malformed")
                        return false
                    }
                    deliveredSinceBatchEnd += 1
                }
                previousHash = own
                expected += 1
                sinceBatchEnd += 1
                if endsBatch {
                    sinceBatchEnd = 0
                    deliveredSinceBatchEnd = 0
                    summary.head = LogHead(position: position, hash: own)
                    summary.recordedAt = Timestamp(microseconds: body.loadUnaligned(fromByteOffset: 24, as: Int64.self).littleEndian)
                    summary.tail = Location(segment: number, offset: frameOffset + location.size, size: 0)
                    if try !batchEnded() { summary.stoppedEarly = true; return false }
                }
                return true
            }
            if let failure, case .damagedRecord(_, let position, let reason) = failure {
                summary.damage = (position, number, reason)
                break
            }
            if summary.stoppedEarly { return summary }
            let isLast = segmentIndex == segments.count - 1
            switch outcome {
            case .end, .stopped:
                break
            case .damaged(let at, let reason, let torn):
                if torn && isLast {
                    summary.hasTornBytes = true
                } else {
                    summary.damage = (expected, number, "\(reason) at byte \(at) of segment \(segmentName)")
                }
            }
            if summary.damage != nil { break }
            if isLast { break }
            segmentIndex += 1
            offset = StoreLayout.segmentHeaderSize
        }
        summary.tornRecords = sinceBatchEnd
        // Records of a batch cut short by damage are not a torn tail: the damage is reported instead.
        if summary.tornRecords > 0 && summary.damage == nil { summary.hasTornBytes = true }
        if summary.tail == nil { summary.tail = tail }
        return summary
    }

    /// Whether the index places `position` at this frame. Read on its own, without `PositionIndex`
    /// (which creates the file): a reader may not write, and this is asked only about damage.
    func indexed(_ position: LogPosition, segment: Int, offset: Int) -> Bool {
        guard let file = try? RawFile.open(layout.indexFile, flags: O_RDONLY),
              let entry = try? PositionIndex.entry(at: position, in: file) else { return false }
        return entry.segment == segment && entry.offset == offset
    }

    /// Reads and checks the single record at a location.
    func readRecord(segment: Int, offset: Int) throws -> RecordedEvent? {
        try LogScanner.readRecord(try RawFile.open(layout.segmentPath(segment), flags: O_RDONLY), offset: offset)
    }

    static func readRecord(_ file: RawFile, offset: Int) throws -> RecordedEvent? {
        let header = try file.readBytes(at: offset, count: RecordCodec.frameHeaderSize)
        guard header.count == RecordCodec.frameHeaderSize else { return nil }
        let (length, crc) = header.withUnsafeBytes {
            (Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))), UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        }
        guard length > 0, length <= RecordCodec.maximumBodySize else { return nil }
        let body = try file.readBytes(at: offset + RecordCodec.frameHeaderSize, count: length)
        guard body.count == length else { return nil }
        return body.withUnsafeBytes { raw in CRC32C.checksum(raw) == crc ? RecordCodec.decode(body: raw) : nil }
    }
}
