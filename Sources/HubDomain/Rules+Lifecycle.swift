import EventStore

/// The rules that depend on what happened to an entity before: a flag can only be removed
/// while it is active; a referral is accepted at most once, and never after it was
/// declined or closed, and closed at most once; no later step of a referral or concern is
/// dated before the referral was received or the concern raised. Retracted events never count.
///
/// Raising a flag that is already active is allowed: it is a renewal (a new note and review date).
extension Rules {
    static func lifecycleProblems(_ type: EventType, data: JSONObject, occurredAt: Timestamp, state: LedgerState,
                                  draft: EventDraft) -> [InputProblem] {
        // A referral's or concern's later steps come after it: one dated before would make its days negative.
        for (entity, field, began) in [(EntityKind.referral, "referral", "received"), (.concern, "concern", "raised")]
        where type.entity == entity && !type.isCreation {
            guard let id = data[field]?.stringValue, let start = state.beganAt[LedgerState.attendanceKey(entity.rawValue, id)],
                  occurredAt < start else { continue }
            return [draft.problem("occurredAt", "\(draft.occurredAt) is before \(field) \(id) was \(began) (\(start.rfc3339)); a later step cannot come first")]
        }
        switch type {
        case .flagRemoved:
            guard let p = data["participant"]?.stringValue, let flag = data["flag"]?.stringValue,
                  !state.flags.isActive(flag, on: p) else { return [] }
            let active = state.flags.active(on: p).map(\.flag)
            let known = active.isEmpty ? "\(p) has no active flags" : "active flags: \(active.joined(separator: ", "))"
            return [draft.problem("flag", "\(p) has no active flag '\(flag)' to remove (\(known))")]
        case .referralAccepted:
            guard let r = data["referral"]?.stringValue else { return [] }
            let steps = state.liveSteps(of: r)
            if steps.contains(.referralAccepted) {
                return [draft.problem("referral", "referral \(r) is already accepted; retract that ReferralAccepted first if it was recorded in error")]
            }
            if steps.contains(.referralDeclined) {
                return [draft.problem("referral", "referral \(r) was declined and cannot be accepted; retract the ReferralDeclined first if it was recorded in error")]
            }
            if steps.contains(.referralClosed) {
                return [draft.problem("referral", "referral \(r) is closed and cannot be accepted; retract the ReferralClosed first if it was recorded in error")]
            }
            return []
        case .referralClosed:
            guard let r = data["referral"]?.stringValue, state.liveSteps(of: r).contains(.referralClosed) else { return [] }
            return [draft.problem("referral", "referral \(r) is already closed; retract that ReferralClosed first if it was recorded in error")]
        default:
            return []
        }
    }
}
