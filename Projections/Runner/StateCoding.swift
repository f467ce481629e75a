import EventStore
import Foundation
import HubDomain

/// A compact binary form for projection checkpoints.
///
/// Read commands load a checkpoint on every run, so it must decode in
/// milliseconds; Foundation's JSON coders are far too slow for that. Each
/// projection writes its fields in a fixed order; dictionaries are written in
/// key order, so the same state always gives the same bytes.
public struct StateWriter {
    public private(set) var bytes: [UInt8] = []
    public init() { bytes.reserveCapacity(1 << 16) }

    public mutating func int(_ v: Int64) { ByteWriter.append(v, to: &bytes) }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func string(_ v: String) { ByteWriter.appendString32(v, to: &bytes) }
    public mutating func uuid(_ v: UUID) { withUnsafeBytes(of: v.uuid) { bytes.append(contentsOf: $0) } }
    public mutating func time(_ v: Timestamp) { int(v.microseconds) }
    public mutating func raw<E: RawRepresentable>(_ v: E) where E.RawValue == String { string(v.rawValue) }
    public mutating func optional<T>(_ v: T?, _ write: (inout StateWriter, T) -> Void) {
        if let v { bool(true); write(&self, v) } else { bool(false) }
    }
    public mutating func array<T>(_ items: [T], _ write: (inout StateWriter, T) -> Void) {
        int(items.count)
        for item in items { write(&self, item) }
    }
    public mutating func dictionary<V>(_ d: [String: V], _ write: (inout StateWriter, V) -> Void) {
        int(d.count)
        for key in d.keys.sorted() { string(key); if let v = d[key] { write(&self, v) } }
    }
    public mutating func uuids(_ set: Set<UUID>) {
        array(set.sorted { $0.uuidString < $1.uuidString }) { $0.uuid($1) }
    }
}

/// Reads what `StateWriter` wrote; any inconsistency throws, and the runner then rebuilds.
public struct StateReader {
    struct Malformed: Error {}
    let bytes: [UInt8]
    var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, offset + n <= bytes.count else { throw Malformed() }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    public mutating func int() throws -> Int64 {
        let s = try take(8)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
        return Int64(bitPattern: v)
    }
    public mutating func count() throws -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(bytes.count) else { throw Malformed() }
        return Int(n)
    }
    public mutating func bool() throws -> Bool { try take(1).first == 1 }
    public mutating func string() throws -> String {
        let s = try take(4)
        var n = 0
        for (i, b) in s.enumerated() { n |= Int(b) << (8 * i) }
        let body = try take(n)
        guard let text = String(validating: body, as: UTF8.self) else { throw Malformed() }
        return text
    }
    public mutating func uuid() throws -> UUID {
        let s = Array(try take(16))
        return UUID(uuid: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15]))
    }
    public mutating func time() throws -> Timestamp { Timestamp(microseconds: try int()) }
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
    public mutating func uuids() throws -> Set<UUID> { Set(try array { try $0.uuid() }) }
    public var isAtEnd: Bool { offset == bytes.count }
}
