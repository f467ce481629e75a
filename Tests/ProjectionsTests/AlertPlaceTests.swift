import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// Every alert carries the hub and region where its participant belongs now (`Locations`).

@Test func anAlertCarriesWhereItsParticipantIsNowAfterAMoveAndItsRetraction() throws {
    try withHandLog { h in
        try h.record(at: "2025-01-01T10:00:00Z", [
            hbRegistered("P-1", "adult", "2025-01-01T09:00:00Z"),
            hbRegistered("P-2", "adult", "2025-01-01T09:00:00Z"),
            hbReferred("R-1", "P-1", "2025-01-01T09:30:00Z"),
            hbReferred("R-2", "P-2", "2025-01-01T09:30:00Z"),
            hbRegistered("P-3", "adult", "2025-01-01T09:00:00Z", id: hbID(3)),
            hbReferred("R-3", "P-3", "2025-01-01T09:30:00Z"),
        ])
        try h.record(at: "2025-01-05T10:00:00Z", [
            hbMoved("P-1", "2025-01-05T09:00:00Z", hub: "hackney", region: "london", id: hbID(1)),
        ])
        func due() throws -> [String: [String?]] {
            let result = try h.runner.runAll([AlertProjection.self, ReferralProjection.self, ReviewProjection.self, LocationProjection.self],
                                             useCheckpoint: false)
            let alerts = try #require(result.models[0] as? AlertProjection)
            let referrals = try #require(result.models[1] as? ReferralProjection)
            let review = try #require(result.models[2] as? ReviewProjection)
            let locations = try #require(result.models[3] as? LocationProjection).locations
            var out: [String: [String?]] = [:]
            for a in try alerts.due(now: hbTime("2025-01-20T00:00:00Z"), policy: AlertPolicy(), referrals: referrals, review: review,
                                    locations: locations, reading: h.runner.streamReader)
            where a.level == .warning {
                out[a.subject] = [a.hub, a.region]
                #expect(a.json["hub"] == a.hub.map { JSONValue.string($0) } ?? .null)
                // The keys follow the participant, and are there even when nothing places them.
                #expect(Array(a.json.keys.prefix(6)) == ["id", "kind", "level", "participant", "hub", "region"])
            }
            return out
        }
        // R-1 was received in Woking, but P-1 has moved: the alert goes where P-1 is now.
        #expect(try due() == ["R-1": ["hackney", "london"], "R-2": ["woking", "surrey"], "R-3": ["woking", "surrey"]])
        // Retracting the move puts P-1 back; retracting P-3's only registration leaves P-3 nowhere (null).
        try h.record(at: "2025-01-06T10:00:00Z", [
            hbRetracted(hbID(1), "2025-01-06T09:00:00Z", reason: "Moved in error"),
            hbRetracted(hbID(3), "2025-01-06T09:00:00Z", reason: "Registered in error"),
        ])
        #expect(try due() == ["R-1": ["woking", "surrey"], "R-2": ["woking", "surrey"], "R-3": [nil, nil]])
    }
}
