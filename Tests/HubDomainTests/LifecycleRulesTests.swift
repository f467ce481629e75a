import EventStore
import Foundation
import HubDomain
import Testing

// Flags (raise, renew, remove) and referral acceptance through `Recorder.submit` on a real
// store: what is accepted, what is refused and why, and how retractions change both.
// Only synthetic people.

private let lifecycleNow = Timestamp(rfc3339: "2025-06-01T12:00:00Z")!

/// Two adults, a session, and four referrals for P-A: R-1 received, R-2 declined, R-3 closed,
/// R-4 received and attended (P-A came to S-1 after it).
private func lifecycleBaseline() -> [EventDraft] {
    var line = 0
    func d(_ type: String, _ at: String, _ data: JSONObject) -> EventDraft {
        line += 1
        return EventDraft(type: type, occurredAt: at, data: data, file: "baseline.jsonl", line: line)
    }
    func referral(_ r: String, _ at: String) -> EventDraft {
        d("ReferralReceived", at, ["referral": .string(r), "participant": "P-A", "source": "gp", "referrer": "Synthetic GP",
                                   "reason": "Isolation (synthetic)", "urgent": false])
    }
    return [
        d("ParticipantRegistered", "2025-05-01T09:00:00Z", ["participant": "P-A", "generation": "adult", "hub": "woking", "region": "surrey"]),
        d("ParticipantRegistered", "2025-05-01T09:05:00Z", ["participant": "P-B", "generation": "adult", "hub": "woking", "region": "surrey"]),
        d("SessionHeld", "2025-05-12T10:00:00Z", ["session": "S-1", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 1]),
        referral("R-1", "2025-05-02T09:00:00Z"),
        referral("R-2", "2025-05-02T09:00:00Z"),
        d("ReferralDeclined", "2025-05-03T09:00:00Z", ["referral": "R-2", "reason": "Chose another service"]),
        referral("R-3", "2025-05-02T09:00:00Z"),
        d("ReferralClosed", "2025-05-03T09:00:00Z", ["referral": "R-3", "reason": "no-contact"]),
        referral("R-4", "2025-05-02T09:00:00Z"),
        d("AttendanceRecorded", "2025-05-12T10:05:00Z", ["participant": "P-A", "session": "S-1"]),
    ]
}

private func withLifecycleStore<T>(_ body: (EventLog, Recorder) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "hubledger-lifecycle-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let log = try EventLog.create(at: dir)
    let recorder = Recorder(log: log, actor: "dsl-test", clock: { lifecycleNow })
    _ = try recorder.submit(lifecycleBaseline())
    return try body(log, recorder)
}

private func draft(_ type: String, _ data: JSONObject, at: String = "2025-05-20T10:00:00Z", id: UUID? = nil, line: Int = 1) -> EventDraft {
    EventDraft(type: type, occurredAt: at, data: data, id: id, file: "case.jsonl", line: line)
}

private func raise(_ p: String, _ flag: String, note: String = "Synthetic note", reviewBy: String? = nil, id: UUID? = nil, line: Int = 1) -> EventDraft {
    var data: JSONObject = ["participant": .string(p), "flag": .string(flag), "note": .string(note)]
    if let reviewBy { data["reviewBy"] = .string(reviewBy) }
    return draft("FlagRaised", data, id: id, line: line)
}

private func remove(_ p: String, _ flag: String, line: Int = 1) -> EventDraft {
    draft("FlagRemoved", ["participant": .string(p), "flag": .string(flag), "reason": "No longer needed (synthetic)"], line: line)
}

private func retract(_ id: UUID, line: Int = 1) -> EventDraft {
    draft("EventRetracted", ["event": .string(id.uuidString.lowercased()), "reason": "Recorded in error"], line: line)
}

/// The problems of a refused submission (an issue is recorded when it was accepted), after checking nothing was written.
private func refusal(_ drafts: [EventDraft], _ log: EventLog, _ recorder: Recorder,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> [InputProblem] {
    let before = try log.head()
    defer { #expect((try? log.head()) == before, "a refused submission wrote something", sourceLocation: sourceLocation) }
    do {
        _ = try recorder.submit(drafts)
        Issue.record("expected a refusal, but it was accepted", sourceLocation: sourceLocation)
        return []
    } catch DomainError.rejected(let problems) {
        return problems
    }
}

private func activeFlags(_ log: EventLog, _ p: String) throws -> [ActiveFlag] { try LedgerState.load(from: log).flags.active(on: p) }

private let ids = (1...9).map { UUID(uuidString: "f0000000-0000-4000-8000-00000000000\($0)")! }

// MARK: - Flags

@Test func aFlagIsRaisedOnTheParticipantsStreamWithItsNoteAndReviewDate() throws {
    try withLifecycleStore { log, recorder in
        let outcome = try recorder.submit([raise("P-A", "no-photography", note: "Court order (synthetic)", reviewBy: "2025-09-30")])
        let appended = try #require(outcome.appended.first)
        let stored = try #require(try log.event(at: appended.position))
        #expect(stored.type == "FlagRaised")
        #expect(stored.stream.name == "participant-P-A")
        // The note is sealed: a digest in the log, the text in the vault.
        #expect(stored.data["note"]?.sealedDigest != nil)
        #expect(SensitiveText.read(SensitiveText.revealed(stored, from: try log.sealedValues(of: [stored])).data["note"]) == "Court order (synthetic)")
        #expect(stored.data["reviewBy"] == "2025-09-30")
        #expect(try activeFlags(log, "P-A").map(\.flag) == ["no-photography"])
        #expect(try activeFlags(log, "P-B").isEmpty)
    }
}

@Test(arguments: [("known-risk", nil), ("medical", "2025-09-30T18:00:00+01:00"), ("Needs a quiet room", "2026-02-28")])
func anyFlagNameIsAcceptedAndATimedReviewIsStoredInUTC(_ flag: String, _ reviewBy: String?) throws {
    try withLifecycleStore { log, recorder in
        let outcome = try recorder.submit([raise("P-B", flag, reviewBy: reviewBy)])
        let appended = try #require(outcome.appended.first)
        let stored = try #require(try log.event(at: appended.position))
        #expect(stored.data["flag"] == .string(flag))
        switch reviewBy {
        case nil: #expect(stored.data["reviewBy"] == nil)
        case "2025-09-30T18:00:00+01:00"?: #expect(stored.data["reviewBy"] == "2025-09-30T17:00:00Z")
        case let other?: #expect(stored.data["reviewBy"] == .string(other))
        }
    }
}

@Test(arguments: [
    ("next week", "reviewBy"), ("2025-02-30", "reviewBy"), ("30/09/2025", "reviewBy"), ("2025-09-30T25:00:00Z", "reviewBy"),
])
func aBadReviewDateIsRefusedSayingWhatToWrite(_ reviewBy: String, _ field: String) throws {
    try withLifecycleStore { log, recorder in
        let problems = try refusal([raise("P-A", "medical", reviewBy: reviewBy)], log, recorder)
        #expect(problems.map(\.field) == [field])
        #expect(problems.first?.reason.contains("YYYY-MM-DD") == true, "\(problems)")
    }
}

@Test func aFlagNeedsANameANoteAndAKnownParticipant() throws {
    try withLifecycleStore { log, recorder in
        let cases: [(JSONObject, String)] = [
            (["participant": "P-A", "flag": "  ", "note": "Synthetic"], "flag"),
            (["participant": "P-A", "flag": "two\nlines", "note": "Synthetic"], "flag"),
            (["participant": "P-A", "flag": .string(String(repeating: "x", count: 101)), "note": "Synthetic"], "flag"),
            (["participant": "P-A", "flag": "medical"], "note"),
            (["participant": "P-A", "flag": "medical", "note": "Synthetic", "reviewBy": 20250930], "reviewBy"),
            (["participant": "P-Z", "flag": "medical", "note": "Synthetic"], "participant"),
        ]
        for (data, field) in cases {
            let problems = try refusal([draft("FlagRaised", data)], log, recorder)
            #expect(problems.map(\.field) == [field], "\(data): \(problems)")
        }
    }
}

@Test func raisingAnActiveFlagAgainRenewsItWithTheNewNoteAndReviewDate() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "known-risk", note: "First note", reviewBy: "2025-06-30", id: ids[0])])
        _ = try recorder.submit([raise("P-A", "known-risk", note: "Renewed note", reviewBy: "2025-12-31", id: ids[1])])
        let flags = try activeFlags(log, "P-A")
        #expect(flags.count == 1)
        let flag = try #require(flags.first)
        #expect(flag.raised.event == ids[0])
        #expect(flag.current.event == ids[1])
        #expect(flag.isRenewed)
        #expect(flag.reviewBy?.text == "2025-12-31")
    }
}

@Test func anActiveFlagIsRemovedOnceAndThenCanBeRaisedAgain() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "no-photography"), raise("P-A", "medical", line: 2)])
        _ = try recorder.submit([remove("P-A", "no-photography")])
        #expect(try activeFlags(log, "P-A").map(\.flag) == ["medical"])
        let again = try refusal([remove("P-A", "no-photography")], log, recorder)
        #expect(again.map(\.field) == ["flag"])
        #expect(again.first?.reason.contains("no active flag 'no-photography'") == true, "\(again)")
        #expect(again.first?.reason.contains("active flags: medical") == true, "the error names what is active: \(again)")
        _ = try recorder.submit([raise("P-A", "no-photography")])
        #expect(try activeFlags(log, "P-A").map(\.flag) == ["medical", "no-photography"])
    }
}

@Test func removingAFlagThatWasNeverRaisedIsRefused() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "medical")])
        // On someone else, and under a different spelling.
        let other = try refusal([remove("P-B", "medical")], log, recorder)
        #expect(other.map(\.field) == ["flag"])
        #expect(other.first?.reason.contains("P-B has no active flags") == true, "\(other)")
        let spelling = try refusal([remove("P-A", "Medical")], log, recorder)
        #expect(spelling.map(\.field) == ["flag"])
    }
}

@Test func aFlagRaisedAndRemovedInOneSubmissionIsAcceptedButNotRemovedTwice() throws {
    try withLifecycleStore { log, recorder in
        let problems = try refusal([raise("P-A", "medical", line: 1), remove("P-A", "medical", line: 2), remove("P-A", "medical", line: 3)],
                                   log, recorder)
        #expect(problems.map(\.line) == [3])
        let outcome = try recorder.submit([raise("P-A", "medical", line: 1), remove("P-A", "medical", line: 2)])
        #expect(outcome.appended.count == 2)
        #expect(try activeFlags(log, "P-A").isEmpty)
    }
}

@Test func retractedRaisesAndRemovalsNeverCount() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "known-risk", id: ids[0])])
        _ = try recorder.submit([retract(ids[0])])
        #expect(try activeFlags(log, "P-A").isEmpty)
        #expect(try refusal([remove("P-A", "known-risk")], log, recorder).map(\.field) == ["flag"])
        // Raised again and removed; retracting the removal makes it active again.
        _ = try recorder.submit([raise("P-A", "known-risk", reviewBy: "2025-07-01", id: ids[1])])
        let removal = try recorder.submit([remove("P-A", "known-risk")])
        #expect(try activeFlags(log, "P-A").isEmpty)
        let removalID = try #require(removal.appended.first?.id)
        _ = try recorder.submit([retract(removalID)])
        let flags = try activeFlags(log, "P-A")
        #expect(flags.map(\.flag) == ["known-risk"])
        #expect(flags.first?.raised.event == ids[1])
        #expect(flags.first?.reviewBy?.text == "2025-07-01")
        _ = try recorder.submit([remove("P-A", "known-risk")])
        #expect(try activeFlags(log, "P-A").isEmpty)
    }
}

@Test func retractingARenewalPutsTheEarlierReviewDateBackInForce() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "medical", reviewBy: "2025-06-30", id: ids[0])])
        _ = try recorder.submit([raise("P-A", "medical", reviewBy: "2025-12-31", id: ids[1])])
        _ = try recorder.submit([retract(ids[1])])
        let flag = try #require(try activeFlags(log, "P-A").first)
        #expect(flag.current.event == ids[0])
        #expect(!flag.isRenewed)
        #expect(flag.reviewBy?.text == "2025-06-30")
    }
}

@Test func resubmittingAFlagWithItsIdChangesNothingEvenWithAnOffsetReviewTime() throws {
    try withLifecycleStore { log, recorder in
        let first = raise("P-A", "medical", reviewBy: "2025-09-30T18:00:00+01:00", id: ids[0])
        _ = try recorder.submit([first])
        let head = try log.head()
        let again = try recorder.submit([first])
        #expect(again.appended.isEmpty)
        #expect(again.alreadyPresent == 1)
        #expect(try log.head() == head)
    }
}

// MARK: - The attendance warning

@Test func attendancesOfFlaggedPeopleCarryTheirFlagNamesOnly() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([raise("P-A", "no-photography", note: "Secret synthetic note"), raise("P-A", "known-risk", line: 2),
                                 raise("P-B", "medical", line: 3)])
        _ = try recorder.submit([remove("P-B", "medical")])
        _ = try recorder.submit([draft("SessionHeld", ["session": "S-2", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 2])])
        let attendances = [draft("AttendanceRecorded", ["participant": "P-A", "session": "S-2"], line: 1),
                           draft("AttendanceRecorded", ["participant": "P-B", "session": "S-2"], line: 2)]
        let dry = try recorder.submit(attendances, dryRun: true)
        #expect(dry.attendeeFlags.map(\.participant) == ["P-A"])
        let outcome = try recorder.submit(attendances)
        #expect(outcome.appended.count == 2)
        #expect(outcome.attendeeFlags.count == 1)
        #expect(outcome.attendeeFlags.first?.participant == "P-A")
        #expect(outcome.attendeeFlags.first?.flags == ["known-risk", "no-photography"])
        // Anything but an attendance carries no warning.
        let other = try recorder.submit([draft("SignpostGiven", ["participant": "P-A", "service": "Synthetic advice", "category": "housing"])])
        #expect(other.attendeeFlags.isEmpty)
    }
}

@Test func aFlagRaisedInTheSameSubmissionAsTheAttendanceIsWarnedAbout() throws {
    try withLifecycleStore { _, recorder in
        _ = try recorder.submit([draft("SessionHeld", ["session": "S-2", "hub": "woking", "region": "surrey", "programme": "woking-2025-1", "week": 2])])
        let outcome = try recorder.submit([raise("P-B", "medical", line: 1), draft("AttendanceRecorded", ["participant": "P-B", "session": "S-2"], line: 2)])
        #expect(outcome.attendeeFlags.map(\.flags) == [["medical"]])
    }
}

// MARK: - Referral acceptance

@Test func aReceivedReferralIsAcceptedOnItsOwnStream() throws {
    try withLifecycleStore { log, recorder in
        let outcome = try recorder.submit([draft("ReferralAccepted", ["referral": "R-1"])])
        let appended = try #require(outcome.appended.first)
        let stored = try #require(try log.event(at: appended.position))
        #expect(stored.stream.name == "referral-R-1")
        #expect(stored.data == ["referral": "R-1"])
    }
}

@Test func aReferralIsAcceptedEvenAfterItsFirstAttendance() throws {
    try withLifecycleStore { _, recorder in
        let outcome = try recorder.submit([draft("ReferralAccepted", ["referral": "R-4"])])
        #expect(outcome.appended.count == 1)
    }
}

@Test(arguments: [
    ("R-2", "was declined"), ("R-3", "is closed"), ("R-9", "unknown referral R-9"),
])
func aDeclinedClosedOrUnknownReferralCannotBeAccepted(_ referral: String, _ reason: String) throws {
    try withLifecycleStore { log, recorder in
        let problems = try refusal([draft("ReferralAccepted", ["referral": .string(referral)])], log, recorder)
        #expect(problems.map(\.field) == ["referral"])
        #expect(problems.first?.reason.contains(reason) == true, "\(problems)")
    }
}

@Test func aReferralIsAcceptedOnceUnlessTheAcceptanceIsRetracted() throws {
    try withLifecycleStore { log, recorder in
        let first = try recorder.submit([draft("ReferralAccepted", ["referral": "R-1"])])
        let again = try refusal([draft("ReferralAccepted", ["referral": "R-1"])], log, recorder)
        #expect(again.map(\.field) == ["referral"])
        #expect(again.first?.reason.contains("already accepted") == true, "\(again)")
        // Twice in one file is refused on the second line.
        let twice = try refusal([draft("ReferralAccepted", ["referral": "R-4"], line: 1), draft("ReferralAccepted", ["referral": "R-4"], line: 2)],
                                log, recorder)
        #expect(twice.map(\.line) == [2])
        let firstID = try #require(first.appended.first?.id)
        _ = try recorder.submit([retract(firstID)])
        #expect(try recorder.submit([draft("ReferralAccepted", ["referral": "R-1"])]).appended.count == 1)
    }
}

@Test func retractingADeclineLetsTheReferralBeAccepted() throws {
    try withLifecycleStore { log, recorder in
        let decline = try #require(try log.events().first { $0.type == "ReferralDeclined" })
        _ = try recorder.submit([retract(decline.id)])
        #expect(try recorder.submit([draft("ReferralAccepted", ["referral": "R-2"])]).appended.count == 1)
    }
}

@Test func anAcceptedReferralMayStillBeDeclinedLater() throws {
    try withLifecycleStore { _, recorder in
        _ = try recorder.submit([draft("ReferralAccepted", ["referral": "R-1"])])
        let outcome = try recorder.submit([draft("ReferralDeclined", ["referral": "R-1", "reason": "Changed their mind (synthetic)"], at: "2025-05-25T10:00:00Z")])
        #expect(outcome.appended.count == 1)
    }
}

// A step that an earlier live step rules out: a referral declined twice or once closed, a concern
// closed twice or escalated once closed. Each is accepted again once the step in the way is retracted.
@Test(arguments: [
    ("ReferralDeclined", "R-2", "already declined"), ("ReferralDeclined", "R-3", "is closed and cannot be declined"),
    ("ReferralClosed", "R-3", "already closed"),
    ("ConcernClosed", "C-1", "already closed"), ("ConcernEscalated", "C-1", "is closed and cannot be escalated"),
])
func aStepRuledOutByAnEarlierOneIsRefusedUntilThatOneIsRetracted(_ type: String, _ subject: String, _ reason: String) throws {
    try withLifecycleStore { log, recorder in
        let raised = try recorder.submit([draft("ConcernRaised", ["concern": "C-1", "participant": "P-B", "category": "neglect", "severity": "high",
                                                                  "account": "Synthetic account.", "actionTaken": "Told the DSL.", "dslInformed": true],
                                                at: "2025-05-04T09:00:00Z"),
                                          draft("ConcernClosed", ["concern": "C-1", "outcome": "Resolved (synthetic)"], at: "2025-05-05T09:00:00Z", line: 2)])
        let data: JSONObject = switch type {
        case "ReferralDeclined": ["referral": .string(subject), "reason": "Again (synthetic)"]
        case "ReferralClosed": ["referral": .string(subject), "reason": "completed"]
        case "ConcernClosed": ["concern": .string(subject), "outcome": "Again (synthetic)"]
        default: ["concern": .string(subject), "to": "police"]
        }
        let problems = try refusal([draft(type, data)], log, recorder)
        #expect(problems.map(\.field) == [subject.hasPrefix("R") ? "referral" : "concern"], "\(problems)")
        #expect(problems.first?.reason.contains(reason) == true, "\(problems)")
        // The step in the way retracted, the refused one is accepted.
        let blocking = subject.hasPrefix("C") ? raised.appended[1].id
            : try #require(try log.events().last { $0.data["referral"] == .string(subject) && $0.type != "ReferralReceived" }?.id)
        _ = try recorder.submit([retract(blocking)])
        #expect(try recorder.submit([draft(type, data)]).appended.count == 1)
    }
}

@Test func aDeclinedReferralMayBeClosedButAClosedOneNotDeclined() throws {
    try withLifecycleStore { log, recorder in
        // R-2 was declined: closing it is an administrative end, accepted.
        #expect(try recorder.submit([draft("ReferralClosed", ["referral": "R-2", "reason": "inappropriate"])]).appended.count == 1)
        let problems = try refusal([draft("ReferralDeclined", ["referral": "R-3", "reason": "Too late (synthetic)"])], log, recorder)
        #expect(problems.map(\.field) == ["referral"])
    }
}

@Test func aFlagRemovalDatedBeforeItsRaiseOrRenewalIsRefused() throws {
    try withLifecycleStore { log, recorder in
        _ = try recorder.submit([draft("FlagRaised", ["participant": "P-A", "flag": "known-risk", "note": "Synthetic note"], at: "2025-05-10T09:00:00Z")])
        let early = draft("FlagRemoved", ["participant": "P-A", "flag": "known-risk", "reason": "Resolved (synthetic)"], at: "2025-05-09T09:00:00Z")
        let problems = try refusal([early], log, recorder)
        #expect(problems.map(\.field) == ["occurredAt"], "\(problems)")
        #expect(problems.first?.reason.contains("before flag 'known-risk' on P-A was raised") == true, "\(problems)")
        // A renewal moves the earliest a removal may be dated.
        _ = try recorder.submit([draft("FlagRaised", ["participant": "P-A", "flag": "known-risk", "note": "Renewed (synthetic)"], at: "2025-05-15T09:00:00Z")])
        let betweenThem = draft("FlagRemoved", ["participant": "P-A", "flag": "known-risk", "reason": "Resolved (synthetic)"], at: "2025-05-12T09:00:00Z")
        #expect(try refusal([betweenThem], log, recorder).first?.reason.contains("was renewed") == true)
        // At the very instant of the renewal, or after it, the removal stands.
        let atRenewal = draft("FlagRemoved", ["participant": "P-A", "flag": "known-risk", "reason": "Resolved (synthetic)"], at: "2025-05-15T09:00:00Z")
        #expect(try recorder.submit([atRenewal]).appended.count == 1)
    }
}
