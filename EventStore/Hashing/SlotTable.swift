import Foundation

/// A table from a key that hashes to one word (an event id, a stream, a participant's id) to an
/// entry, kept in one array: each slot holds the key's hash, the key and the entry side by side.
///
/// The writer looks up every appended id, and a rebuild the person of every attendance. With a
/// million keys, Swift's `Dictionary` (keys and values in separate arrays, each key hashed with
/// SipHash) costs two cache misses and a few hundred instructions per lookup; here it is one miss
/// and a multiply. Open addressing with linear probing, at most half full; entries are never
/// removed. The hash is seeded per process, so no one can choose keys that collide.
///
/// Everything is `@inlinable` so that the projections' tables are specialised where they are used.
public struct SlotTable<Key: SlotTableKey, Entry: Sendable>: Sendable {
    @usableFromInline
    struct Slot: Sendable {
        /// 0 for an empty slot; otherwise the key's hash with its low bit set.
        @usableFromInline var hash: UInt64
        @usableFromInline var key: Key
        @usableFromInline var entry: Entry

        @inlinable init(hash: UInt64, key: Key, entry: Entry) {
            self.hash = hash
            self.key = key
            self.entry = entry
        }
    }

    @usableFromInline var slots: [Slot]
    /// What an empty slot holds, and what a new key starts from.
    @usableFromInline let empty: Entry
    @usableFromInline var filled = 0

    /// How many keys the table holds.
    @inlinable public var count: Int { filled }

    /// An empty table with room for `minimumCapacity` keys before it first grows.
    @inlinable public init(empty: Entry, minimumCapacity: Int = 0) {
        self.empty = empty
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = Self.emptySlots(size, empty)
    }

    /// `count` empty slots, on huge pages when there are megabytes of them: a table of a million
    /// keys spans 16,000 small pages, and under a VM's nested paging the TLB miss costs more than
    /// the cache miss (batched appends at a million events ran ~20% faster).
    @inlinable static func emptySlots(_ count: Int, _ empty: Entry) -> [Slot] {
        let slot = Slot(hash: 0, key: Key.placeholder, entry: empty)
        return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: slot)
            initialized = count
        }
    }

    @inlinable static func hash(_ key: Key) -> UInt64 {
        var h = (key.tableFingerprint ^ SlotTableSeed.value) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h | 1
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inlinable func find(_ key: Key, hash: UInt64) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hash >> 1) & mask
            while true {
                if slots[i].hash == 0 { return (i, false) }
                if slots[i].hash == hash && slots[i].key == key { return (i, true) }
                i = (i + 1) & mask
            }
        }
    }

    @inlinable public subscript(key: Key) -> Entry? {
        let (i, found) = find(key, hash: Self.hash(key))
        return found ? slots[i].entry : nil
    }

    /// Changes the entry of `key` in place, starting from `empty` when the key is new.
    @inlinable @discardableResult
    public mutating func update<R>(_ key: Key, _ body: (inout Entry) -> R) -> R {
        let hash = Self.hash(key)
        var (i, found) = find(key, hash: hash)
        if !found {
            if (filled + 1) * 2 > slots.count {
                grow()
                i = find(key, hash: hash).index
            }
            slots[i] = Slot(hash: hash, key: key, entry: empty)
            filled += 1
        }
        return body(&slots[i].entry)
    }

    /// Changes the entry of `key` in place if there is one; nil when there is none.
    @inlinable @discardableResult
    public mutating func updateIfPresent<R>(_ key: Key, _ body: (inout Entry) -> R) -> R? {
        let (i, found) = find(key, hash: Self.hash(key))
        return found ? body(&slots[i].entry) : nil
    }

    /// Doubles the slots, swapping each entry into its new place (copying would retain every key and entry).
    @inlinable mutating func grow() {
        var old: [Slot] = []
        swap(&old, &slots)
        var grown = Self.emptySlots(old.count * 2, empty)
        grown.withUnsafeMutableBufferPointer { grown in
            old.withUnsafeMutableBufferPointer { old in
                let mask = grown.count - 1
                for j in old.indices where old[j].hash != 0 {
                    var i = Int(truncatingIfNeeded: old[j].hash >> 1) & mask
                    while grown[i].hash != 0 { i = (i + 1) & mask }
                    swap(&grown[i], &old[j])
                }
            }
        }
        slots = grown
    }

    /// Every key and entry, in the table's own order.
    ///
    /// Read through a pointer: iterating the array would copy every slot, retaining each key and
    /// entry (two threads saving checkpoints at once spent a quarter of their time in `swift_retain`).
    @inlinable public func forEach(_ body: (Key, Entry) throws -> Void) rethrows {
        try slots.withUnsafeBufferPointer { slots in
            for i in slots.indices where slots[i].hash != 0 { try body(slots[i].key, slots[i].entry) }
        }
    }
}

/// What a `SlotTable` is keyed by: hashable to one word.
public protocol SlotTableKey: Equatable, Sendable {
    /// A hash of the key (the table mixes in a per-process seed).
    var tableFingerprint: UInt64 { get }
    /// What empty slots hold.
    static var placeholder: Self { get }
}

extension String: SlotTableKey {
    @inlinable public var tableFingerprint: UInt64 {
        var s = self
        return s.withUTF8 { WordHash.hash(UnsafeRawBufferPointer($0)) }
    }
    @inlinable public static var placeholder: String { "" }
}

extension UInt64: SlotTableKey {
    /// Already a hash (the index's stream keys); the table mixes it again.
    @inlinable public var tableFingerprint: UInt64 { self }
    @inlinable public static var placeholder: UInt64 { 0 }
}

extension StreamID: SlotTableKey {
    @inlinable public var tableFingerprint: UInt64 { name.tableFingerprint }
    @inlinable public static var placeholder: StreamID { StreamID("") }
}

extension UUID: SlotTableKey {
    /// Both halves folded into one word: random ids need nothing more, and the table mixes it again.
    @inlinable public var tableFingerprint: UInt64 {
        withUnsafeBytes(of: uuid) { $0.loadUnaligned(as: UInt64.self) ^ $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).byteSwapped }
    }
    @inlinable public static var placeholder: UUID { UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) }
}

/// The per-process seed of `SlotTable`'s hash.
public enum SlotTableSeed {
    public static let value = UInt64.random(in: 0...UInt64.max)
}
