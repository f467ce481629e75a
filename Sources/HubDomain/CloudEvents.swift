import EventStore
import Foundation

/// The log in CloudEvents 1.0 form (JSON event format), for Kafka, EventStoreDB or a warehouse.
///
/// Extension attributes carry what CloudEvents has no word for: `position`, `streamversion`,
/// `recordedat`, `actor`, `hash` (lower-case letters only, as the spec requires).
public enum CloudEvents {
    public static let typePrefix = "org.hubledger."

    /// One event as a CloudEvent; sensitive free text becomes `sha256:<hex>` (the salted digest the log
    /// holds) unless `includeSensitive`, when the caller passes the event revealed (`SensitiveText.revealed`).
    public static func encode(_ event: RecordedEvent, source: String, includeSensitive: Bool) -> JSONValue {
        var data = event.data
        if !includeSensitive, let type = EventType(rawValue: event.type) {
            for field in SensitiveText.fields(of: type) {
                if let digest = data[field]?.sealedDigest { data[field] = .string("sha256:" + digest) }
                else if let text = data[field]?.stringValue { data[field] = .string("sha256:" + SHA256.hash(Array(text.utf8)).hexString) }
            }
        }
        return ["specversion": "1.0", "id": .string(event.id.lowercasedString), "source": .string(source),
                "type": .string(typePrefix + event.type), "subject": .string(event.stream.name),
                "time": .string(event.occurredAt.rfc3339), "datacontenttype": "application/json", "data": .object(data),
                "position": .int(event.position), "streamversion": .int(event.streamVersion),
                "recordedat": .string(event.recordedAt.rfc3339), "actor": .string(event.actor), "hash": .string(event.hash.hex)]
    }
}
