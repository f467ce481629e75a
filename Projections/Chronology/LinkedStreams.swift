import EventStore

/// Per participant, the other streams about them (their referrals' and concerns'): the checkpoint's as
/// a `FrozenTable` (read in place: `history` needs one participant's), those added since in a dictionary.
struct LinkedStreams: Sendable {
    private var frozen = FrozenTable()
    private var recent: [String: [String]] = [:]

    init() {}

    /// The participant's linked streams, in the order they were linked; nil when there are none.
    subscript(participant: String) -> [String]? {
        let saved = frozen.offset(of: participant).flatMap { frozen.withValue(at: $0, LinkedStreams.decode) ?? nil }
        let added = recent[participant]
        if saved == nil && added == nil { return nil }
        return (saved ?? []) + (added ?? [])
    }

    mutating func append(_ stream: String, to participant: String) {
        recent[participant, default: []].append(stream)
    }

    /// A value's names: `u32 count`, then each `u32 length, bytes`; nil when malformed.
    private static func decode(_ value: UnsafeRawBufferPointer) -> [String]? {
        var r = ByteReader(value)
        guard let n = r.readUInt32(), Int(n) <= value.count else { return nil }
        var out: [String] = []
        for _ in 0..<n {
            guard let name = r.readString32() else { return nil }
            out.append(name)
        }
        return r.remaining == 0 ? out : nil
    }

    func encode(to w: inout StateWriter) {
        var all: [(participant: String, streams: [String])] = []
        var seen = Set<String>()
        frozen.forEach { _, name, _ in
            let participant = String(decoding: name, as: UTF8.self)
            seen.insert(participant)
            all.append((participant, self[participant] ?? []))
        }
        for (participant, streams) in recent where !seen.contains(participant) { all.append((participant, streams)) }
        // A writer that sorts (tests comparing bytes) gets the same bytes however the model was folded.
        if w.sortsKeys { all.sort { $0.participant < $1.participant } }
        FrozenTable.write(count: all.count, to: &w, describe: { i in
            var p = all[i].participant
            let valueLength = 4 + all[i].streams.reduce(0) { $0 + 4 + $1.utf8.count }
            return p.withUTF8 { (FrozenTable.hash(UnsafeRawBufferPointer($0)), $0.count, valueLength) }
        }, write: { i, w in
            var p = all[i].participant
            p.withUTF8 { w.bytes(UnsafeRawBufferPointer($0)) }
            w.uint32(UInt32(4 + all[i].streams.reduce(0) { $0 + 4 + $1.utf8.count }))
            w.uint32(UInt32(all[i].streams.count))
            for s in all[i].streams { w.string(s) }
        })
    }

    init(from r: inout StateReader) throws {
        frozen = try FrozenTable(from: &r)
    }
}
