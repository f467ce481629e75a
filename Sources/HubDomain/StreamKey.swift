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

    public init(entity: EntityKind?, id: String) { self.entity = entity; self.id = id }

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
        for (kind, prefix) in StreamKey.prefixes where bytes.count >= prefix.count {
            guard let base = bytes.baseAddress, prefix.withUnsafeBytes({ p in p.baseAddress.map { memcmp($0, base, prefix.count) == 0 } ?? false })
            else { continue }
            self.init(entity: kind, id: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[prefix.count...]), as: UTF8.self))
            return
        }
        self.init(entity: nil, id: String(decoding: bytes, as: UTF8.self))
    }

    private static let prefixes: [(EntityKind, [UInt8])] = EntityKind.allCases.map { ($0, Array($0.stream("").utf8)) }

    /// The stream's full name.
    public var name: String { entity.map { $0.stream(id) } ?? id }
    public var stream: StreamID { StreamID(name) }

    /// Whether this is the own stream of participant `id`.
    public func isOwnStream(ofParticipant participant: String) -> Bool { entity == .participant && id == participant }
}
