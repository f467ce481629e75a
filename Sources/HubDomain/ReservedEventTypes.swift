/// The event types HubLedger itself gives meaning to, and what writes each.
///
/// The rules, the read models and the access checks trust these events: the commands that write
/// them apply the hub's rules, seal free text and check who may. Appended raw (`hubledger append`)
/// one would skip all of that, so a raw append of these types is refused; other types stay free.
public enum ReservedEventTypes {
    /// What writes events of type `type`, to name in a refusal; nil for a type HubLedger does not interpret.
    public static func writer(of type: String) -> String? {
        if let hubType = EventType(rawValue: type) {
            if hubType == .eventRetracted {
                return "`hubledger retract EVENT_ID --reason TEXT` (or a line of `hubledger import FILE`), which apply the hub's rules and seal the reason"
            }
            return "`hubledger record \(hubType.rawValue) …` or `hubledger import FILE`, which apply the hub's rules and seal its free text"
        }
        switch type {
        case AccessRecords.granted: return "`hubledger access grant`"
        case AccessRecords.revoked: return "`hubledger access revoke`"
        case AccessRecords.viewed: return "`hubledger history PARTICIPANT --purpose TEXT`, which records each view itself"
        case AccessRecords.erased: return "`hubledger erase PARTICIPANT --reason TEXT`"
        case AccessRecords.denied: return "hubledger itself, when it refuses a command"
        case AlertRecord.type: return "`hubledger watch`, when it delivers an alert"
        default: return nil
        }
    }
}
