import EventStore

/// The daemon's own record that an alert was delivered: an `AlertRaised` event
/// in the `alerts` stream. Not something staff record; `record` and `import` refuse it.
///
/// An alert is raised once per kind, subject and level; the key names those three.
public enum AlertRecord {
    public static let type = "AlertRaised"
    public static let stream = StreamID("alerts")

    /// `kind|subject|level`, where the subject is the referral, concern or event id, or a flag's subject.
    public static func key(kind: String, subject: String, level: String) -> String { "\(kind)|\(subject)|\(level)" }

    /// The subject of a flag's alert: participant, flag and review date, so a renewal with a new
    /// review date is a new subject. Unambiguous: ids and review dates never hold a `/`.
    public static func flagSubject(participant: String, flag: String, reviewBy: String) -> String {
        "\(participant)/\(flag)/\(reviewBy)"
    }

    static func key(of data: JSONObject) -> String? {
        guard let kind = data["kind"]?.stringValue, let level = data["level"]?.stringValue else { return nil }
        if let subject = data["referral"]?.stringValue ?? data["concern"]?.stringValue ?? data["event"]?.stringValue {
            return key(kind: kind, subject: subject, level: level)
        }
        guard let participant = data["participant"]?.stringValue, let flag = data["flag"]?.stringValue,
              let reviewBy = data["reviewBy"]?.stringValue else { return nil }
        return key(kind: kind, subject: flagSubject(participant: participant, flag: flag, reviewBy: reviewBy), level: level)
    }
}
