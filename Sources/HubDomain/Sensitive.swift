import EventStore

/// The one path every sensitive free-text value takes into and out of an event.
///
/// A proposal carries the text and names it in `sealedFields`; the store keeps it out of line
/// in its vault and the log holds only a salted SHA-256 (`SealedValue`). Reading it back goes
/// through `revealed`, which shows an erased value as `[erased]`.
public enum SensitiveText {
    /// What an output shows in place of an erased value.
    public static let erasedMark = "[erased]"
    /// What an output shows when the vault lacks a value (damage: `verify` names it).
    public static let missingMark = "[missing from the vault]"

    /// The form of a sensitive value in a proposal (the store seals it on append).
    static func store(_ text: String) -> JSONValue { .string(text) }

    /// The sensitive fields a proposal of `type` holds, for the store to seal.
    static func sealedFields(of type: EventType, in data: JSONObject) -> Set<String> {
        Set(fields(of: type).filter { data[$0]?.stringValue != nil })
    }

    /// The readable form of a value as given (or revealed), or nil when it is absent or still sealed.
    public static func read(_ value: JSONValue?) -> String? { value?.stringValue }

    /// Whether the field holds a value at all, sealed, erased or inline (a competence note was written).
    public static func isPresent(_ value: JSONValue?) -> Bool {
        guard let value else { return false }
        if value.sealedDigest != nil { return true }
        return !(value.stringValue ?? "").isEmpty
    }

    /// The event with every sealed field replaced by its text, `[erased]` or `[missing from the vault]`.
    public static func revealed(_ event: RecordedEvent, from values: SealedValues) -> RecordedEvent {
        guard event.hasSealedValues else { return event }
        var out = event
        for field in event.sealedDigests.keys {
            switch values.value(of: field, in: event) {
            case .text(let text)?: out.data[field] = .string(text)
            case .erased?: out.data[field] = .string(erasedMark)
            case .missing?, nil: out.data[field] = .string(missingMark)
            }
        }
        return out
    }

    /// The events with their sealed fields revealed from the log's vault.
    public static func revealed(_ events: [RecordedEvent], from log: EventLog) throws -> [RecordedEvent] {
        let values = try log.sealedValues(of: events)
        return events.map { revealed($0, from: values) }
    }

    /// The names of a type's sensitive fields.
    public static func fields(of type: EventType) -> [String] {
        Schema.fields(of: type).filter(\.isSensitive).map(\.name)
    }

    /// The fields the store seals in an event of the type named `name`: a hub event's sensitive
    /// fields, a recorded view's purpose; none for other types.
    public static func fields(ofTypeNamed name: String) -> Set<String> {
        if let type = EventType(rawValue: name) { return Set(fields(of: type)) }
        return name == AccessRecords.viewed ? AccessRecords.sealedViewFields : []
    }
}
