import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// Flags in the safeguarding review and in the chronology, against a hand-built log worked out
// by hand. Only synthetic people.

// MARK: - A log with flags

private func flagRaised(_ p: String, _ flag: String, _ at: String, note: String, reviewBy: String? = nil, id: UUID? = nil) -> EventDraft {
    var data: JSONObject = ["participant": .string(p), "flag": .string(flag), "note": .string(note)]
    if let reviewBy { data["reviewBy"] = .string(reviewBy) }
    return hbDraft(.flagRaised, at, data, id: id)
}

private func flagRemoved(_ p: String, _ flag: String, _ at: String, id: UUID? = nil) -> EventDraft {
    hbDraft(.flagRemoved, at, ["participant": .string(p), "flag": .string(flag), "reason": "No longer needed (synthetic)"], id: id)
}

/// P-1: no-photography (review by 31 Mar) and known-risk (removed 15 Feb). P-2: medical, review by
/// 28 Feb, renewed on 20 Feb to 30 Jun. P-3: contact-restriction raised on 1 Mar, retracted on 5 Mar.
func recordFlagStory(_ h: HandLog) throws {
    try h.record(at: "2025-01-01T09:30:00Z", (1...3).map { hbRegistered("P-\($0)", "adult", "2025-01-01T09:00:00Z") })
    try h.record(at: "2025-01-10T12:00:00Z", [
        flagRaised("P-1", "no-photography", "2025-01-10T10:00:00Z", note: "Court order (synthetic)", reviewBy: "2025-03-31", id: hbID(701)),
        flagRaised("P-1", "known-risk", "2025-01-10T10:01:00Z", note: "Risk note (synthetic)", id: hbID(702)),
        flagRaised("P-2", "medical", "2025-01-10T10:02:00Z", note: "First medical note (synthetic)", reviewBy: "2025-02-28", id: hbID(703)),
    ])
    try h.record(at: "2025-02-15T12:00:00Z", [flagRemoved("P-1", "known-risk", "2025-02-15T10:00:00Z", id: hbID(704))])
    try h.record(at: "2025-02-20T12:00:00Z", [
        flagRaised("P-2", "medical", "2025-02-20T10:00:00Z", note: "Renewed medical note (synthetic)", reviewBy: "2025-06-30", id: hbID(705)),
    ])
    try h.record(at: "2025-03-01T12:00:00Z", [
        flagRaised("P-3", "contact-restriction", "2025-03-01T10:00:00Z", note: "Wrong person (synthetic)", reviewBy: "2025-03-15", id: hbID(706)),
    ])
    try h.record(at: "2025-03-05T12:00:00Z", [hbRetracted(hbID(706), "2025-03-05T10:00:00Z", reason: "Raised on the wrong participant")])
}

private struct FlagRowValue: Equatable, CustomStringConvertible {
    var participant: String, flag: String, raisedAt: String, reviewBy: String?, overdue: Bool
    var description: String { "\(participant)/\(flag) raised \(raisedAt) review \(reviewBy ?? "-")\(overdue ? " OVERDUE" : "")" }
}

private func rows(_ review: SafeguardingReview) -> [FlagRowValue] {
    review.activeFlags.map { FlagRowValue(participant: $0.participant, flag: $0.flag, raisedAt: $0.raisedAt.rfc3339,
                                          reviewBy: $0.reviewBy?.text, overdue: $0.reviewOverdue) }
}

@Test func theReviewListsActiveFlagsWithRenewalsRemovalsAndRetractionsWorkedOutByHand() throws {
    try withHandLog { h in
        try recordFlagStory(h)
        let review = try h.runner.run(ReviewProjection.self).model.review(now: hbTime("2025-04-15T00:00:00Z"), reading: h.runner.streamReader)
        #expect(rows(review) == [
            FlagRowValue(participant: "P-1", flag: "no-photography", raisedAt: "2025-01-10T10:00:00Z", reviewBy: "2025-03-31", overdue: true),
            // Renewed: raised at the first raise, reviewed by the renewal's date.
            FlagRowValue(participant: "P-2", flag: "medical", raisedAt: "2025-01-10T10:02:00Z", reviewBy: "2025-06-30", overdue: false),
        ])
        let json = review.json(head: nil).objectValue
        #expect(json?.keys.prefix(2) == ["head", "activeFlags"], "flags come first")
        let first = json?["activeFlags"]?.arrayValue?.first?.objectValue
        #expect(first?["reviewOverdue"] == .bool(true))
        #expect(first?["reviewBy"] == "2025-03-31")
        // Without a review date there is no reviewBy key at all.
        let early = try h.runner.run(ReviewProjection.self, limit: ReadLimit("2025-02-01")).model.review(now: hbTime("2025-02-10T00:00:00Z"), reading: h.runner.streamReader)
        #expect(rows(early) == [
            FlagRowValue(participant: "P-1", flag: "known-risk", raisedAt: "2025-01-10T10:01:00Z", reviewBy: nil, overdue: false),
            FlagRowValue(participant: "P-1", flag: "no-photography", raisedAt: "2025-01-10T10:00:00Z", reviewBy: "2025-03-31", overdue: false),
            FlagRowValue(participant: "P-2", flag: "medical", raisedAt: "2025-01-10T10:02:00Z", reviewBy: "2025-02-28", overdue: false),
        ])
        #expect(early.json(head: nil).objectValue?["activeFlags"]?.arrayValue?.first?.objectValue?["reviewBy"] == nil)
        // P-3's flag counted only until it was retracted.
        let beforeRetraction = try h.runner.run(ReviewProjection.self, limit: ReadLimit("2025-03-02")).model.review(now: hbTime("2025-03-02T00:00:00Z"), reading: h.runner.streamReader)
        #expect(rows(beforeRetraction).map(\.participant) == ["P-1", "P-2", "P-3"])
    }
}

@Test func theChronologyShowsTheFlagsActiveInItsOwnEntriesWithTheNoteInForce() throws {
    try withHandLog { h in
        try recordFlagStory(h)
        let p2 = FlagSummary.active(in: try hbChronology(h, "P-2"))
        #expect(p2.count == 1)
        let medical = try #require(p2.first)
        #expect(medical.flag == "medical")
        #expect(medical.raisedAt == hbTime("2025-01-10T10:02:00Z"))
        #expect(medical.raisedBy == "tester")
        #expect(medical.renewedAt == hbTime("2025-02-20T10:00:00Z"))
        #expect(medical.reviewBy?.text == "2025-06-30")
        #expect(medical.note == "Renewed medical note (synthetic)")
        let json = medical.json.objectValue
        #expect(json?.keys == ["flag", "raisedAt", "raisedBy", "renewedAt", "renewedBy", "reviewBy", "note"])
        #expect(FlagSummary.active(in: try hbChronology(h, "P-1")).map(\.flag) == ["no-photography"])
        #expect(FlagSummary.active(in: try hbChronology(h, "P-1")).first?.note == "Court order (synthetic)")
        #expect(FlagSummary.active(in: try hbChronology(h, "P-3")).isEmpty, "a retracted raise never counts")
        // As the log stood on 1 February: both of P-1's flags, and P-2's first note.
        #expect(FlagSummary.active(in: try hbChronology(h, "P-1", limit: ReadLimit("2025-02-01"))).map(\.flag) == ["known-risk", "no-photography"])
        let earlyP2 = FlagSummary.active(in: try hbChronology(h, "P-2", limit: ReadLimit("2025-02-01")))
        #expect(earlyP2.first?.note == "First medical note (synthetic)")
        #expect(earlyP2.first?.renewedAt == nil)
    }
}

@Test func theFlagsSurviveACheckpointByteForByte() throws {
    try withHandLog { h in
        try recordFlagStory(h)
        let model = try h.runner.run(ReviewProjection.self).model
        let decoded = try roundTripped(model)
        #expect(try decoded.review(now: hbTime("2025-04-15T00:00:00Z"), reading: h.runner.streamReader).activeFlags.map(\.flag) == ["no-photography", "medical"])
    }
}
