import EventStore
import Foundation

/// The log in CloudEvents 1.0 form (JSON event format), for Kafka, EventStoreDB or a warehouse.
///
/// Extension attributes carry what CloudEvents has no word for: `position`, `streamversion`,
/// `recordedat`, `actor`, `hash`, `previoushash`, `schemaversion`, `correlationid` and `causationid` (the last two
/// only when the event has them) and `sealedfields` (lower-case letters only, as the spec requires).
public enum CloudEvents {
    public static let typePrefix = "org.hubledger."
    /// The extension attribute naming an event's sealed fields, comma-separated (only on events that have any).
    public static let sealedFieldsAttribute = "sealedfields"
    /// How a sealed field whose text is not exported leaves: `sha256:` and the digest the log holds.
    static let digestPrefix = "sha256:"

    /// One event as a CloudEvent, read from the log as it is stored (sealed fields as digests).
    ///
    /// Each sealed field leaves as its text when `values` holds it (an admin's `--include-sensitive`),
    /// else as `sha256:<hex>`, the salted digest the log holds — so does a value erased since, whose
    /// text no longer exists — and `sealedfields` names them all, so an import seals exactly those
    /// again. Sensitive text a log holds in line (written before the vault existed) leaves as is with
    /// `values`, and without them as its SHA-256, named in `sealedfields` too.
    public static func encode(_ event: RecordedEvent, source: String, values: SealedValues?) -> JSONValue {
        var data = event.data
        var sealed: [String] = []
        if values == nil {
            for field in SensitiveText.fields(ofTypeNamed: event.type).sorted() {
                guard let text = event.data[field]?.stringValue else { continue }
                data[field] = .string(digestPrefix + SHA256.hash(Array(text.utf8)).hexString)
                sealed.append(field)
            }
        }
        for (field, digest) in event.sealedDigests {
            if case .text(let text)? = values?.value(of: field, in: event) { data[field] = .string(text) }
            else { data[field] = .string(digestPrefix + digest) }
            sealed.append(field)
        }
        var out: JSONObject = [
            "specversion": "1.0", "id": .string(event.id.lowercasedString), "source": .string(source),
            "type": .string(typePrefix + event.type), "subject": .string(event.stream.name),
            "time": .string(event.occurredAt.rfc3339), "datacontenttype": "application/json", "data": .object(data),
            "position": .int(event.position), "streamversion": .int(event.streamVersion),
            "recordedat": .string(event.recordedAt.rfc3339), "actor": .string(event.actor), "hash": .string(event.hash.hex),
            "previoushash": .string(event.previousHash.hex), "schemaversion": .int(Int64(event.schemaVersion)),
        ]
        if let correlationId = event.correlationId { out["correlationid"] = .string(correlationId) }
        if let causationId = event.causationId { out["causationid"] = .string(causationId) }
        if !sealed.isEmpty { out[sealedFieldsAttribute] = .string(sealed.sorted().joined(separator: ",")) }
        return .object(out)
    }
}
