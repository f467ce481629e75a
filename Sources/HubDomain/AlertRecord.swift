import EventStore

/// The daemon's own record that an alert was delivered: an `AlertRaised` event
/// in the `alerts` stream. Not something staff record; `record` and `import` refuse it.
///
/// An alert is raised once per kind, subject and level; the key names those three.
public enum AlertRecord {
    public static let type = "AlertRaised"
    public static let stream = StreamID("alerts")

    /// `kind|subject|level`, where the subject is the referral, concern or event id.
    public static func key(kind: String, subject: String, level: String) -> String { "\(kind)|\(subject)|\(level)" }

    static func key(of data: JSONObject) -> String? {
        guard let kind = data["kind"]?.stringValue, let level = data["level"]?.stringValue,
              let subject = data["referral"]?.stringValue ?? data["concern"]?.stringValue ?? data["event"]?.stringValue else { return nil }
        return key(kind: kind, subject: subject, level: level)
    }
}
