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

    /// Reads an export back into proposals (in export order), each with the stream version it had.
    public static func decode(_ bytes: [UInt8], file: String) -> (events: [(ProposedEvent, StreamVersion)], problems: [InputProblem]) {
        var out: [(ProposedEvent, StreamVersion)] = []
        var problems: [InputProblem] = []
        var lineNumber = 0
        for line in ImportFile.withoutByteOrderMark(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            func problem(_ field: String?, _ reason: String) { problems.append(InputProblem(file: file, line: lineNumber, field: field, reason: reason)) }
            guard let value = try? JSONParser.parse(Array(line)), case .object(let o) = value else { problem(nil, "not a JSON object"); continue }
            guard o["specversion"]?.stringValue == "1.0" else { problem("specversion", "must be \"1.0\""); continue }
            guard let rawID = o["id"]?.stringValue, let id = UUID(uuidString: rawID) else { problem("id", "missing or not a UUID"); continue }
            guard let type = o["type"]?.stringValue, type.hasPrefix(typePrefix), type.count > typePrefix.count else {
                problem("type", "must be \(typePrefix)<Type>"); continue
            }
            guard let subject = o["subject"]?.stringValue, !subject.isEmpty else { problem("subject", "missing (the stream)"); continue }
            guard let time = o["time"]?.stringValue, let occurredAt = Timestamp(rfc3339: time) else { problem("time", "missing or not RFC 3339"); continue }
            guard case .object(let data)? = o["data"] else { problem("data", "missing or not an object"); continue }
            guard let version = o["streamversion"]?.intValue, version >= 0 else { problem("streamversion", "missing or negative"); continue }
            let actor = o["actor"]?.stringValue ?? "import"
            let name = String(type.dropFirst(typePrefix.count))
            let sealed = EventType(rawValue: name).map { SensitiveText.sealedFields(of: $0, in: data) } ?? []
            out.append((ProposedEvent(id: id, stream: StreamID(subject), type: name, occurredAt: occurredAt, actor: actor,
                                      data: data, sealedFields: sealed), version))
        }
        return (out, problems)
    }
}
