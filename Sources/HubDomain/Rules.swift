import EventStore
import Foundation

/// The rules that keep the record trustworthy: what is refused, and why.
///
/// Consent problems are not refused (an attendance is a fact); they are
/// flagged by `ConsentRules` for the safeguarding review.
public enum Rules {
    /// How far ahead of the clock an `occurredAt` may be (clock skew, time zones).
    public static let futureAllowance: Double = 86_400
    /// How long before its session's recorded start an attendance or survey may be dated (an early arrival).
    public static let earlyArrivalAllowance: Double = 12 * 3_600
    /// No hub's record holds anything before this: an earlier date is a typo in the year.
    static let earliest = Timestamp(rfc3339: "1900-01-01T00:00:00Z") ?? Timestamp(microseconds: 0)

    static func isValidID(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, isAlnum(first) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isAlnum(_ c: UInt8) -> Bool { (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) }

    /// Checks one draft against the state; returns the event to append (stream, normalised data) or the problems.
    static func check(_ draft: EventDraft, against state: LedgerState, now: Timestamp, actor: String)
        -> (event: ProposedEvent?, problems: [InputProblem]) {
        var problems: [InputProblem] = []
        guard let type = EventType(rawValue: draft.type) else {
            let known = EventType.allCases.map(\.rawValue).joined(separator: ", ")
            return (nil, [draft.problem("type", "unknown event type '\(draft.type)' (known: \(known))")])
        }
        var occurredAt = Timestamp(microseconds: 0)
        if let t = Timestamp(rfc3339DateTime: draft.occurredAt) {
            occurredAt = t
            if t > now.adding(seconds: futureAllowance) {
                problems.append(draft.problem("occurredAt", "\(draft.occurredAt) is more than a day in the future"))
            } else if t < earliest {
                problems.append(draft.problem("occurredAt", "\(draft.occurredAt) is before 1900: not a date a hub's record can hold (a typo in the year?)"))
            }
        } else if Timestamp(rfc3339: draft.occurredAt) != nil {
            problems.append(draft.problem("occurredAt", "'\(draft.occurredAt)' is a date without a time: give when it happened, e.g. \(draft.occurredAt)T10:00:00Z"))
        } else {
            problems.append(draft.problem("occurredAt", "'\(draft.occurredAt)' is not a valid RFC 3339 date-time (e.g. 2024-03-01T10:00:00Z)"))
        }
        let specs = Schema.fields(of: type)
        for key in draft.data.keys where !specs.contains(where: { $0.name == key }) {
            problems.append(draft.problem(key, "unknown field for \(type.rawValue) (fields: \(specs.map(\.name).joined(separator: ", ")))"))
        }
        var data = JSONObject()
        for spec in specs {
            guard let value = draft.data[spec.name], value != .null else {
                if spec.isRequired { problems.append(draft.problem(spec.name, "missing (required for \(type.rawValue))")) }
                continue
            }
            switch checkValue(value, spec: spec, type: type, state: state, draft: draft) {
            case .success(let normalised): data[spec.name] = normalised
            case .failure(let problem): problems.append(problem)
            }
        }
        guard problems.isEmpty else { return (nil, problems) }
        // Most lines hold their fields in the schema's order and need no normalising: the proposal then
        // shares the draft's storage rather than holding a second copy until the import's one append.
        // (A value the rules change — an id lowercased, a date rewritten — makes them differ.)
        if data == draft.data { data = draft.data }

        var stream: String
        if type == .eventRetracted {
            guard let raw = data["event"]?.stringValue, let target = UUID(uuidString: raw), let facts = state.events[target] else {
                return (nil, [draft.problem("event", "no such event in the log")])
            }
            if facts.isRetracted { return (nil, [draft.problem("event", "event \(raw) is already retracted")]) }
            if facts.kind == .eventRetracted {
                return (nil, [draft.problem("event", "a retraction cannot itself be retracted; record a new event instead")])
            }
            guard facts.kind != nil else {
                return (nil, [draft.problem("event", "event \(raw) is not a hub event but the system's own record (a view, an access change, an alert or a refusal): it cannot be retracted (roles change with `hubledger access revoke`)")])
            }
            // A survey answer stands only with its attendance: retracting the attendance first would leave it counted alone.
            if let key = facts.attendance, state.surveys.contains(key) {
                let (p, s) = LedgerState.parts(ofAttendanceKey: key)
                return (nil, [draft.problem("event", "\(p)'s exit survey at session \(s) still stands on this attendance; retract the survey first (earlier in the same import will do)")])
            }
            stream = state.streamName(of: facts)
        } else {
            guard let entity = type.entity, let field = Schema.streamField(of: type), let key = data[field]?.stringValue else {
                return (nil, [draft.problem(nil, "cannot tell which stream this event belongs to")])
            }
            stream = entity.stream(key)
        }
        if case .surveyCompleted = type, let p = data["participant"]?.stringValue, let s = data["session"]?.stringValue,
           !state.attendances.contains(LedgerState.attendanceKey(p, s)) {
            problems.append(draft.problem("session", "\(p) has no recorded attendance at session \(s); record the attendance first"))
        }
        if case .surveyCompleted = type, let p = data["participant"]?.stringValue, let s = data["session"]?.stringValue,
           state.surveys.contains(LedgerState.attendanceKey(p, s)) {
            problems.append(draft.problem("session", "\(p) already answered the exit survey at session \(s) (one per attendance; retract the earlier answer to correct it)"))
        }
        if case .attendanceRecorded = type, let p = data["participant"]?.stringValue, let s = data["session"]?.stringValue,
           state.attendances.contains(LedgerState.attendanceKey(p, s)) {
            problems.append(draft.problem("session", "\(p) is already recorded as attending session \(s)"))
        }
        if let hub = data["hub"]?.stringValue, let problem = hubProblem(hub, state: state) { problems.append(draft.problem("hub", problem)) }
        if let problem = reassignmentProblem(type, data: data, state: state) { problems.append(draft.problem("participant", problem)) }
        if case .sessionHeld = type, let funder = data["funder"]?.stringValue, let problem = funderProblem(funder) {
            problems.append(draft.problem("funder", problem))
        }
        if case .participantRegistered = type, case .int(let born)? = data["birthYear"], born > Int64(now.dayString.prefix(4)) ?? .max {
            problems.append(draft.problem("birthYear", "\(born) is in the future"))
        }
        problems += lifecycleProblems(type, data: data, occurredAt: occurredAt, state: state, draft: draft)
        guard problems.isEmpty else { return (nil, problems) }
        let event = ProposedEvent(id: draft.id, stream: StreamID(stream), type: type.rawValue,
                                  occurredAt: occurredAt, actor: actor, data: data,
                                  sealedFields: SensitiveText.sealedFields(of: type, in: data))
        return (event, [])
    }

    /// A hub's name is how grants, audit filters and alerts find it: spaces around it, invisible characters, or
    /// another case than a hub already in the log would make a second hub of the same place.
    static func hubProblem(_ hub: String, state: LedgerState) -> String? {
        if hub.first?.isWhitespace == true || hub.last?.isWhitespace == true { return "'\(hub)' has spaces around it" }
        if hub.unicodeScalars.contains(where: { [.control, .format].contains($0.properties.generalCategory) }) {
            return "the hub's name holds an invisible or control character"
        }
        guard !state.hubs.contains(hub), let known = state.hubs.sorted().first(where: { $0.lowercased() == hub.lowercased() }) else { return nil }
        return "'\(hub)' differs only in case from hub '\(known)' already in the log: write it as '\(known)'"
    }

    /// A referral or concern recorded again after its retraction names the person it was first recorded for:
    /// under the same id it would take over the steps still standing (contacts, escalations…), and both people's
    /// chronologies, need-to-know checks and erasures would reach the other's safeguarding text.
    static func reassignmentProblem(_ type: EventType, data: JSONObject, state: LedgerState) -> String? {
        guard type == .referralReceived || type == .concernRaised, let entity = type.entity,
              let field = Schema.streamField(of: type), let id = data[field]?.stringValue,
              let participant = data["participant"]?.stringValue,
              !state.exists(entity, id), let first = state.participantOf[LedgerState.entityKey(entity, id)], first != participant else { return nil }
        return "\(entity.rawValue) \(id) was first recorded for \(first); recorded again it must name \(first) too. "
            + "If it was \(participant)'s all along, record it for \(participant) under a new \(entity.rawValue) id"
    }

    /// The audit counts sessions by funder, and those with none under `none`: a funder written so would be
    /// counted with the unfunded sessions, and one with spaces around it as a second funder.
    static func funderProblem(_ funder: String) -> String? {
        if funder.first?.isWhitespace == true || funder.last?.isWhitespace == true { return "'\(funder)' has spaces around it" }
        if funder.lowercased() == "none" {
            return "'\(funder)' is how the audit counts sessions without a funder; leave funder out for an unfunded session"
        }
        return nil
    }

    static func checkValue(_ value: JSONValue, spec: FieldSpec, type: EventType, state: LedgerState, draft: EventDraft) -> Result<JSONValue, InputProblem> {
        let name = spec.name
        switch spec.kind {
        case .id(let kind, let creates):
            guard case .string(let id) = value else { return .failure(draft.problem(name, "must be a string, not a \(value.typeName)")) }
            guard isValidID(id) else {
                return .failure(draft.problem(name, "'\(id)' is not a valid id (1–64 letters, digits, '-', '_' or '.')"))
            }
            // A creation whose own creation was retracted may be recorded again: that is how a wrong
            // registration (say, the generation) is corrected. The chronology keeps both.
            if creates {
                if state.exists(kind, id) { return .failure(draft.problem(name, "\(kind.rawValue) \(id) already exists; a \(type.rawValue) may be recorded once")) }
            } else if !state.exists(kind, id) {
                if state.wasCreated(kind, id) {
                    return .failure(draft.problem(name, "\(kind.rawValue) \(id) was \(kind.createdVerb) and then retracted; record its \(kind.creation.rawValue) again first if it should stand"))
                }
                return .failure(draft.problem(name, "unknown \(kind.rawValue) \(id) (not \(kind.createdVerb) in the log or earlier in this input)"))
            }
            return .success(value)
        case .eventID:
            guard case .string(let raw) = value, UUID(uuidString: raw) != nil else {
                return .failure(draft.problem(name, "must be an event id (a UUID)"))
            }
            return .success(.string(raw.lowercased()))
        case .text:
            guard case .string(let text) = value else { return .failure(draft.problem(name, "must be a string, not a \(value.typeName)")) }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .failure(draft.problem(name, "must not be empty")) }
            guard text.utf8.count <= 10_000 else { return .failure(draft.problem(name, "longer than 10,000 bytes")) }
            return .success(spec.isSensitive ? SensitiveText.store(text) : value)
        case .label:
            guard case .string(let text) = value else { return .failure(draft.problem(name, "must be a string, not a \(value.typeName)")) }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .failure(draft.problem(name, "must not be empty")) }
            guard text.count <= 100, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return .failure(draft.problem(name, "must be one line of at most 100 characters (e.g. no-photography)"))
            }
            return .success(value)
        case .date:
            guard case .string(let text) = value, let date = ReviewDate(text) else {
                return .failure(draft.problem(name, "\(value.jsonText) is not a date: give YYYY-MM-DD (e.g. 2025-09-30) or an RFC 3339 date-time (e.g. 2025-09-30T17:00:00Z)"))
            }
            return .success(.string(date.text))
        case .choice(let allowed):
            guard case .string(let text) = value else { return .failure(draft.problem(name, "must be a string, not a \(value.typeName)")) }
            guard allowed.contains(text) else {
                return .failure(draft.problem(name, "'\(text)' is not one of \(allowed.joined(separator: " | "))"))
            }
            return .success(value)
        case .bool:
            guard case .bool = value else { return .failure(draft.problem(name, "must be true or false, not a \(value.typeName)")) }
            return .success(value)
        case .integer(let range):
            if case .double(let d) = value {
                // A whole number too large for 64 bits is read as a double: it is out of range, not written wrong.
                if d.rounded() == d, abs(d) >= 9.2e18 { return .failure(draft.problem(name, "\(value.jsonText) is outside \(range.lowerBound)…\(range.upperBound)")) }
                return .failure(draft.problem(name, "must be a whole number, written without a decimal point (e.g. 3)"))
            }
            guard case .int(let n) = value else { return .failure(draft.problem(name, "must be a whole number, not \(value.jsonText)")) }
            guard range.contains(n) else { return .failure(draft.problem(name, "\(n) is outside \(range.lowerBound)…\(range.upperBound)")) }
            return .success(value)
        }
    }
}
