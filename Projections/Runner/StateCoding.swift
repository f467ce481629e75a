import EventStore
import Foundation
import HubDomain

/// A compact binary form for projection checkpoints.
///
/// Read commands load a checkpoint on every run, so it must decode in
/// milliseconds; Foundation's JSON coders are far too slow for that. Each
/// projection writes its fields in a fixed order. A writer made with `init()`
/// writes dictionaries in key order, so the same state always gives the same
/// bytes (what tests compare); one saving a checkpoint (`init(spillingTo:)`)
/// writes them in the dictionary's own order, which reads back the same state
/// without sorting hundreds of thousands of keys. `sortedDictionary` is always in
/// key order, for tables read by binary search.
public struct StateWriter {
    /// Filled chunks of about a megabyte, then the one being filled: a state of tens of megabytes is
    /// never one contiguous buffer, so encoding it never doubles and copies a buffer that large.
    public private(set) var chunks: [[UInt8]] = []
    private var current: [UInt8] = []
    static let chunkSize = 1 << 20

    /// Where full chunks go instead of `chunks` (a checkpoint file being written), and the first error it threw.
    private let sink: (([UInt8]) throws -> Void)?
    private var sinkError: (any Error)?

    /// Whether `dictionary` writes keys in order (the same state, the same bytes).
    public let sortsKeys: Bool

    public init() {
        sink = nil
        sortsKeys = true
        current.reserveCapacity(1 << 16)
    }

    /// A writer that hands each full chunk to `sink` and keeps nothing: call `finish()` at the end.
    public init(spillingTo sink: @escaping ([UInt8]) throws -> Void) {
        self.sink = sink
        sortsKeys = false
        current.reserveCapacity(Self.chunkSize + 4096)
    }

    /// Hands the last chunk to the sink; throws the first error the sink threw.
    public mutating func finish() throws {
        if let sink, sinkError == nil, !current.isEmpty {
            do { try sink(current) } catch { sinkError = error }
            current.removeAll(keepingCapacity: true)
        }
        if let sinkError { throw sinkError }
    }

    /// Every byte written, in order, as one array (for small states and tests).
    public var bytes: [UInt8] { chunks.isEmpty ? current : chunks.flatMap { $0 } + current }
    /// Every byte written, in order, as the chunks they were written in.
    public var parts: [[UInt8]] { chunks + [current] }

    private mutating func spillIfFull() {
        guard current.count >= Self.chunkSize else { return }
        if let sink {
            if sinkError == nil {
                do { try sink(current) } catch { sinkError = error }
            }
            current.removeAll(keepingCapacity: true)
            return
        }
        chunks.append(current)
        current = []
        current.reserveCapacity(Self.chunkSize + 4096)
    }

    public mutating func int(_ v: Int64) { ByteWriter.append(v, to: &current); spillIfFull() }
    mutating func uint32(_ v: UInt32) { ByteWriter.append(v, to: &current); spillIfFull() }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    /// Bytes already in this writer's layout (an entry copied from a checkpoint as it was read).
    mutating func bytes(_ v: UnsafeRawBufferPointer) { current.append(contentsOf: v); spillIfFull() }
    public mutating func bool(_ v: Bool) { current.append(v ? 1 : 0); spillIfFull() }
    public mutating func string(_ v: String) { ByteWriter.appendString32(v, to: &current); spillIfFull() }
    public mutating func uuid(_ v: UUID) { withUnsafeBytes(of: v.uuid) { current.append(contentsOf: $0) }; spillIfFull() }
    public mutating func time(_ v: Timestamp) { int(v.microseconds) }
    public mutating func raw<E: RawRepresentable>(_ v: E) where E.RawValue == String { string(v.rawValue) }
    /// One of a small enumeration's cases, as its index (one byte instead of its name).
    public mutating func choice<E: CaseIterable & Equatable>(_ v: E) {
        current.append(UInt8(truncatingIfNeeded: E.allCases.firstIndex(of: v).map { E.allCases.distance(from: E.allCases.startIndex, to: $0) } ?? 255))
        spillIfFull()
    }
    public mutating func optional<T>(_ v: T?, _ write: (inout StateWriter, T) -> Void) {
        if let v { bool(true); write(&self, v) } else { bool(false) }
    }
    public mutating func array<T>(_ items: [T], _ write: (inout StateWriter, T) -> Void) {
        int(items.count)
        for item in items { write(&self, item) }
    }
    public mutating func dictionary<V>(_ d: [String: V], _ write: (inout StateWriter, V) -> Void) {
        guard !sortsKeys else { return sortedDictionary(d, write) }
        int(d.count)
        for (key, value) in d { string(key); write(&self, value) }
    }
    public mutating func sortedDictionary<V>(_ d: [String: V], _ write: (inout StateWriter, V) -> Void) {
        int(d.count)
        for key in d.keys.sorted() { string(key); if let v = d[key] { write(&self, v) } }
    }
    public mutating func uuids<IDs: Sequence<UUID>>(_ set: IDs) {
        guard sortsKeys else { return array(Array(set)) { $0.uuid($1) } }
        // In byte order (the same as uuidString order), compared as two integers rather than as strings.
        func key(_ u: UUID) -> (UInt64, UInt64) {
            withUnsafeBytes(of: u.uuid) { (UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)),
                                          UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) }
        }
        array(set.map { (key($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)) { $0.uuid($1) }
    }
}

/// Reads what `StateWriter` wrote; any inconsistency throws, and the runner then rebuilds.
public struct StateReader {
    struct Malformed: Error {}
    let bytes: [UInt8]
    var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inline(__always)
    mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw Malformed() }
        let at = offset
        offset += size
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }

    public mutating func int() throws -> Int64 { try load(Int64.self) }
    mutating func uint32() throws -> UInt32 { try load(UInt32.self) }
    /// The next `count` bytes, sharing the state's storage (no copy).
    mutating func slice(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, offset + count <= bytes.count else { throw Malformed() }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
    public mutating func count() throws -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(bytes.count) else { throw Malformed() }
        return Int(n)
    }
    public mutating func bool() throws -> Bool { try load(UInt8.self) == 1 }
    public mutating func string() throws -> String {
        let n = Int(try load(UInt32.self))
        guard offset + n <= bytes.count else { throw Malformed() }
        let at = offset
        offset += n
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[at..<at + n]), as: UTF8.self) }
    }
    public mutating func uuid() throws -> UUID {
        guard offset + 16 <= bytes.count else { throw Malformed() }
        let at = offset
        offset += 16
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        bytes.withUnsafeBytes { raw in withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[at..<at + 16])) } }
        return UUID(uuid: value)
    }
    public mutating func time() throws -> Timestamp { Timestamp(microseconds: try int()) }
    public mutating func choice<E: CaseIterable>(_: E.Type) throws -> E {
        let n = Int(try load(UInt8.self))
        guard n < E.allCases.count else { throw Malformed() }
        return E.allCases[E.allCases.index(E.allCases.startIndex, offsetBy: n)]
    }
    public mutating func raw<E: RawRepresentable>(_: E.Type) throws -> E where E.RawValue == String {
        guard let v = E(rawValue: try string()) else { throw Malformed() }
        return v
    }
    public mutating func optional<T>(_ read: (inout StateReader) throws -> T) throws -> T? {
        try bool() ? try read(&self) : nil
    }
    public mutating func array<T>(_ read: (inout StateReader) throws -> T) throws -> [T] {
        let n = try count()
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try read(&self)) }
        return out
    }
    public mutating func dictionary<V>(_ read: (inout StateReader) throws -> V) throws -> [String: V] {
        let n = try count()
        var out: [String: V] = [:]
        out.reserveCapacity(n)
        for _ in 0..<n { let k = try string(); out[k] = try read(&self) }
        return out
    }
    public mutating func uuids() throws -> IDSet { IDSet(try array { try $0.uuid() }) }

    public var isAtEnd: Bool { offset == bytes.count }
}
