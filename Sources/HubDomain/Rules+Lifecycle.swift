import EventStore

/// The rules that depend on what happened to an entity before: a flag can only be removed
/// while it is active, and a referral is accepted at most once, and never after it was
/// declined or closed. Retracted events never count.
///
/// Raising a flag that is already active is allowed: it is a renewal (a new note and review date).
extension Rules {
    static func lifecycleProblems(_ type: EventType, data: JSONObject, state: LedgerState, draft: EventDraft) -> [InputProblem] {
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
        default:
            return []
        }
    }
}
