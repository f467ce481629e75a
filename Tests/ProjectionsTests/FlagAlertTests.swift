import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// flag-review-due as the alert rules decide it, on the hand-built log of FlagProjectionTests.

@Test func aFlagReviewIsDueOncePerParticipantFlagAndReviewDate() throws {
    try withHandLog { h in
        try recordFlagStory(h)
        func due(_ limit: String?, now: String) throws -> [Alert] {
            let limit = limit.flatMap(ReadLimit.init)
            let result = try h.runner.runAll([AlertProjection.self, ReferralProjection.self, ReviewProjection.self, LocationProjection.self],
                                             limit: limit, useCheckpoint: false)
            let alerts = try #require(result.models[0] as? AlertProjection)
            let referrals = try #require(result.models[1] as? ReferralProjection)
            let review = try #require(result.models[2] as? ReviewProjection)
            let locations = try #require(result.models[3] as? LocationProjection).locations
            return try alerts.due(now: hbTime(now), policy: AlertPolicy(), referrals: referrals, review: review, locations: locations,
                                  reading: h.runner.streamReader)
                .filter { $0.kind == .flagReviewDue }
        }
        // Before the renewal, P-2's review of 28 Feb was overdue on 1 March.
        let before = try due("2025-02-16", now: "2025-03-01T00:00:00Z")
        #expect(before.map { "\($0.participant)/\($0.flag ?? "")/\($0.reviewBy ?? "")" } == ["P-2/medical/2025-02-28"])
        #expect(before.first?.position == 5, "the position of the raise in force")
        // After it, the renewal's date is in force: only P-1's review of 31 March is overdue on 15 April.
        let now = try due(nil, now: "2025-04-15T00:00:00Z")
        #expect(now.map(\.participant) == ["P-1"])
        #expect(now.first?.reviewBy == "2025-03-31")
        #expect(now.first?.level == .warning)
        let later = try due(nil, now: "2025-07-01T00:00:00Z")
        #expect(later.map(\.subject) == ["P-1/no-photography/2025-03-31", "P-2/medical/2025-06-30"])
        // The renewal is a new subject, so a new alert; the same date is the same alert (one id).
        #expect(Set(later.map(\.key)).isDisjoint(with: before.map(\.key)))
        #expect(later.first?.id == now.first?.id)
        #expect(later.first?.json["flag"] == "no-photography")
        #expect(later.first?.json.keys.contains("note") == false)
        // Every alert says where its participant is now.
        #expect(later.first?.json["hub"] == "woking")
        #expect(later.first?.json["region"] == "surrey")
    }
}
