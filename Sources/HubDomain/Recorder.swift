import EventStore
import Foundation

/// Puts facts into the log: checks drafts against the rules and appends the
/// accepted ones as one all-or-nothing batch.
public struct Recorder: Sendable {
    /// What a submission did.
    public struct Outcome: Sendable {
        /// The newly appended events, with their positions.
        public var appended: [(position: LogPosition, id: UUID, type: String)]
        /// Lines whose `id` was already in the log with the same content (idempotent re-import).
        public var alreadyPresent: Int
        /// Of those, the ones retracted since: a re-import does not bring a corrected fact back.
        public var alreadyRetracted = 0
        public var head: LogHead?
        /// Set when the store removed an interrupted earlier write before appending.
        public var recovery: String?
        /// The participants whose attendance the submission holds and who have active flags (flag
        /// names only, never notes), in the order they first appear: the facilitator is warned.
        public var attendeeFlags: [(participant: String, flags: [String])] = []
    }

    public let log: EventLog
    public let actor: String
    public let clock: @Sendable () -> Timestamp

    public init(log: EventLog, actor: String, clock: @escaping @Sendable () -> Timestamp = { .now }) {
        self.log = log; self.actor = actor; self.clock = clock
    }

    /// Checks every draft (reporting all problems, not only the first) and appends them atomically.
    ///
    /// Creation events go to their own new stream with expected version `noStream`, every other
    /// stream touched with the exact version the checks saw, so a concurrent writer can never slip
    /// a contradicting fact in between: on a conflict the whole check is run again.
    /// - Throws: `DomainError.rejected` with every problem found; nothing is written then.
    public func submit(_ drafts: [EventDraft], dryRun: Bool = false) throws -> Outcome {
        for _ in 0..<8 {
            let (proposals, present, after) = try check(drafts, against: try LedgerState.load(from: log))
            let flags = Recorder.attendeeFlags(proposals, in: after)
            if dryRun || proposals.isEmpty {
                return Outcome(appended: [], alreadyPresent: present.count, alreadyRetracted: present.retracted, head: try log.head(), recovery: nil,
                               attendeeFlags: flags)
            }
            var expectations: [StreamID: ExpectedVersion] = [:]
            for event in proposals where expectations[event.stream] == nil {
                // Versions are the log's: checking the drafts numbers their new streams but versions none.
                expectations[event.stream] = after.version(of: event.stream.name).map { .exact($0) } ?? .noStream
            }
            do {
                let result = try log.append(AppendBatch(events: proposals, expectations: expectations))
                let appended = zip(result.positions, proposals).map { (position: $0, id: $1.id, type: $1.type) }
                return Outcome(appended: appended, alreadyPresent: present.count, alreadyRetracted: present.retracted, head: result.head,
                               recovery: result.recovery, attendeeFlags: flags)
            } catch EventStoreError.wrongExpectedVersion {
                continue
            } catch let error as EventStoreError {
                throw DomainError.store(error)
            }
        }
        throw DomainError.conflictPersisted
    }

    /// Runs the rules over the drafts in order, each seeing the ones before it; returns the state with them applied.
    ///
    /// The state is taken over, not copied (a copy cost as much as the fold): ids already in the log are
    /// looked up in it as the drafts are applied, which is the same as looking them up before, since a
    /// draft's id that an earlier draft used is refused first.
    func check(_ drafts: [EventDraft], against initial: consuming LedgerState) throws
        -> ([ProposedEvent], (count: Int, retracted: Int), LedgerState) {
        var state = initial
        var problems: [InputProblem] = []
        var proposals: [ProposedEvent] = []
        proposals.reserveCapacity(drafts.count)
        var alreadyPresent = 0, alreadyRetracted = 0
        var seenIDs: [UUID: (file: String, line: Int)] = [:]
        let now = clock()
        // The logged events the drafts name — ids they carry (retries) and events they retract — read in
        // one pass over the index (a retried import may hold thousands), and remembered for the rules.
        var named = Set<UUID>()
        var retracted = Set<UUID>()
        for draft in drafts {
            if let id = draft.id { named.insert(id) }
            if draft.type == EventType.eventRetracted.rawValue, let raw = draft.data["event"]?.stringValue, let target = UUID(uuidString: raw) {
                named.insert(target)
                retracted.insert(target)
            }
        }
        state.keepFactsOfNewEvents(only: retracted)
        let found = try log.events(withIDs: named)
        for event in found.values { state.remember(event) }
        var stored: [LogPosition: RecordedEvent] = [:]
        for draft in drafts { if let id = draft.id, let event = found[id] { stored[event.position] = event } }
        let values = try log.sealedValues(of: Array(stored.values))
        for draft in drafts {
            if let id = draft.id {
                if let earlier = seenIDs[id] {
                    let place = earlier.file == draft.file ? "line \(earlier.line)" : "\(earlier.file):\(earlier.line)"
                    problems.append(draft.problem("id", "the same id is used on \(place) (an event goes in once; remove the repeated line)"))
                    continue
                }
                seenIDs[id] = (draft.file, draft.line)
                if let facts = state.events[id] {
                    if isSame(draft, as: facts.position.flatMap { stored[$0] }, values: values) {
                        alreadyPresent += 1
                        if facts.isRetracted { alreadyRetracted += 1 }
                    } else {
                        problems.append(draft.problem("id", "id \(id.lowercasedString) is already in the log for a different event (position \(facts.position.map(String.init) ?? "?"))"))
                    }
                    continue
                }
            }
            let (event, found) = Rules.check(draft, against: state, now: now, actor: actor)
            problems += found
            if let event {
                proposals.append(event)
                state.apply(id: event.id, stream: event.stream.name, type: event.type, data: event.data, position: nil,
                            occurredAt: event.occurredAt, actor: event.actor)
            }
        }
        if !problems.isEmpty { throw DomainError.rejected(problems) }
        return (proposals, (alreadyPresent, alreadyRetracted), state)
    }

    /// The active flags of everyone whose attendance is among the events to append, as the log stands
    /// with them (an attendance already in the log is not recorded again, so it warns no one).
    static func attendeeFlags(_ proposals: [ProposedEvent], in state: LedgerState) -> [(participant: String, flags: [String])] {
        var seen = Set<String>()
        var out: [(participant: String, flags: [String])] = []
        for event in proposals where event.type == EventType.attendanceRecorded.rawValue {
            guard let p = event.data["participant"]?.stringValue, seen.insert(p).inserted else { continue }
            let flags = state.flags.active(on: p).map(\.flag)
            if !flags.isEmpty { out.append((p, flags)) }
        }
        return out
    }

    /// Whether a draft carrying an existing id is a retry of that very event. A sensitive value
    /// erased since counts as the same, so re-importing a file never brings erased text back.
    func isSame(_ draft: EventDraft, as stored: RecordedEvent?, values: SealedValues) -> Bool {
        guard var stored else { return false }
        if stored.hasSealedValues {
            var revealed = SensitiveText.revealed(stored, from: values)
            for field in stored.sealedDigests.keys where values.value(of: field, in: stored) == .erased {
                revealed.data[field] = draft.data[field]
            }
            stored = revealed
        }
        guard stored.type == draft.type, Timestamp(rfc3339: draft.occurredAt) == stored.occurredAt else { return false }
        // Compare the data as the rules would have normalised it.
        var normalised = JSONObject()
        if let type = EventType(rawValue: draft.type) {
            for spec in Schema.fields(of: type) {
                guard let value = draft.data[spec.name], value != .null else { continue }
                if case .eventID = spec.kind, let raw = value.stringValue { normalised[spec.name] = .string(raw.lowercased()) }
                else if case .date = spec.kind, let date = value.stringValue.flatMap(ReviewDate.init) { normalised[spec.name] = .string(date.text) }
                else if spec.isSensitive, let text = value.stringValue { normalised[spec.name] = SensitiveText.store(text) }
                else { normalised[spec.name] = value }
            }
            if draft.data.keys.contains(where: { key in !Schema.fields(of: type).contains { $0.name == key } }) { return false }
        }
        return normalised == stored.data
    }
}
