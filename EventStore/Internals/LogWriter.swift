import Foundation

/// The single writer of one process: owns the tail segment, the chain's last
/// hash and the per-stream and per-id lookups. Lives inside `EventLog`'s mutex;
/// every append takes the store's `flock` and first catches up with whatever
/// other processes appended.
final class LogWriter {
    let layout: StoreLayout
    let options: EventLog.Options
    let lockFile: RawFile
    let index: PositionIndex
    let scanner: LogScanner
    let vault: VaultWriter

    var segmentNumber = 1
    var segmentFile: RawFile?
    var logicalEnd = StoreLayout.segmentHeaderSize
    var allocatedEnd = 0
    var nextPosition: LogPosition = 0
    var lastHash = ChainHash.genesis
    var lastRecordedAt = Timestamp(microseconds: Int64.min)
    /// Per stream index key: its last event's position, and (once read or written here) its name and version.
    var streamLast = StreamTails()
    /// Whether `streamLast` holds every stream; until then a stream's tail is looked up in the index
    /// (backwards, from `indexedCount`) when first needed, so opening a big log builds no map.
    var streamTailsComplete = false
    /// Keys the index (before `indexedCount`) holds no event of.
    var absentKeys = Set<UInt64>()
    /// Which stream keys the log holds (`StreamFilter`): loaded on the first lookup the cache cannot
    /// answer, then kept up to date with every event this writer appends or catches up with.
    var streamFilter: StreamFilter?
    /// How many events the stream filter on disk covers (0: none there, or not this log's).
    var streamFilterSavedCoverage = 0
    /// How many index entries were checked at open: lookups read only those; later events are in `streamLast`.
    var indexedCount = 0
    var openSegments: [Int: RawFile] = [:]
    /// Every id's position: loaded only when an append carries more than a few caller-given ids the
    /// id filter cannot rule out (a batch retried whole) or an erasure asks, since at a million events
    /// the map costs ~0.3 s to build and ~64 MB to hold (a few are found with one pass over the index).
    /// A `SlotTable`: a batch of a thousand ids costs a thousand cache misses, not the `Dictionary`'s
    /// two thousand and its SipHash.
    var ids: SlotTable<UUID, LogPosition>?
    /// Which ids the log holds (`KeyFilter`), built from the index when a batch first carries
    /// caller-given ids: a batch of ids it has never seen is new without the map.
    var idFilter: KeyFilter?
    var pendingRecovery: String?
    /// The walk marker as this writer last found or wrote it: one that would be written again unchanged
    /// is not (a reader's one append opens and closes a writer, and each save syncs the index and renames).
    var markerOnDisk: WalkMarker?
    /// Set when an append failed in a way that leaves this writer's view of the tail uncertain.
    var needsReload = false

    init(layout: StoreLayout, options: EventLog.Options) throws {
        self.layout = layout
        self.options = options
        self.lockFile = try RawFile.open(layout.lockFile, flags: O_RDWR | O_CREAT)
        self.index = try PositionIndex(path: layout.indexFile)
        self.scanner = LogScanner(layout: layout, depth: .full)
        self.vault = VaultWriter(layout: layout)
        try lockFile.lockExclusive()
        defer { lockFile.unlock() }
        // Trust the derived index only as far as its last entry checks out against the log.
        var trusted = try index.count()
        if trusted > 0, try !entryMatchesLog(at: LogPosition(trusted - 1)) {
            trusted = 0
        }
        // A marker that still holds lets the opening walk start at its head, and vouches that the
        // index entries it synced were not zeroed by a crash; otherwise both cover the whole log.
        let marker = WalkMarker.load(layout)
        var walkFrom = try soundPrefix(marker, trusted: trusted)
        if walkFrom > 0 { markerOnDisk = marker }
        let vouched = walkFrom > 0 ? min(marker?.syncedIndexEntries ?? 0, trusted) : 0
        if try !index.isComplete(from: vouched, upTo: trusted) {
            // An entry was lost (zeros after a crash): rebuild the index from the log itself.
            trusted = 0
        }
        if trusted == 0 {
            // The marker vouched for entries about to be rewritten: it must not outlive them.
            WalkMarker.remove(layout)
            markerOnDisk = nil
            // Not cut back before the walk: it rewrites every entry and cuts the rest once the log checks
            // out, and until then an entry for a damaged record is the proof recovery asks for (that the
            // record was acknowledged, `InterruptedWrite.judge`). Nothing reads the entries meanwhile.
            walkFrom = 0
        }
        indexedCount = trusted
        // Opening for append walks the log (CRC, positions, links, hashes) from there, so damage is
        // refused here rather than written past; only the unindexed tail is decoded.
        try catchUp(knownCount: trusted, walkFrom: walkFrom)
        // With nothing indexed to look up, the walk put every stream's tail in `streamLast`.
        if trusted == 0 { streamTailsComplete = true }
        saveWalkMarker()
    }

    deinit {
        // Leave the marker for the next writer, under the lock so no append is half-way; never wait
        // for it (another writer busy now will change the segments anyway).
        guard !needsReload, (try? lockFile.tryLockExclusive()) == true else { return }
        saveWalkMarker()
        lockFile.unlock()
    }

    /// Where the opening walk may start: the head of a marker that still holds, else 0 (the whole log).
    func soundPrefix(_ marker: WalkMarker?, trusted: Int) throws -> LogPosition {
        guard let marker, marker.head.position < LogPosition(trusted),
              marker.stamps == (try? WalkMarker.stamps(layout)),
              let entry = try index.entry(at: marker.head.position), entry.segment > 0,
              let event = try? scanner.readRecord(segment: entry.segment, offset: entry.offset),
              event.position == marker.head.position, event.hash == marker.head.hash else { return 0 }
        return marker.head.position
    }

    /// Records the head this writer knows to be sound with the segments as they are now (best effort).
    /// The index is synced first (only pages written since the last sync cost anything), so the
    /// marker can vouch that no entry before the head was lost.
    func saveWalkMarker() {
        guard let head = currentHead, let stamps = try? WalkMarker.stamps(layout) else { return }
        defer { saveStreamFilter() }
        if let saved = markerOnDisk, saved.head == head, saved.stamps == stamps, saved.syncedIndexEntries == Int(head.position) + 1 { return }
        let synced = (try? index.file.sync(metadata: false)) != nil ? Int(head.position) + 1 : 0
        let marker = WalkMarker(head: head, stamps: stamps, syncedIndexEntries: synced)
        markerOnDisk = (try? marker.save(layout)) != nil ? marker : nil
    }

    /// The stream filter covering every event before `indexedCount` (and every one appended since):
    /// the saved one if it belongs to this log and is not crowded, topped up from the index; else
    /// one built from the whole index.
    func loadedStreamFilter() throws -> StreamFilter {
        if let streamFilter { return streamFilter }
        var filter: StreamFilter
        if let saved = StreamFilter.load(layout), saved.covered <= indexedCount, !saved.isCrowded,
           try saved.covered == 0 || record(at: LogPosition(saved.covered - 1))?.hash == saved.coveredHash {
            filter = saved
            streamFilterSavedCoverage = saved.covered
        } else {
            // Sized for a stream per eight events (the hub mix has about one per ten), or twice a crowded one.
            filter = StreamFilter(capacityFor: max(indexedCount / 8, 2 * (StreamFilter.load(layout)?.inserted ?? 0)))
        }
        try index.forEach(from: filter.covered, upTo: indexedCount) { _, entry in filter.insert(entry.streamKey) }
        // Events after the index's checked part were appended or caught up with here: their keys are in streamLast.
        streamLast.forEachKey { filter.insert($0) }
        filter.cover(upTo: Int(nextPosition), hash: lastHash)
        streamFilter = filter
        return filter
    }

    /// Leaves the filter for the next writer once it is `StreamFilter.saveAfter` events ahead of the one
    /// on disk (best effort: it is derived data). Behind by fewer, the next writer tops the saved one up
    /// from the index (a few kilobytes) more cheaply than this one could rewrite it (a quarter of a
    /// megabyte and a rename for a reader's one recorded view).
    func saveStreamFilter() {
        guard var filter = streamFilter else { return }
        filter.cover(upTo: Int(nextPosition), hash: lastHash)
        guard filter.isDirty, filter.covered - streamFilterSavedCoverage >= StreamFilter.saveAfter else { return }
        try? filter.save(layout)
        streamFilter = StreamFilter.load(layout) ?? filter
        streamFilterSavedCoverage = streamFilter?.covered ?? 0
    }

    /// The stream's last event as far as this writer knows: cached, or found in the index.
    func streamTail(_ key: UInt64) throws -> LogPosition? {
        if let position = streamLast.position(ofKey: key) { return position }
        if streamTailsComplete || absentKeys.contains(key) { return nil }
        if try !loadedStreamFilter().mightContain(key) {
            absentKeys.insert(key)
            return nil
        }
        guard let position = try index.lastPosition(withKey: key, before: indexedCount) else {
            absentKeys.insert(key)
            return nil
        }
        streamLast.setPosition(position, ofKey: key)
        return position
    }

    /// Before touching many streams at once, reads every tail in one pass instead of one search each.
    func prepareTails<Keys: Sequence>(for keys: Keys) throws where Keys.Element == UInt64 {
        guard !streamTailsComplete else { return }
        var unknown = Set(keys).filter { streamLast.position(ofKey: $0) == nil && !absentKeys.contains($0) }
        guard unknown.count > 8 else { return }
        // New streams need no search: only keys the filter may hold are worth a pass over the index.
        let filter = try loadedStreamFilter()
        for key in unknown where !filter.mightContain(key) {
            absentKeys.insert(key)
            unknown.remove(key)
        }
        guard unknown.count > 8 else { return }
        try index.forEach(upTo: indexedCount) { position, entry in
            // Tails found since opening are later than anything in the index: keep them.
            if let known = streamLast.position(ofKey: entry.streamKey), known >= LogPosition(position) { return }
            streamLast.setPosition(LogPosition(position), ofKey: entry.streamKey)
        }
        streamTailsComplete = true
        absentKeys = []
    }

    /// Makes the id filter ready for a batch of `count` events carrying caller-given ids: built from
    /// the index if there is none, rebuilt larger if the batch would crowd it. Before the batch, never
    /// during it: a filter rebuilt from the index would lose the ids the batch has noted so far.
    func prepareIDFilter(forAdding count: Int) throws {
        guard ids == nil || idFilter != nil else { return }
        if idFilter?.hasRoom(forAdding: count) == true { return }
        // Room for twice the log (or twice a crowded filter's keys), so a growing log rebuilds it rarely.
        let capacity = max(2 * (Int(nextPosition) + count), 2 * ((idFilter?.inserted ?? 0) + count), 65_536)
        idFilter = try idFilterFromIndex(capacity: capacity)
    }

    /// Whether the log may already hold an event with this caller-given id (false: it certainly does
    /// not), noting the id in the filter as it asks. A batch refused after this leaves ids in the
    /// filter that the log does not hold: a filter may answer "maybe" wrongly, never "no".
    func mightHold(id: UUID) -> Bool {
        let present = idFilter?.insertReportingPresence(KeyFilter.key(id)) ?? true
        if let ids { return ids[id] != nil }
        return present
    }

    /// Every id in the log, for the filter: ids read from an index with a gap stay in (a filter may
    /// answer "maybe" too often, never "no" wrongly), and the log itself is read as well.
    func idFilterFromIndex(capacity: Int) throws -> KeyFilter {
        var keys: [UInt64] = []
        keys.reserveCapacity(Int(nextPosition))
        if try !forEachIndexedID({ id, _ in keys.append(KeyFilter.key(id)) }) {
            keys.removeAll(keepingCapacity: true)
            try forEachLoggedID { id, _ in keys.append(KeyFilter.key(id)) }
        }
        var filter = KeyFilter(capacityFor: capacity, hashCount: 8, bitsPerKey: 32, blocked: true)
        filter.insert(contentsOf: keys)
        return filter
    }

    /// Where the log holds these ids, if anywhere: nil for none. A few ids the filter could not rule out
    /// (most often none is in the log: the filter's rare "maybe") cost one pass over the index; many
    /// (a batch retried whole) load the map of every id, kept from then on.
    func positions(of wanted: IDSet) throws -> SlotTable<UUID, LogPosition>? {
        if wanted.isEmpty { return nil }
        if ids != nil || wanted.count > 16 { return try idPositions() }
        return try positionTable(capacity: wanted.count, keeping: wanted.contains)
    }

    /// The position of every event by id, from the index (or, if the index has a gap, the log).
    func idPositions() throws -> SlotTable<UUID, LogPosition> {
        if let ids { return ids }
        // Sized for the log as it is (at most half full); it doubles as the log grows.
        let map = try positionTable(capacity: Int(nextPosition)) { _ in true }
        ids = map
        return map
    }

    /// The positions of the ids `keep` accepts, from the index, or from the log when the index has a gap.
    func positionTable(capacity: Int, keeping keep: (UUID) -> Bool) throws -> SlotTable<UUID, LogPosition> {
        var table = SlotTable<UUID, LogPosition>(empty: -1, minimumCapacity: capacity)
        func visit(_ id: UUID, _ position: LogPosition) { if keep(id) { table.update(id) { $0 = position } } }
        if try !forEachIndexedID(visit) {
            table = SlotTable(empty: -1, minimumCapacity: capacity)
            try forEachLoggedID(visit)
        }
        return table
    }

    /// Visits the id and position of every index entry before `nextPosition`; false when the index is
    /// short or an entry was lost (zeros after a crash), and the caller must read the log instead.
    func forEachIndexedID(_ visit: (UUID, LogPosition) -> Void) throws -> Bool {
        guard try index.count() >= Int(nextPosition) else { return false }
        var sound = true
        try index.forEach(upTo: Int(nextPosition)) { position, entry in
            if entry.segment == 0 { sound = false }
            visit(entry.id, LogPosition(position))
        }
        return sound
    }

    /// Visits the id and position of every event, read from the log itself.
    func forEachLoggedID(_ visit: (UUID, LogPosition) -> Void) throws {
        let summary = try scanner.scan(from: 0, index: nil) { event, _ in visit(event.id, event.position); return true }
        try summary.throwIfDamaged()
    }

    func entryMatchesLog(at position: LogPosition) throws -> Bool {
        guard let entry = try index.entry(at: position), entry.segment > 0, Directory.fileExists(layout.segmentPath(entry.segment)),
              let event = try scanner.readRecord(segment: entry.segment, offset: entry.offset) else { return false }
        return event.position == position && event.id == entry.id
    }

    /// Brings this writer up to the log's real tail: other processes' appends, and
    /// recovery from an interrupted final write. Runs under the flock.
    /// - Parameter knownCount: how many positions this writer (or the index) already accounts for.
    /// - Parameter walkFrom: also walk (cheap checks, no decoding) every record from this position.
    func catchUp(knownCount: Int, walkFrom: LogPosition? = nil) throws {
        let start = walkFrom ?? LogPosition(max(0, knownCount - 1))
        var fresh: [(RecordedEvent, LogScanner.Location)] = []
        let summary = try scanner.scan(from: start, index: index, decodeFrom: walkFrom != nil ? LogPosition(knownCount) : nil) { event, location in
            if event.position >= LogPosition(knownCount) { fresh.append((event, location)) }
            return true
        }
        try summary.throwIfDamaged()
        var entries: [PositionIndex.Entry] = []
        try prepareTails(for: fresh.map { $0.0.stream.indexKey })
        for (event, location) in fresh {
            let key = event.stream.indexKey
            entries.append(.init(id: event.id, streamKey: key, segment: location.segment, offset: location.offset,
                                 previousInStream: try streamTail(key) ?? -1))
            streamLast.set(event.stream, key: key, position: event.position, version: event.streamVersion)
            streamFilter?.insert(key)
            ids?.update(event.id) { $0 = event.position }
            idFilter?.insert(KeyFilter.key(event.id))
        }
        if let first = fresh.first?.0.position { try index.write(entries, startingAt: first) }
        if let head = summary.head {
            nextPosition = head.position + 1
            lastHash = head.hash
            lastRecordedAt = summary.recordedAt ?? lastRecordedAt
        } else {
            nextPosition = 0
            lastHash = .genesis
        }
        try index.truncate(to: Int(nextPosition))

        let segments = try layout.segmentNumbers()
        var tail = summary.tail ?? LogScanner.Location(segment: segments.first ?? 1, offset: StoreLayout.segmentHeaderSize, size: 0)
        if let last = segments.last, last > tail.segment {
            // A writer created a new segment and was stopped before finishing a batch in it.
            tail = LogScanner.Location(segment: last, offset: StoreLayout.segmentHeaderSize, size: 0)
        }
        if segmentFile == nil || segmentNumber != tail.segment {
            segmentFile = try RawFile.open(layout.segmentPath(tail.segment), flags: O_RDWR)
            segmentNumber = tail.segment
        }
        guard let file = segmentFile else { return }
        allocatedEnd = try file.size()
        logicalEnd = tail.offset
        if summary.hasTornBytes {
            let end = try FrameScanner.lastNonZeroByte(file, from: logicalEnd, fileSize: allocatedEnd).map { $0 + 1 } ?? logicalEnd
            if end > logicalEnd {
                try file.write([UInt8](repeating: 0, count: end - logicalEnd), at: logicalEnd)
                try file.sync()
            }
            pendingRecovery = "removed an interrupted final write after position \(nextPosition - 1)"
                + (summary.tornRecords > 0 ? " (\(summary.tornRecords) record(s) of an unfinished batch, never acknowledged)" : "")
        }
    }

    /// Whether another process has appended since this writer last looked: either bytes
    /// where this writer would write next, or the segment cut short (another writer moved on
    /// to a new segment, truncating this one at its end).
    ///
    /// One 8-byte read answers both (no fstat: on ext4 it measurably slows the fdatasync that follows).
    func tailMoved() throws -> Bool {
        guard let file = segmentFile else { return true }
        let probe = try file.readBytes(at: logicalEnd, count: 8)
        return probe.count < 8 || probe.contains(where: { $0 != 0 })
    }

    func append(_ batch: AppendBatch) throws -> AppendResult {
        try lockFile.lockExclusive()
        defer { lockFile.unlock() }
        if try tailMoved() { try catchUp(knownCount: Int(nextPosition)) }
        return try batch.events.withUnsafeBufferPointer { events in try append(batch, lending: events) }
    }

    /// The append itself, reading the batch's events where they lie (`events` is `batch.events`):
    /// handing an array element to a function or a loop copies the whole event, its strings and data.
    private func append(_ batch: AppendBatch, lending events: UnsafeBufferPointer<ProposedEvent>) throws -> AppendResult {
        var keys: [UInt64] = []
        keys.reserveCapacity(events.count)
        for i in events.indices { keys.append(events[i].stream.indexKey) }
        try prepareTails(for: keys)
        var seen = SlotTable<UUID, Bool>(empty: false, minimumCapacity: events.count)
        var maybeHeld = IDSet()
        if events.indices.contains(where: { !events[$0].hasFreshID }) { try prepareIDFilter(forAdding: events.count) }
        for i in events.indices {
            // Each id's block of the filter is a cache miss at random: asked for a few events ahead, as
            // `KeyFilter.insert(contentsOf:)` does, the misses overlap.
            let ahead = i + KeyFilter.lookahead
            if ahead < events.count {
                if !events[ahead].hasFreshID { idFilter?.prefetch(KeyFilter.key(events[ahead].id)) }
                streamLast.prefetch(keys[ahead])
            }
            if let problem = RecordCodec.problem(with: events.baseAddress.map { $0 + i }) { throw EventStoreError.invalidEvent(reason: problem) }
            let id = events[i].id
            guard seen.update(id, { wasSeen in defer { wasSeen = true }; return !wasSeen }) else {
                throw EventStoreError.invalidEvent(reason: "event id \(id.lowercasedString) appears twice in one batch")
            }
            // A fresh random id cannot be in the log; only a caller-given one may be a retry.
            if !events[i].hasFreshID, mightHold(id: id) { maybeHeld.insert(id) }
        }
        // Retries keep their original positions; the same id with other content is refused.
        var positions = [LogPosition?](repeating: nil, count: events.count)
        // The batch's own tables are `SlotTable`s too: as Swift sets and dictionaries they hashed every
        // event's stream name with SipHash three or four times (a tenth of a batched append).
        // Each stream with new events, with its index key (`keys`), so that its version check does not hash it again.
        var streamsWithNewEvents = SlotTable<StreamID, UInt64>(empty: 0, minimumCapacity: events.count)
        let known = try self.positions(of: maybeHeld)
        for i in events.indices {
            if let existing = known?[events[i].id] {
                guard let stored = try record(at: existing), try isRetry(stored, of: events[i]) else {
                    throw EventStoreError.conflictingEventID(id: events[i].id, position: existing)
                }
                positions[i] = existing
            } else {
                streamsWithNewEvents.update(events[i].stream) { [key = keys[i]] in $0 = key }
            }
        }
        // Each stream's last version before the batch (-1: none), then its events' versions in turn.
        var versions = SlotTable<StreamID, StreamVersion>(empty: -1, minimumCapacity: events.count)
        func check(_ stream: StreamID, key: UInt64) throws {
            let last = try lastVersion(of: stream, key: key)
            let expected = batch.expectations[stream] ?? .any
            guard expected.isSatisfied(byLastVersion: last) else {
                throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: last)
            }
            versions.update(stream) { $0 = last ?? -1 }
        }
        // Expectations hold for every stream written to, and for streams named without events (a precondition).
        try streamsWithNewEvents.forEach { stream, key in try check(stream, key: key) }
        if !batch.expectations.isEmpty {
            var streamsInBatch = Set<StreamID>()
            for i in events.indices { streamsInBatch.insert(events[i].stream) }
            for stream in batch.expectations.keys where !streamsInBatch.contains(stream) { try check(stream, key: stream.indexKey) }
        }
        let newIndices = positions.indices.filter { positions[$0] == nil }
        let recovery = pendingRecovery
        pendingRecovery = nil
        guard let lastNew = newIndices.last else {
            return AppendResult(positions: positions.map { $0 ?? -1 }, appendedCount: 0, head: currentHead, recovery: recovery)
        }

        // Each new event's recorded time, checked before anything is written.
        let recordedTimes = try recordedTimes(of: events, at: newIndices)
        // Sealed fields go to the vault; the records carry their digests.
        var sealed: [Int: ProposedEvent] = [:]
        var vaultRecords: [VaultRecord] = []
        for i in newIndices where !events[i].sealedFields.isEmpty {
            let (event, records) = try Self.seal(events[i])
            sealed[i] = event
            vaultRecords += records
        }

        guard let base = events.baseAddress else { throw EventStoreError.invalidEvent(reason: "an empty batch") }
        // Every record's size before anything is written: one larger than a reader accepts is refused
        // (acknowledged, it would read as damage), and the batch is placed whole, then written in pieces.
        var byteCount = 0
        func count(_ event: UnsafePointer<ProposedEvent>) throws {
            let body = RecordCodec.bodySize(of: event)
            guard body <= RecordCodec.maximumBodySize else {
                throw EventStoreError.invalidEvent(reason: "event \(event.pointee.id.lowercasedString) would be \(body) bytes stored, more than the \(RecordCodec.maximumBodySize) (16 MiB) a record may hold")
            }
            byteCount += RecordCodec.frameHeaderSize + body
        }
        for i in newIndices {
            if let event = sealed[i] { try withUnsafePointer(to: event) { try count($0) } } else { try count(base + i) }
        }
        try place(byteCount: byteCount)
        // The values first: an event is never acknowledged before what it refers to is on disk.
        try vault.append(vaultRecords)
        guard let file = segmentFile else { throw EventStoreError.invalidEvent(reason: "no open segment") }
        var grew = false
        if logicalEnd + byteCount > allocatedEnd {
            let length = max(options.preallocationChunk, logicalEnd + byteCount - allocatedEnd)
            do { try file.preallocate(from: allocatedEnd, length: length) } catch { needsReload = true; throw error }
            allocatedEnd += length
            grew = true
        }

        var piece: [UInt8] = []
        piece.reserveCapacity(min(byteCount, options.writePieceSize))
        var written = 0
        var hash = lastHash
        var entries: [PositionIndex.Entry] = []
        entries.reserveCapacity(newIndices.count)
        var position = nextPosition
        var frameOffsets: [Int] = []
        frameOffsets.reserveCapacity(newIndices.count)
        var newVersions: [StreamVersion] = []
        newVersions.reserveCapacity(newIndices.count)
        var batchLast = SlotTable<UInt64, LogPosition>(empty: -1, minimumCapacity: events.count)
        // Through a pointer, so that an unsealed event is read where it lies in the batch: passing
        // `events[i]` to a local function copied it whole (5 % of a batched append).
        func encode(_ event: UnsafePointer<ProposedEvent>, at i: Int) throws {
            let version = versions.update(event.pointee.stream) { v in v += 1; return v }
            newVersions.append(version)
            frameOffsets.append(written + piece.count)
            hash = RecordCodec.encode(event, position: position, version: version, recordedAt: recordedTimes[Int(position - nextPosition)],
                                      previousHash: hash, endsBatch: i == lastNew, into: &piece)
            positions[i] = position
            let key = keys[i]
            entries.append(.init(id: event.pointee.id, streamKey: key, segment: 0, offset: 0,
                                 previousInStream: try batchLast[key] ?? streamTail(key) ?? -1))
            batchLast.update(key) { $0 = position }
            position += 1
        }
        func writePiece() throws {
            guard !piece.isEmpty else { return }
            try file.write(piece, at: logicalEnd + written)
            written += piece.count
            piece.removeAll(keepingCapacity: true)
        }
        do {
            for i in newIndices {
                if i == lastNew, written + piece.count > 0 {
                    // A power loss before the sync returns may leave any of the batch's sectors on disk, in any
                    // order. The end record goes last, once all before it is on disk, so that a whole end record
                    // always ends a whole batch, and damage ahead of it is corruption, never a torn write.
                    try writePiece()
                    try sync(file, metadata: grew)
                }
                if let event = sealed[i] { try withUnsafePointer(to: event) { try encode($0, at: i) } } else { try encode(base + i, at: i) }
                if i != lastNew, piece.count >= options.writePieceSize { try writePiece() }
            }
            guard written + piece.count == byteCount else {
                throw EventStoreError.invalidEvent(reason: "the batch encoded to \(written + piece.count) bytes where \(byteCount) were counted (a fault in the store; nothing was acknowledged)")
            }
            try writePiece()
            try sync(file, metadata: grew && frameOffsets.last == 0)
        } catch {
            // Unacknowledged bytes must not surface later as events: zero them, best effort, and re-read the tail next time.
            let zeros = [UInt8](repeating: 0, count: min(byteCount, options.writePieceSize))
            var cleared = 0
            while cleared < byteCount {
                let n = min(zeros.count, byteCount - cleared)
                guard (try? zeros.withUnsafeBytes({ try file.write(UnsafeRawBufferPointer(rebasing: $0[..<n]), at: logicalEnd + cleared) })) != nil else { break }
                cleared += n
            }
            try? file.sync()
            needsReload = true
            throw error
        }
        for (k, offset) in frameOffsets.enumerated() {
            // The tails were read before the batch was written and synced; by now most are out of the cache again.
            if k + KeyFilter.lookahead < entries.count { streamLast.prefetch(entries[k + KeyFilter.lookahead].streamKey) }
            entries[k].segment = segmentNumber
            entries[k].offset = logicalEnd + offset
            // A stream's tail is its last event in the batch: written once per stream, not once per event
            // (`StreamTails` stores the name's bytes only when the key's last event was another stream's).
            let p = nextPosition + LogPosition(k)
            if batchLast[entries[k].streamKey] == p {
                streamLast.set(events[newIndices[k]].stream, key: entries[k].streamKey, position: p, version: newVersions[k])
            }
            // Only a stream's first event is news to the stream filter: a stream with an earlier event is
            // in it already (built from the index and the tails, then kept up to date here), and setting
            // its four scattered bits again would cost four cache misses for nothing.
            if entries[k].previousInStream < 0 { streamFilter?.insert(entries[k].streamKey) }
            ids?.update(entries[k].id) { $0 = p }
            // Caller-given ids were noted in the filter when asked about (`mightHold`).
            if events[newIndices[k]].hasFreshID { idFilter?.insert(KeyFilter.key(entries[k].id)) }
        }
        try? index.write(entries, startingAt: nextPosition)
        logicalEnd += byteCount
        nextPosition = position
        lastHash = hash
        lastRecordedAt = recordedTimes.last ?? lastRecordedAt
        return AppendResult(positions: positions.map { $0 ?? -1 }, appendedCount: newIndices.count, head: currentHead, recovery: recovery)
    }

    /// Syncs the segment after a write of an append, first letting a test watching the write order look.
    func sync(_ file: RawFile, metadata: Bool) throws {
        options.beforeSync?(file.path)
        try file.sync(metadata: metadata)
    }

    /// When each of the batch's new events (`indices`, in order) is recorded: the time it gives, if any,
    /// else the store's clock, never earlier than the event before it.
    ///
    /// - Throws: `.recordedAtBeforeLog` for a given time earlier than the log's (or the batch's) last,
    ///   `.recordedAtInFuture` for one later than the clock.
    func recordedTimes(of events: UnsafeBufferPointer<ProposedEvent>, at indices: [Int]) throws -> [Timestamp] {
        let now = options.clock()
        var last = lastRecordedAt
        var times: [Timestamp] = []
        times.reserveCapacity(indices.count)
        for i in indices {
            if let given = events[i].recordedAt {
                guard given >= last else { throw EventStoreError.recordedAtBeforeLog(id: events[i].id, recordedAt: given, last: last) }
                guard given <= now else { throw EventStoreError.recordedAtInFuture(id: events[i].id, recordedAt: given, now: now) }
                last = given
            } else {
                last = max(now, last)
            }
            times.append(last)
        }
        return times
    }

    /// The event with its sealed fields replaced by digests, and the vault records holding the values.
    /// A field that already holds a digest (sealed elsewhere; the caller has no text) keeps it, and the
    /// vault marks it erased, so `verify` finds it accounted for and every reader shows it erased.
    static func seal(_ event: ProposedEvent) throws -> (ProposedEvent, [VaultRecord]) {
        var out = event
        var records: [VaultRecord] = []
        for field in event.sealedFields.sorted() {
            if case .object(let given)? = event.data[field] {
                guard given.count == 1, let hex = given["sha256"]?.stringValue, let digest = JSONValue.sealed(hex: hex) else {
                    throw EventStoreError.invalidEvent(reason: "event \(event.id.lowercasedString): the sealed field \(field) holds an object other than {\"sha256\": 64 hex digits}")
                }
                out.data[field] = digest
                records.append(.erasure(of: field, in: event.id))
                continue
            }
            guard let text = event.data[field]?.stringValue else { out.sealedFields.remove(field); continue }
            let record = VaultRecord.value(text, of: field, in: event.id)
            out.data[field] = .sealed(digest: record.digest)
            records.append(record)
        }
        return (out, records)
    }

    /// Whether `proposal` repeats the stored event: the same content, its sealed values checked
    /// against the vault (a value erased since counts as the same, so a retry never revives it).
    func isRetry(_ stored: RecordedEvent, of proposal: ProposedEvent) throws -> Bool {
        let fields = proposal.sealedFields.filter { proposal.data[$0]?.stringValue != nil }
        guard !fields.isEmpty else { return stored.isRetry(of: proposal) }
        let records = try vault.records().filter { $0.event == stored.id }
        var storedRest = stored, proposedRest = proposal
        for field in fields {
            guard let digest = stored.data[field]?.sealedDigest, let text = proposal.data[field]?.stringValue else { return false }
            let candidates = records.filter { $0.field == field }
            let same = candidates.contains { $0.kind == .erased || ($0.matches(digest: digest) && $0.text == text) }
            guard same else { return false }
            storedRest.data[field] = nil
            proposedRest.data[field] = nil
        }
        return storedRest.isRetry(of: proposedRest)
    }

    /// Erases the sealed values of `events` (see `VaultWriter.erase`), under the flock.
    func eraseSealedValues(of events: Set<UUID>) throws -> Int {
        try lockFile.lockExclusive()
        defer { lockFile.unlock() }
        if try tailMoved() { try catchUp(knownCount: Int(nextPosition)) }
        let known = try idPositions()
        return try vault.erase(events) { known[$0] != nil }
    }

    var currentHead: LogHead? { nextPosition == 0 ? nil : LogHead(position: nextPosition - 1, hash: lastHash) }

    /// Starts a new segment when the batch would overflow this one (batches never span segments).
    func place(byteCount: Int) throws {
        guard logicalEnd + byteCount > options.segmentSize, logicalEnd > StoreLayout.segmentHeaderSize, let file = segmentFile else { return }
        try file.truncate(to: logicalEnd)
        try file.sync()
        let next = segmentNumber + 1
        try Directory.writeAtomically(StoreLayout.segmentHeader(firstPosition: nextPosition), to: layout.segmentPath(next), directory: layout.segments)
        segmentFile = try RawFile.open(layout.segmentPath(next), flags: O_RDWR)
        segmentNumber = next
        logicalEnd = StoreLayout.segmentHeaderSize
        allocatedEnd = try segmentFile?.size() ?? logicalEnd
    }

    func record(at position: LogPosition) throws -> RecordedEvent? {
        guard let entry = try index.entry(at: position) else { return nil }
        let file: RawFile
        if let open = openSegments[entry.segment] { file = open } else {
            guard Directory.fileExists(layout.segmentPath(entry.segment)) else { return nil }
            file = try RawFile.open(layout.segmentPath(entry.segment), flags: O_RDONLY)
            openSegments[entry.segment] = file
        }
        guard let event = try LogScanner.readRecord(file, offset: entry.offset), event.position == position else { return nil }
        return event
    }

    /// The stream's last version, or nil when it has no events (`key`: the stream's `indexKey`).
    func lastVersion(of stream: StreamID, key: UInt64) throws -> StreamVersion? {
        var known = streamLast.lookUp(stream, key: key)
        if known == .none {
            guard try streamTail(key) != nil else { return nil }
            known = streamLast.lookUp(stream, key: key)
        }
        switch known {
        case .none: return nil
        case .thisStream(_, let version): return version
        case .unnamed(let position):
            if let event = try record(at: position) {
                streamLast.set(event.stream, key: key, position: position, version: event.streamVersion)
                if event.stream == stream { return event.streamVersion }
            }
        case .otherStream: break
        }
        // Two stream names share an index key: find this stream's last event the slow way.
        var candidates: [LogPosition] = []
        try index.forEach(upTo: Int(nextPosition)) { p, entry in if entry.streamKey == key { candidates.append(LogPosition(p)) } }
        for p in candidates.reversed() {
            if let event = try record(at: p), event.stream == stream { return event.streamVersion }
        }
        return nil
    }
}
