import CHashAccel
import Foundation

/// What the writer knows of each stream's last event, by the stream's index key: its position,
/// and once read or written here its name and version.
///
/// Every appended event's stream is looked up here, at random. As a `SlotTable` of `StreamTail`s
/// (64-byte slots, the name a `String` of its own on the heap) a million-event log's 78,000 streams
/// filled 16 MB, each lookup waited for two cache misses (the slot, then the name's bytes to compare)
/// and growing the table had the kernel zero 32 MB. Here a slot is 32 bytes of plain numbers, two
/// to a cache line, and the names' bytes lie end to end in one array: a quarter of the memory, no
/// reference counting, and the fresh slots are zeros.
struct StreamTails {
    private struct Slot {
        var key: UInt64
        /// The position after the stream's last event: 0 marks an empty slot, so fresh memory is empty.
        var end: LogPosition
        var version: StreamVersion
        /// Where the name lies in `names` (offset << 16 | length), or 0 when not known: the tail
        /// was found in the index, which files events under the key alone.
        var name: UInt64
    }

    /// What the table holds for one stream.
    enum Lookup: Equatable {
        /// No event with this key is known here.
        case none
        /// The last event with this key, its stream not known (found in the index).
        case unnamed(position: LogPosition)
        /// The last event with this key is this stream's: its position and version.
        case thisStream(position: LogPosition, version: StreamVersion)
        /// The last event with this key belongs to another stream that shares the key.
        case otherStream(position: LogPosition)

        var position: LogPosition? {
            switch self {
            case .none: nil
            case .unnamed(let p), .thisStream(let p, _), .otherStream(let p): p
            }
        }
    }

    private var slots: [Slot]
    private var names: [UInt8] = []
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var size = 64
        while size * 3 < minimumCapacity * 4 { size <<= 1 }
        slots = Self.emptySlots(size)
    }

    private static func emptySlots(_ count: Int) -> [Slot] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: Slot(key: 0, end: 0, version: 0, name: 0))
            initialized = count
        }
    }

    /// Where a key's probe starts: the index's keys are FNV-1a hashes, mixed again with the
    /// process's seed as `SlotTable` mixes its keys, so that keys chosen to share low bits do not
    /// pile up in one run of slots.
    private static func start(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: SlotTable<UInt64, LogPosition>.hash(key) >> 1) & mask
    }

    /// The slot holding `key`, or the empty slot where it would go.
    private func find(_ key: UInt64) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var i = Self.start(key, mask)
            while true {
                if slots[i].end == 0 { return (i, false) }
                if slots[i].key == key { return (i, true) }
                i = (i + 1) & mask
            }
        }
    }

    /// Starts loading the slot where `key`'s probe starts (see `hl_prefetch`): a batch asks a few
    /// streams ahead, so that their lookups wait for memory together, not one after another.
    func prefetch(_ key: UInt64) {
        slots.withUnsafeBufferPointer { slots in
            guard let base = slots.baseAddress else { return }
            hl_prefetch(base + Self.start(key, slots.count - 1))
        }
    }

    /// The position of the last event known with this key (any stream's), or nil.
    func position(ofKey key: UInt64) -> LogPosition? {
        let (i, found) = find(key)
        return found ? slots[i].end - 1 : nil
    }

    /// What is known of `stream`'s last event (`key`: its index key).
    func lookUp(_ stream: StreamID, key: UInt64) -> Lookup {
        describe(slots[find(key).index], for: stream)
    }

    /// What a slot says of `stream` (an empty slot: nothing).
    private func describe(_ slot: Slot, for stream: StreamID) -> Lookup {
        if slot.end == 0 { return .none }
        if slot.name == 0 { return .unnamed(position: slot.end - 1) }
        return holds(slot.name, stream) ? .thisStream(position: slot.end - 1, version: slot.version)
                                        : .otherStream(position: slot.end - 1)
    }

    /// Notes an event found in the index as the key's last, its stream unknown.
    mutating func setPosition(_ position: LogPosition, ofKey key: UInt64) {
        let i = claim(key)
        slots[i].end = position + 1
        slots[i].name = 0
    }

    /// Notes `stream`'s last event; the name's bytes are kept when the key's last event was the
    /// same stream's already, so a stream's name is stored once, not once per batch.
    mutating func set(_ stream: StreamID, key: UInt64, position: LogPosition, version: StreamVersion) {
        let i = claim(key)
        let name = slots[i].name
        if name == 0 || !holds(name, stream) { slots[i].name = store(stream) }
        slots[i].end = position + 1
        slots[i].version = version
    }

    /// Notes `stream`'s event as the key's last, unless another stream's event holds the key, and
    /// tells what was known before: `lookUp` and `set` in one probe, for a walk that meets every event.
    mutating func advance(_ stream: StreamID, key: UInt64, position: LogPosition, version: StreamVersion) -> Lookup {
        let i = claim(key)
        let before = describe(slots[i], for: stream)
        switch before {
        case .otherStream: return before
        case .thisStream: break
        case .none, .unnamed: slots[i].name = store(stream)
        }
        slots[i].end = position + 1
        slots[i].version = version
        return before
    }

    /// Visits every key held.
    func forEachKey(_ body: (UInt64) throws -> Void) rethrows {
        try slots.withUnsafeBufferPointer { slots in
            for slot in slots where slot.end != 0 { try body(slot.key) }
        }
    }

    /// The slot for `key`, taken (and the table grown) if it is new; its `end` is set by the caller.
    private mutating func claim(_ key: UInt64) -> Int {
        let (slot, found) = find(key)
        if found { return slot }
        var i = slot
        if (count + 1) * 4 > slots.count * 3 {
            grow()
            i = find(key).index
        }
        slots[i] = Slot(key: key, end: 0, version: 0, name: 0)
        count += 1
        return i
    }

    private mutating func grow() {
        var grown = Self.emptySlots(slots.count * 2)
        grown.withUnsafeMutableBufferPointer { grown in
            let mask = grown.count - 1
            for slot in slots where slot.end != 0 {
                var i = Self.start(slot.key, mask)
                while grown[i].end != 0 { i = (i + 1) & mask }
                grown[i] = slot
            }
        }
        slots = grown
    }

    /// Appends the name's bytes to `names`; returns where they lie.
    private mutating func store(_ stream: StreamID) -> UInt64 {
        var name = stream.name
        let offset = names.count
        let length = name.withUTF8 { bytes in
            names.append(contentsOf: bytes)
            return bytes.count
        }
        // A stream's name is 1 to 65,535 bytes long (`RecordCodec` refuses others).
        return UInt64(offset) << 16 | UInt64(truncatingIfNeeded: length & 0xFFFF)
    }

    /// Whether the name stored at `name` is `stream`'s, byte for byte.
    private func holds(_ name: UInt64, _ stream: StreamID) -> Bool {
        let offset = Int(truncatingIfNeeded: name >> 16), length = Int(truncatingIfNeeded: name & 0xFFFF)
        var wanted = stream.name
        return wanted.withUTF8 { bytes in
            guard bytes.count == length else { return false }
            return names.withUnsafeBufferPointer { stored in
                guard let a = stored.baseAddress, let b = bytes.baseAddress else { return false }
                return memcmp(a + offset, b, length) == 0
            }
        }
    }
}

/// Each stream's last version as a walk over the log meets its events: `verify`'s check that every
/// stream's versions run 0, 1, 2… with no gap. Kept as `StreamTails` are, by any hash of the name;
/// a stream whose hash another stream's entry holds already is kept apart, in a dictionary.
struct StreamVersions {
    private var tails = StreamTails()
    private var sharing: [StreamID: StreamVersion] = [:]

    /// Notes `version` as the stream's last; returns the one before it, or -1 for its first event.
    mutating func replace(_ stream: StreamID, key: UInt64, position: LogPosition, with version: StreamVersion) -> StreamVersion {
        switch tails.advance(stream, key: key, position: position, version: version) {
        case .thisStream(_, let previous): return previous
        case .none, .unnamed: return -1
        case .otherStream:
            defer { sharing[stream] = version }
            return sharing[stream] ?? -1
        }
    }
}
