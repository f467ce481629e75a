import EventStore

/// The rules that depend on what happened to an entity before: a flag can only be removed while it
/// is active, and not dated before it was raised or renewed; a referral is accepted at most once,
/// and never after it was declined or closed, declined at most once and never once closed, and
/// closed at most once; a concern is closed at most once and not escalated once closed; no later
/// step of a referral or concern is dated before the referral was received or the concern raised; no
/// attendance or survey is dated more than 12 hours before its session was held.
/// Retracted events never count, so retracting the step in the way is how a mistake is corrected.
///
/// Raising a flag that is already active is allowed: it is a renewal (a new note and review date).
extension Rules {
    static func lifecycleProblems(_ type: EventType, data: JSONObject, occurredAt: Timestamp, state: LedgerState,
                                  draft: EventDraft) -> [InputProblem] {
        // A referral's or concern's events name it in the field of its kind's name (`referral`, `concern`).
        if let entity = type.entity, [.referral, .concern].contains(entity), let id = data[entity.rawValue]?.stringValue {
            // Its later steps come after it: one dated before would make its days negative.
            if !type.isCreation, let start = state.beganAt[LedgerState.entityKey(entity, id)], occurredAt < start {
                return [draft.problem("occurredAt", "\(draft.occurredAt) is before \(entity.rawValue) \(id) was \(entity.createdVerb) (\(start.rfc3339)); a later step cannot come first")]
            }
            // Received or raised again after a retraction: not after the steps that still stand.
            if type.isCreation, let first = state.liveSteps(of: entity, id).min(by: { $0.at < $1.at }), occurredAt > first.at {
                return [draft.problem("occurredAt", "\(draft.occurredAt) is after \(entity.rawValue) \(id)'s \(first.type.rawValue) (\(first.at.rfc3339)), which still stands; it cannot have come first")]
            }
        }
        // An attendance or survey happened at its session: not long before it was held (early arrivals may be
        // noted before the session's recorded start, so some hours are allowed, whatever the time zone).
        if [.attendanceRecorded, .surveyCompleted].contains(type), let s = data["session"]?.stringValue,
           let held = state.beganAt[LedgerState.entityKey(.session, s)], occurredAt < held.adding(seconds: -earlyArrivalAllowance) {
            return [draft.problem("occurredAt", "\(draft.occurredAt) is more than 12 hours before session \(s) was held (\(held.rfc3339)); it cannot have happened there yet")]
        }
        switch type {
        case .flagRemoved:
            guard let p = data["participant"]?.stringValue, let flag = data["flag"]?.stringValue else { return [] }
            guard let active = state.flags.active(on: p).first(where: { $0.flag == flag }) else {
                let active = state.flags.active(on: p).map(\.flag)
                let known = active.isEmpty ? "\(p) has no active flags" : "active flags: \(active.joined(separator: ", "))"
                return [draft.problem("flag", "\(p) has no active flag '\(flag)' to remove (\(known))")]
            }
            guard occurredAt >= active.current.occurredAt else {
                let how = active.isRenewed ? "renewed" : "raised"
                return [draft.problem("occurredAt", "\(draft.occurredAt) is before flag '\(flag)' on \(p) was \(how) (\(active.current.occurredAt.rfc3339)); a removal cannot come first")]
            }
            return []
        case .referralAccepted, .referralDeclined, .referralClosed:
            guard let r = data["referral"]?.stringValue else { return [] }
            return stepProblem(type, of: .referral, r, after: state.liveSteps(of: .referral, r).map(\.type), draft: draft).map { [$0] } ?? []
        case .concernEscalated, .concernClosed:
            guard let c = data["concern"]?.stringValue else { return [] }
            return stepProblem(type, of: .concern, c, after: state.liveSteps(of: .concern, c).map(\.type), draft: draft).map { [$0] } ?? []
        default:
            return []
        }
    }

    /// The earlier live step that rules this one out, as a problem naming it and the way to correct it.
    private static func stepProblem(_ type: EventType, of entity: EntityKind, _ id: String, after steps: [EventType],
                                    draft: EventDraft) -> InputProblem? {
        let forbiddenAfter: [EventType: [EventType]] = [
            .referralAccepted: [.referralAccepted, .referralDeclined, .referralClosed],
            .referralDeclined: [.referralDeclined, .referralClosed],
            .referralClosed: [.referralClosed],
            .concernEscalated: [.concernClosed],
            .concernClosed: [.concernClosed],
        ]
        guard let earlier = forbiddenAfter[type]?.first(where: steps.contains) else { return nil }
        let predicate: String
        switch earlier {
        case type: predicate = "is already \(type.pastTense)"
        case .referralDeclined: predicate = "was declined"
        default: predicate = "is \(earlier.pastTense)"
        }
        let consequence = type == earlier ? "" : " and cannot be \(type.pastTense)"
        return draft.problem(entity.rawValue, "\(entity.rawValue) \(id) \(predicate)\(consequence); retract that \(earlier.rawValue) first if it was recorded in error")
    }
}

extension EventType {
    /// The step as a verb, for messages ("cannot be accepted").
    var pastTense: String {
        switch self {
        case .referralAccepted: "accepted"
        case .referralDeclined: "declined"
        case .referralClosed, .concernClosed: "closed"
        case .concernEscalated: "escalated"
        default: rawValue
        }
    }
}
