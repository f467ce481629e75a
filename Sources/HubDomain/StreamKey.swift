import EventStore
import Foundation

/// A stream's name as the entity it belongs to and that entity's id (`participant-P-0001` is
/// `.participant` and `P-0001`), or as the whole name for any other stream.
///
/// Every event a rebuild folds carries its stream, and read models key tables by it: an id fits a
/// String's inline storage where the whole name does not, so keeping the two parts spares an
/// allocation per event and hashes fewer bytes.
public struct StreamKey: Sendable, Hashable {
    /// The entity whose stream it is, or nil for a stream of another kind (`alerts`, `views-P-0001`).
    public let entity: EntityKind?
    /// The entity's id, or the whole name when `entity` is nil.
    public let id: String
    /// `WordHash` of the entity and id, computed once: a read model's table hashes this word, not the id.
    public let fingerprint: UInt64

    public init(entity: EntityKind?, id: String) {
        var id = id
        let fingerprint = id.withUTF8 { StreamKey.fingerprint(entity, UnsafeRawBufferPointer($0)) }
        self.init(entity: entity, id: id, fingerprint: fingerprint)
    }

    private init(entity: EntityKind?, id: String, fingerprint: UInt64) { self.entity = entity; self.id = id; self.fingerprint = fingerprint }

    private static func fingerprint(_ entity: EntityKind?, _ id: UnsafeRawBufferPointer) -> UInt64 {
        WordHash.hash(id, from: WordHash.seed ^ UInt64(tag(entity)))
    }

    private static func tag(_ entity: EntityKind?) -> UInt8 {
        switch entity {
        case .participant: 1
        case .referral: 2
        case .session: 3
        case .concern: 4
        case nil: 0
        }
    }

    /// The key of a stream named `name`.
    public init(_ stream: StreamID) {
        for kind in EntityKind.allCases {
            let prefix = kind.stream("")
            if stream.name.hasPrefix(prefix) { self.init(entity: kind, id: String(stream.name.dropFirst(prefix.count))); return }
        }
        self.init(entity: nil, id: stream.name)
    }

    /// The key of the stream named by these UTF-8 bytes (valid UTF-8, checked by the caller).
    public init(utf8 bytes: UnsafeRawBufferPointer) {
        // The first letter names the one prefix it may be (participant-, referral-, session-, concern-).
        let first = bytes.first ?? 0
        for (kind, prefix) in StreamKey.prefixes where prefix.first == first {
            guard prefix.withUnsafeBytes({ bytes.starts(withBytes: $0) }) else { break }
            let id = UnsafeRawBufferPointer(rebasing: bytes[prefix.count...])
            self.init(entity: kind, id: String(decoding: id, as: UTF8.self), fingerprint: StreamKey.fingerprint(kind, id))
            return
        }
        self.init(entity: nil, id: String(decoding: bytes, as: UTF8.self), fingerprint: StreamKey.fingerprint(nil, bytes))
    }

    /// Each entity's stream-name prefix (`participant-`), as bytes.
    private static let prefixes: [(EntityKind, [UInt8])] = EntityKind.allCases.map { ($0, Array($0.stream("").utf8)) }

    /// The bytes an entity's stream names begin with (`participant-`); none for other streams.
    public static func prefix(of entity: EntityKind?) -> [UInt8] { prefixes.first { $0.0 == entity }?.1 ?? [] }

    public static func == (a: StreamKey, b: StreamKey) -> Bool { a.fingerprint == b.fingerprint && a.entity == b.entity && a.id == b.id }

    public func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }

    /// The stream's full name.
    public var name: String { entity.map { $0.stream(id) } ?? id }
    public var stream: StreamID { StreamID(name) }

    /// Whether this is the own stream of participant `id`.
    public func isOwnStream(ofParticipant participant: String) -> Bool { entity == .participant && id == participant }
}

/// Read models key their tables by stream: the fingerprint is already a well-spread hash.
extension StreamKey: SlotTableKey {
    public var tableFingerprint: UInt64 { fingerprint }
    public static var placeholder: StreamKey { StreamKey(entity: nil, id: "") }
}
