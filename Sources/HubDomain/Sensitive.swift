import EventStore

/// The one path every sensitive free-text value takes into and out of an event.
///
/// Today the text is kept inline in `data`. Because nothing else reads or
/// writes these fields directly, they can later be moved out of line and
/// erased without touching the hash chain.
public enum SensitiveText {
    /// The stored form of a sensitive value.
    static func store(_ text: String) -> JSONValue { .string(text) }

    /// The readable form of a stored sensitive value, or nil when it is absent or erased.
    public static func read(_ value: JSONValue?) -> String? { value?.stringValue }

    /// The names of a type's sensitive fields.
    public static func fields(of type: EventType) -> [String] {
        Schema.fields(of: type).filter(\.isSensitive).map(\.name)
    }
}
