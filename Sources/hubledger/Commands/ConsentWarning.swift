import EventStore
import HubDomain

/// Says at entry what `review` will flag for an attendance or survey: the person entering it may know the
/// consent's real time, and can put it right at once.
enum ConsentWarning {
    /// Warns on stderr for each draft the consent rules flag, judged on the log as it now stands.
    static func warn(_ drafts: [EventDraft], log: EventLog, dryRun: Bool) throws {
        for draft in drafts {
            guard let type = EventType(rawValue: draft.type), let participant = draft.data["participant"]?.stringValue,
                  let at = Timestamp(rfc3339: draft.occurredAt),
                  let rule = try ConsentRules.flag(of: type, by: participant, at: at, in: log) else { continue }
            let session = draft.data["session"]?.stringValue.map { " at session \($0)" } ?? ""
            Console.err("warning: \(participant)'s \(type.rawValue)\(session), dated \(at.rfc3339), is flagged \(rule.rawValue) "
                        + "(review \(dryRun ? "would list" : "lists") it): \(advice(rule))")
        }
    }

    /// What the rule means and what puts it right.
    static func advice(_ rule: ConsentRule) -> String {
        switch rule {
        case .participationConsentMissing:
            return "no participation consent was in force then from a parent or guardian, or their own with a note of their competence; "
                + "if one was given before, record it with --occurred-at and its real time"
        case .attendanceAfterWithdrawal:
            return "participation consent had been withdrawn before it; if consent was given again, record that with its real time, "
                + "and if the withdrawal is wrongly dated, retract it and record it again"
        case .surveyConsentMissing:
            return "no surveys consent was in force then; if it was given before, record it with --occurred-at and its real time"
        }
    }
}
