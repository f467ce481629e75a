import EventStore
import Foundation
import HubDomain
import Testing

// The one fold that says which flags are active, and the review date's deadline, as pure values.

private func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }
private func flagID(_ n: Int) -> UUID { UUID(uuidString: "e0000000-0000-4000-8000-" + String(format: "%012d", n))! }

@Test func aReviewDayIsOnTimeUntilTheEndOfThatDay() throws {
    let date = try #require(ReviewDate("2025-09-30"))
    #expect(date.text == "2025-09-30")
    #expect(!date.isOverdue(at: at("2025-09-30T23:59:59.999999Z")))
    #expect(date.isOverdue(at: at("2025-10-01T00:00:00Z")))
}

@Test func aReviewTimeIsOverdueTheMomentAfterIt() throws {
    let date = try #require(ReviewDate("2025-09-30T18:00:00+01:00"))
    #expect(date.text == "2025-09-30T17:00:00Z")
    #expect(!date.isOverdue(at: at("2025-09-30T17:00:00Z")))
    #expect(date.isOverdue(at: at("2025-09-30T17:00:00.000001Z")))
}

@Test(arguments: ["", "tomorrow", "2025-02-29", "2025-13-01", "2025-9-30", "2025-09-30T17:00:00"])
func aReviewDateThatIsNotADateIsNil(_ text: String) {
    #expect(ReviewDate(text) == nil)
}

@Test func theFoldFollowsRaisesRenewalsRemovalsAndRetractionsInLogOrder() {
    var fold = ActiveFlags()
    func raise(_ n: Int, _ flag: String, _ reviewBy: String? = nil, on p: String = "P-1") {
        fold.apply(.flagRaised(participant: p, flag: flag, reviewBy: reviewBy.flatMap(ReviewDate.init)), id: flagID(n), position: Int64(n),
                   occurredAt: at("2025-01-0\(n % 9 + 1)T10:00:00Z"), actor: "dsl-\(n)")
    }
    func remove(_ n: Int, _ flag: String, on p: String = "P-1") {
        fold.apply(.flagRemoved(participant: p, flag: flag), id: flagID(n), position: Int64(n), occurredAt: at("2025-02-01T10:00:00Z"), actor: "dsl")
    }
    raise(1, "medical", "2025-03-01")
    raise(2, "known-risk", on: "P-2")
    raise(3, "medical", "2025-06-01")                 // a renewal
    #expect(fold.active(on: "P-1").map(\.flag) == ["medical"])
    #expect(fold.active(on: "P-1").first?.raised.event == flagID(1))
    #expect(fold.active(on: "P-1").first?.current.actor == "dsl-3")
    #expect(fold.active(on: "P-1").first?.reviewBy?.text == "2025-06-01")
    #expect(fold.all.map(\.participant) == ["P-1", "P-2"])
    remove(4, "medical")
    #expect(fold.active(on: "P-1").isEmpty)
    #expect(!fold.isActive("medical", on: "P-1"))
    // Retracting the removal brings back the flag as renewed; retracting both raises leaves nothing.
    fold.apply(.eventRetracted(event: flagID(4)), id: flagID(5), position: 5, occurredAt: at("2025-02-02T10:00:00Z"), actor: "dsl")
    #expect(fold.active(on: "P-1").first?.current.event == flagID(3))
    fold.apply(.eventRetracted(event: flagID(3)), id: flagID(6), position: 6, occurredAt: at("2025-02-02T10:00:00Z"), actor: "dsl")
    #expect(fold.active(on: "P-1").first?.reviewBy?.text == "2025-03-01")
    fold.apply(.eventRetracted(event: flagID(1)), id: flagID(7), position: 7, occurredAt: at("2025-02-02T10:00:00Z"), actor: "dsl")
    #expect(fold.active(on: "P-1").isEmpty)
    #expect(fold.isActive("known-risk", on: "P-2"))
    // A retraction of something that is not a flag event changes nothing; the marks restore the same fold.
    fold.apply(.eventRetracted(event: flagID(99)), id: flagID(8), position: 8, occurredAt: at("2025-02-02T10:00:00Z"), actor: "dsl")
    #expect(ActiveFlags(marks: fold.marks).all == fold.all)
}

@Test func aFlagWithoutAReviewDateIsNeverOverdue() throws {
    var fold = ActiveFlags()
    fold.apply(.flagRaised(participant: "P-1", flag: "medical", reviewBy: nil), id: flagID(1), position: 0,
               occurredAt: at("2025-01-01T10:00:00Z"), actor: "dsl")
    let flag = try #require(fold.active(on: "P-1").first)
    #expect(!flag.isReviewOverdue(at: at("2099-01-01T00:00:00Z")))
}
