import EventStore
import Foundation

/// Which flags are active on whom: a fold of `FlagRaised`, `FlagRemoved` and their retractions.
///
/// The rules (is there a flag to remove?), the attendance warning, the safeguarding review, the
/// alert daemon and the chronology all use this one fold, so "active" means the same everywhere.
/// A flag is active when the last live (not retracted) raise or removal of that name on that
/// participant, in log order, was a raise. Raising an active flag again renews it: the newest
/// raise's note and review date are in force, and `raised` stays the first raise since the flag
/// was last removed. Notes are never kept here: they stay in the events, read through `SensitiveText`.
public struct ActiveFlags: Sendable {
    /// One raise or removal of a flag.
    public struct Mark: Sendable, Hashable {
        public var event: UUID
        /// The event's log position; -1 while a submission is still being checked.
        public var position: LogPosition
        public var participant: String
        public var flag: String
        public var isRaise: Bool
        public var occurredAt: Timestamp
        public var actor: String
        /// Set on raises that name one.
        public var reviewBy: ReviewDate?
        public var isRetracted = false

        public init(event: UUID, position: LogPosition, participant: String, flag: String, isRaise: Bool,
                    occurredAt: Timestamp, actor: String, reviewBy: ReviewDate?, isRetracted: Bool = false) {
            self.event = event; self.position = position; self.participant = participant; self.flag = flag
            self.isRaise = isRaise; self.occurredAt = occurredAt; self.actor = actor; self.reviewBy = reviewBy
            self.isRetracted = isRetracted
        }
    }

    /// Every mark, per participant, in log order.
    public private(set) var marks: [String: [Mark]] = [:]
    /// The participant of each mark, so a retraction finds its mark without a search.
    private var owners: [UUID: String] = [:]

    public init() {}

    /// Restores a fold from its marks (as a checkpoint keeps them).
    public init(marks: [String: [Mark]]) {
        self.marks = marks
        for (participant, list) in marks { for m in list { owners[m.event] = participant } }
    }

    /// Folds one event in; anything but a flag event or a retraction is ignored.
    public mutating func apply(_ event: HubEvent, id: UUID, position: LogPosition, occurredAt: Timestamp, actor: String) {
        switch event {
        case .flagRaised(let participant, let flag, let reviewBy):
            record(Mark(event: id, position: position, participant: participant, flag: flag, isRaise: true,
                        occurredAt: occurredAt, actor: actor, reviewBy: reviewBy))
        case .flagRemoved(let participant, let flag):
            record(Mark(event: id, position: position, participant: participant, flag: flag, isRaise: false,
                        occurredAt: occurredAt, actor: actor, reviewBy: nil))
        case .eventRetracted(let target):
            retract(target)
        default:
            break
        }
    }

    /// Folds one recorded event in.
    public mutating func apply(_ event: DomainEvent) {
        apply(event.event, id: event.id, position: event.position, occurredAt: event.occurredAt, actor: event.actor)
    }

    mutating func record(_ mark: Mark) {
        marks[mark.participant, default: []].append(mark)
        owners[mark.event] = mark.participant
    }

    /// Marks a raise or removal as retracted; it then never counts. Other events are ignored.
    mutating func retract(_ event: UUID) {
        guard let participant = owners[event], let i = marks[participant]?.firstIndex(where: { $0.event == event }) else { return }
        marks[participant]?[i].isRetracted = true
    }

    /// The participant's active flags, by flag name. With `now`, those active then: raises and removals
    /// that happened after it are left out (a review as of a past time, `review --now`).
    public func active(on participant: String, by now: Timestamp? = nil) -> [ActiveFlag] {
        var raised: [String: Mark] = [:], current: [String: Mark] = [:]
        for m in marks[participant] ?? [] where !m.isRetracted && now.map({ m.occurredAt <= $0 }) ?? true {
            if m.isRaise {
                if raised[m.flag] == nil { raised[m.flag] = m }
                current[m.flag] = m
            } else {
                raised[m.flag] = nil
                current[m.flag] = nil
            }
        }
        return current.keys.sorted().compactMap { flag in
            guard let first = raised[flag], let now = current[flag] else { return nil }
            return ActiveFlag(participant: participant, flag: flag, raised: first, current: now)
        }
    }

    /// Every active flag, by participant and then flag name.
    public var all: [ActiveFlag] { all(by: nil) }

    /// Every flag active at `now` (nil: every active flag), by participant and then flag name.
    public func all(by now: Timestamp?) -> [ActiveFlag] { marks.keys.sorted().flatMap { active(on: $0, by: now) } }

    /// Whether `flag` is active on the participant.
    public func isActive(_ flag: String, on participant: String) -> Bool {
        active(on: participant).contains { $0.flag == flag }
    }
}

/// A flag in force on a participant.
public struct ActiveFlag: Sendable, Hashable {
    public var participant: String
    public var flag: String
    /// The first raise since the flag was last removed.
    public var raised: ActiveFlags.Mark
    /// The newest raise, whose note and review date are in force (the same as `raised` unless renewed).
    public var current: ActiveFlags.Mark

    public var reviewBy: ReviewDate? { current.reviewBy }
    public var isRenewed: Bool { current.event != raised.event }
    /// Whether the review date has passed at `now` (never, without one).
    public func isReviewOverdue(at now: Timestamp) -> Bool { reviewBy?.isOverdue(at: now) ?? false }
}
