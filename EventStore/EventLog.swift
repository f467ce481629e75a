import Foundation
import Synchronization

/// An append-only, hash-chained, crash-safe event log in one directory.
///
/// Writers in any number of threads and processes are serialised by an
/// in-process mutex and an advisory `flock`; readers take no lock and see
/// whole batches only. An append returns after its bytes are fsynced.
public final class EventLog: Sendable {
    /// Tunables; tests shrink segments and inject a clock.
    public struct Options: Sendable {
        public var segmentSize: Int
        public var preallocationChunk: Int
        public var clock: @Sendable () -> Timestamp
        /// Called with a segment's path just before each sync of an append: the recovery rule rests on
        /// the order a batch reaches the disk in, and tests watch it here.
        var beforeSync: (@Sendable (String) -> Void)?
        /// How many bytes of a batch are encoded before they are written out: a million-event import
        /// once held its whole encoded batch in memory (~320 MB). Tests shrink it to cross many pieces.
        var writePieceSize = 1 << 20

        public init(segmentSize: Int = 64 << 20, preallocationChunk: Int = 4 << 20,
                    clock: @escaping @Sendable () -> Timestamp = { Timestamp.now }) {
            self.segmentSize = segmentSize
            self.preallocationChunk = preallocationChunk
            self.clock = clock
        }
    }

    public let path: String
    let layout: StoreLayout
    let options: Options
    let writer = Mutex<LogWriter?>(nil)

    /// Creates an empty store; refuses a directory that already holds files.
    public static func create(at path: String, options: Options = Options()) throws -> EventLog {
        if Directory.isFile(path) { throw EventStoreError.notADirectory(path: path) }
        if Directory.exists(path) {
            try checkOwner(path)
            guard try Directory.entries(path).isEmpty else {
                throw Directory.isFile(StoreLayout(root: path).storeFile) ? EventStoreError.storeAlreadyExists(path: path) : EventStoreError.storeNotEmpty(path: path)
            }
        } else {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !parent.isEmpty && !Directory.exists(parent) {
                do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
                    throw EventStoreError.io(operation: "mkdir", path: parent, errno: EACCES)
                }
            }
            try Directory.create(path)
        }
        chmod(path, 0o700)
        let layout = StoreLayout(root: path)
        for directory in [layout.segments, layout.indexDirectory, layout.checkpoints] { try Directory.create(directory) }
        _ = try RawFile.open(layout.lockFile, flags: O_RDWR | O_CREAT)
        try Directory.writeAtomically(StoreLayout.segmentHeader(firstPosition: 0), to: layout.segmentPath(1), directory: layout.segments)
        try Directory.writeAtomically(Array(StoreLayout.formatLine.utf8), to: layout.storeFile, directory: path)
        return try EventLog(path: path, options: options)
    }

    /// Opens an existing store. Nothing is locked or written until the first append.
    public init(path: String, options: Options = Options()) throws {
        let layout = StoreLayout(root: path)
        guard Directory.exists(path) else {
            throw Directory.isFile(path) ? EventStoreError.notADirectory(path: path) : EventStoreError.storeNotFound(path: path)
        }
        try Self.checkOwner(path)
        guard let format = Directory.readFile(layout.storeFile), String(decoding: format, as: UTF8.self) == StoreLayout.formatLine else {
            throw EventStoreError.notAStore(path: path)
        }
        try Self.checkPermissions(path)
        self.path = path
        self.layout = layout
        self.options = options
    }

    /// Refuses a store directory owned by another account than the one running: root, or a second
    /// account with access, would leave behind files (an index, a checkpoint) its owner cannot read.
    static func checkOwner(_ path: String) throws {
        guard let owner = ownerID(of: path), owner != geteuid() else { return }
        throw EventStoreError.ownedByAnotherUser(path: path, owner: accountName(owner), user: accountName(geteuid()))
    }

    /// The account that owns the store's directory (nil if it cannot be read).
    public var ownerName: String? { Self.ownerID(of: path).map(Self.accountName) }

    private static func ownerID(of path: String) -> uid_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_uid : nil
    }

    /// An account's name, or `uid-N` for a number the system cannot name.
    public static func accountName(_ uid: uid_t) -> String {
        if let pw = getpwuid(uid), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid-\(uid)"
    }

    /// Refuses a store that other users could read: the directory, every directory in it and every
    /// file must grant nothing to group or others (0700 and 0600 as created).
    static func checkPermissions(_ root: String) throws {
        var pending = [root]
        while let directory = pending.popLast() {
            var st = stat()
            guard lstat(directory, &st) == 0 else { continue }
            if st.st_mode & 0o077 != 0 {
                throw EventStoreError.unsafePermissions(path: directory, root: root, mode: UInt32(st.st_mode & 0o777))
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else { continue }
            for name in try Directory.entries(directory) { pending.append(directory + "/" + name) }
        }
    }

    /// Appends events to one stream, checking its expected version first.
    ///
    /// - Throws: `.wrongExpectedVersion` (nothing written), `.conflictingEventID`,
    ///   `.damagedRecord` when the tail is corrupt, `.io` on a write or sync failure.
    @discardableResult
    public func append(_ events: [ProposedEvent], to stream: StreamID, expecting expected: ExpectedVersion = .any) throws -> AppendResult {
        let placed = events.map { event -> ProposedEvent in var e = event; e.stream = stream; return e }
        return try append(AppendBatch(events: placed, expectations: [stream: expected]))
    }

    /// Appends a batch spanning several streams atomically: all of its events land or none.
    @discardableResult
    public func append(_ batch: AppendBatch) throws -> AppendResult {
        try writer.withLock { (state: inout LogWriter?) throws -> AppendResult in
            if state == nil { state = try LogWriter(layout: layout, options: options) }
            guard let current = state else { throw EventStoreError.invalidEvent(reason: "writer unavailable") }
            do {
                return try current.append(batch)
            } catch {
                if current.needsReload { state = nil }
                throw error
            }
        }
    }

    /// Calls `visit` with each event from `start` (through `end`, if given) in log order, until it returns false.
    public func forEach(from start: LogPosition = 0, through end: LogPosition? = nil,
                        _ visit: (RecordedEvent) -> Bool) throws {
        let index = try? PositionIndex(path: layout.indexFile)
        let summary = try LogScanner(layout: layout, depth: .links).scan(from: start, index: index) { event, _ in
            if let end, event.position > end { return false }
            let more = visit(event)
            if let end, event.position >= end { return false }
            return more
        }
        try summary.throwIfDamaged()
    }

    /// The same walk and checks, handing each record over as a `RecordView` to read in place (what a
    /// rebuild uses to make its own events straight from the bytes; `read` must copy out what it keeps).
    ///
    /// Records come as they are read, so the caller keeps what it made of them until `batchEnded`
    /// says their batch is complete; what it made after the last `batchEnded` belongs to an
    /// interrupted write that was never acknowledged, and must be dropped. Either returns false to stop.
    public func forEachRecord(from start: LogPosition = 0, _ read: (RecordView) -> Bool, batchEnded: () -> Bool) throws {
        let index = try? PositionIndex(path: layout.indexFile)
        var stop = false
        let summary = try LogScanner(layout: layout, depth: .links).walk(from: start, index: index, record: { body, _ in
            guard !stop else { return true }
            guard let view = RecordView(body: body) else { return false }
            stop = !read(view)
            return true
        }, batchEnded: {
            // A reader that stopped still gets the end of the batch it stopped in: what it read is complete.
            let more = batchEnded()
            return more && !stop
        })
        try summary.throwIfDamaged()
    }

    /// All events from `start` through `end`, in order.
    public func events(from start: LogPosition = 0, through end: LogPosition? = nil) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        try forEach(from: start, through: end) { out.append($0); return true }
        return out
    }

    /// The event at one position, found through the index (checked against the record itself).
    public func event(at position: LogPosition) throws -> RecordedEvent? {
        if let index = try? PositionIndex(path: layout.indexFile), let entry = try index.entry(at: position),
           let event = try LogScanner(layout: layout, depth: .links).readRecord(segment: entry.segment, offset: entry.offset),
           event.position == position {
            return event
        }
        return try events(from: position, through: position).first
    }

    /// The last event's position and hash, or nil for an empty log.
    public func head() throws -> LogHead? {
        let index = try? PositionIndex(path: layout.indexFile)
        let start = LogPosition(max(0, ((try? index?.count()) ?? 0) - 1))
        let summary = try LogScanner(layout: layout, depth: .links).scan(from: start, index: index) { _, _ in true }
        try summary.throwIfDamaged()
        return summary.head
    }

    /// One stream's events in version order, found through the index rather than a scan of the log.
    public func events(in stream: StreamID) throws -> [RecordedEvent] {
        try events(inAnyOf: [stream])
    }

    /// The events of several streams in log order, in one pass over the index.
    ///
    /// - Complexity: O(n) in index entries (40 bytes each), plus one read per matching event.
    public func events(inAnyOf streams: Set<StreamID>, through end: LogPosition? = nil) throws -> [RecordedEvent] {
        let keys = Set(streams.map(\.indexKey))
        return try indexedEvents(through: end, entryMatches: { keys.contains($0.streamKey) }, matches: { streams.contains($0.stream) })
    }

    /// The events with these ids (those the log holds), in one pass over the index: how the rules
    /// find the events an import retries or retracts without folding a fact about every event.
    public func events(withIDs ids: Set<UUID>) throws -> [UUID: RecordedEvent] {
        guard !ids.isEmpty else { return [:] }
        let found = try indexedEvents(through: nil, entryMatches: { ids.contains($0.id) }, matches: { ids.contains($0.id) })
        return Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The events whose index entries pass `entryMatches` and whose records pass `matches`, in log order.
    /// Each entry used is checked against its record; lost (zeroed) entries, or one that does not check
    /// out, mean reading the log itself; the part of the log the index does not reach yet is read directly.
    func indexedEvents(through end: LogPosition?, entryMatches: (PositionIndex.Entry) -> Bool,
                       matches: (RecordedEvent) -> Bool) throws -> [RecordedEvent] {
        let index = try PositionIndex(path: layout.indexFile)
        let head = try self.head()
        let last = min(end ?? Int64.max, head?.position ?? -1)
        let count = min(try index.count(), Int(last + 1))
        var found: [(Int, PositionIndex.Entry)] = []
        var lostEntry = false
        try index.forEach(upTo: count) { position, entry in
            if entry.segment == 0 { lostEntry = true }
            if entryMatches(entry) { found.append((position, entry)) }
        }
        func scan() throws -> [RecordedEvent] {
            var out: [RecordedEvent] = []
            try forEach(through: last) { event in
                if matches(event) { out.append(event) }
                return true
            }
            return out
        }
        // Zeroed entries (the index is never fsynced) could hide events: read the log itself instead.
        if lostEntry { return try scan() }
        var out: [RecordedEvent] = []
        var files: [Int: RawFile] = [:]
        for (position, entry) in found {
            let file: RawFile
            if let open = files[entry.segment] { file = open } else {
                guard Directory.fileExists(layout.segmentPath(entry.segment)) else { return try scan() }
                file = try RawFile.open(layout.segmentPath(entry.segment), flags: O_RDONLY)
                files[entry.segment] = file
            }
            // An entry that does not match its record means the index cannot be trusted: fall back to a scan.
            guard let event = try LogScanner.readRecord(file, offset: entry.offset), event.position == LogPosition(position), event.id == entry.id else {
                return try scan()
            }
            if matches(event) { out.append(event) }
        }
        // The index may lag the log (a writer killed before updating it): read the rest directly.
        if LogPosition(count) <= last {
            try forEach(from: LogPosition(count), through: last) { event in
                if matches(event) { out.append(event) }
                return true
            }
        }
        return out
    }

    /// The events of several streams, each read backwards from its last event (given by the caller,
    /// who knows it from a read model) through the index's per-stream links: no scan of the log.
    /// Returned in log order.
    ///
    /// - Complexity: O(k) record reads for k matching events. Falls back to `events(inAnyOf:)` if a
    ///   link does not check out against the record it points to.
    public func events(inStreamsEndingAt heads: [StreamID: LogPosition]) throws -> [RecordedEvent] {
        guard !heads.isEmpty else { return [] }
        let index = try PositionIndex(path: layout.indexFile)
        let count = LogPosition(try index.count())
        var files: [Int: RawFile] = [:]
        var out: [RecordedEvent] = []
        let fallback = { try self.events(inAnyOf: Set(heads.keys), through: heads.values.max()) }
        for (stream, last) in heads {
            var position = last
            while position >= 0 {
                guard position < count, let entry = try index.entry(at: position), entry.segment > 0 else { return try fallback() }
                let file: RawFile
                if let open = files[entry.segment] { file = open } else {
                    guard Directory.fileExists(layout.segmentPath(entry.segment)) else { return try fallback() }
                    file = try RawFile.open(layout.segmentPath(entry.segment), flags: O_RDONLY)
                    files[entry.segment] = file
                }
                guard let event = try LogScanner.readRecord(file, offset: entry.offset), event.position == position, event.id == entry.id else {
                    return try fallback()
                }
                if event.stream == stream { out.append(event) }
                // Links only go backwards; anything else means the index is not to be trusted.
                guard entry.previousInStream < position else { return try fallback() }
                position = entry.previousInStream
            }
        }
        return out.sorted { $0.position < $1.position }
    }

    /// Walks every segment, recomputing every CRC and hash and checking every link.
    ///
    /// - Parameter expectedHead: an earlier head the log must still contain unchanged.
    public func verify(expecting expectedHead: LogHead? = nil) throws -> VerificationReport {
        var lastVersion = StreamVersions()
        var lastRecordedAt: Timestamp?
        var problem: (LogPosition, String)?
        // A head that does not match is the caller's evidence failing, not the log breaking: the walk
        // goes on, so the report still says how much of the log verified and where it ends.
        var mismatch: (LogPosition, String)?
        var expectedFound = false
        // The last event before a problem: the head of the part of the log that verified.
        var lastSound: LogHead?
        var sealed: [UUID: (position: LogPosition, fields: [String: String])] = [:]
        let summary = try LogScanner(layout: layout, depth: .full).scan(from: 0, index: nil) { event, _ in
            if event.hasSealedValues { sealed[event.id] = (event.position, event.sealedDigests) }
            // Stored at once: any problem found below ends the walk, so the table is not read again.
            let previous = lastVersion.replace(event.stream, key: event.stream.tableFingerprint, position: event.position, with: event.streamVersion)
            if event.streamVersion != previous + 1 {
                problem = (event.position, "stream \(event.stream) version \(event.streamVersion) follows \(previous) (gap or repeat)")
                return false
            }
            if let last = lastRecordedAt, event.recordedAt < last {
                problem = (event.position, "recordedAt goes backwards")
                return false
            }
            if let expectedHead, expectedHead.position == event.position {
                if expectedHead.hash != event.hash {
                    mismatch = (event.position, "the expected head's hash \(expectedHead.hash.hex) is not this record's \(event.hash.hex): "
                                + "the log was rewritten at or before position \(event.position), or the expected head is not this log's")
                } else {
                    expectedFound = true
                }
            }
            lastRecordedAt = event.recordedAt
            lastSound = LogHead(position: event.position, hash: event.hash)
            return true
        }
        var report = VerificationReport(events: Int((summary.head?.position ?? -1) + 1), head: summary.head, error: nil,
                                        tornTail: summary.hasTornBytes, vault: try verifyVault(sealed))
        if let damage = summary.damage {
            report.error = (damage.position, damage.reason)
            // `events` and `head` are the whole batches before the damage, as much as a reader can read:
            // records of a batch the damage cuts short are not counted (the head was nil beside a count of 1).
        } else if let problem {
            report.error = problem
            report.events = Int(problem.0)
            report.head = lastSound
        }
        // The first failure by position is the one reported; `events` and `head` stay the sound part of the log.
        if let mismatch, mismatch.0 < report.error?.position ?? .max {
            report.error = mismatch
        } else if let expectedHead, !expectedFound, mismatch == nil, report.error == nil {
            let end = summary.head.map { "ends at position \($0.position)" } ?? "is empty"
            report.error = (expectedHead.position, "the log \(end) and does not contain the expected head \(expectedHead): "
                            + "it was cut short, or the expected head is not this log's")
        }
        return report
    }
}
