import Foundation

/// An event a caller asks the store to append.
public struct ProposedEvent: Sendable, Hashable {
    public var id: UUID
    public var stream: StreamID
    public var type: String
    public var occurredAt: Timestamp
    public var actor: String
    public var data: JSONObject
    public var schemaVersion: UInt16
    public var correlationId: String?
    public var causationId: String?
    /// String fields of `data` to keep out of line in the vault, so they can later be erased:
    /// the log stores `{"sha256": HEX}` in their place (see `SealedValue`).
    ///
    /// A field named here whose value is already such a digest (`JSONValue.sealed(hex:)`: a value
    /// sealed by another store, whose text the caller does not have) is stored as given, and the vault
    /// marks it erased: this store never held its value.
    public var sealedFields: Set<String>
    /// Whether `id` was made here at random (no id given), so it cannot already be in the log.
    public var hasFreshID: Bool
    /// When the event was recorded, for an event first recorded elsewhere (an import of another
    /// store's export); nil, as for every ordinary append, means now, by the store's clock.
    /// The store refuses a time earlier than the log's last `recordedAt` or later than its clock.
    public var recordedAt: Timestamp?

    public init(id: UUID? = nil, stream: StreamID, type: String, occurredAt: Timestamp, actor: String,
                data: JSONObject, schemaVersion: UInt16 = 1, correlationId: String? = nil, causationId: String? = nil,
                sealedFields: Set<String> = [], recordedAt: Timestamp? = nil) {
        self.id = id ?? .random(); self.stream = stream; self.type = type; self.occurredAt = occurredAt; self.actor = actor
        self.data = data; self.schemaVersion = schemaVersion; self.correlationId = correlationId; self.causationId = causationId
        self.sealedFields = sealedFields
        self.hasFreshID = id == nil
        self.recordedAt = recordedAt
    }
}

extension ProposedEvent {
    /// The bytes its record body takes in the log (sealed fields counted as given, not as the digests
    /// that replace them): a caller can refuse, with its own line number, an event the store would.
    public var storedSize: Int { withUnsafePointer(to: self) { RecordCodec.bodySize(of: $0) } }
    /// The largest record body the store writes, and so the largest a reader accepts.
    public static let largestStoredSize = RecordCodec.maximumBodySize
}

/// An event as the log holds it: the proposal plus what the store assigned.
///
/// Stored bytes are not domain events: the domain's codec turns this into a
/// typed event.
public struct RecordedEvent: Sendable, Hashable {
    public var position: LogPosition
    public var stream: StreamID
    public var streamVersion: StreamVersion
    public var id: UUID
    public var type: String
    public var occurredAt: Timestamp
    public var recordedAt: Timestamp
    public var actor: String
    public var data: JSONObject
    public var schemaVersion: UInt16
    public var correlationId: String?
    public var causationId: String?
    public var previousHash: ChainHash
    public var hash: ChainHash
    /// Set on the last record of each appended batch; readers deliver whole batches only.
    public var endsBatch: Bool
    /// Whether some of `data`'s fields are sealed (kept in the vault; see `sealedDigests`).
    public var hasSealedValues: Bool = false

    /// Whether `proposal` would be a retry of this event: same id and same content.
    public func isRetry(of proposal: ProposedEvent) -> Bool {
        proposal.id == id && proposal.stream == stream && proposal.type == type
            && proposal.occurredAt == occurredAt && proposal.data == data
    }

    /// Every field, as `log --json` prints it.
    public var json: JSONValue {
        // Built from its pairs in order: setting each key in turn searched the object for it first.
        var pairs: [(key: String, value: JSONValue)] = [
            ("position", .int(position)), ("id", .string(id.lowercasedString)), ("stream", .string(stream.name)),
            ("streamVersion", .int(streamVersion)), ("type", .string(type)), ("occurredAt", .string(occurredAt.rfc3339)),
            ("recordedAt", .string(recordedAt.rfc3339)), ("actor", .string(actor)), ("schemaVersion", .int(Int64(schemaVersion))),
        ]
        pairs.reserveCapacity(pairs.count + 5)
        if let correlationId { pairs.append(("correlationId", .string(correlationId))) }
        if let causationId { pairs.append(("causationId", .string(causationId))) }
        pairs += [("data", .object(data)), ("previousHash", .string(previousHash.hex)), ("hash", .string(hash.hex))]
        return .object(JSONObject(pairs))
    }
}
