import EventStore
import Foundation
import HubDomain
import Projections
import Testing

// The audit limited to hubs and regions (`AuditFilter`), on a hand-built log with two hubs in two
// regions (Woking, Surrey; Hackney, London) and a third hub in Surrey (Guildford). Every number
// below is worked out by hand from the story. Only synthetic people.

private func registered(_ p: String, _ hub: String, _ region: String) -> EventDraft {
    hbRegistered(p, "adult", "2024-12-20T09:00:00Z", hub: hub, region: region)
}

private func held(_ s: String, _ hub: String, _ region: String, _ programme: String, week: Int64, _ at: String) -> EventDraft {
    hbHeld(s, at, programme: programme, week: week, hub: hub, region: region)
}

private let movedToWoking = hbID(901)

/// P-1 Woking; P-2 Hackney; P-3 Woking, referred there, then moves to Hackney and is signposted and raises a
/// concern there; P-4 Hackney, moves to Woking, is referred, and the move is retracted (so the referral is
/// Hackney's); P-5 Guildford. Sessions: programme W at Woking (weeks 1, 2), H at Hackney (weeks 1, 2), G at Guildford.
private let twoRegionStory: [(recordedAt: String, drafts: [EventDraft])] = [
    ("2025-01-02T12:00:00Z", [
        registered("P-1", "woking", "surrey"), registered("P-2", "hackney", "london"), registered("P-3", "woking", "surrey"),
        registered("P-4", "hackney", "london"), registered("P-5", "guildford", "surrey"),
        hbReferred("R-1", "P-1", "2025-01-01T10:00:00Z", source: "gp"),
        hbReferred("R-2", "P-2", "2024-12-30T10:00:00Z", source: "school"),
        hbReferred("R-3", "P-3", "2025-01-02T10:00:00Z", source: "self"),
    ]),
    ("2025-01-06T13:00:00Z", [
        held("SW1", "woking", "surrey", "W", week: 1, "2025-01-06T10:00:00Z"),
        held("SH1", "hackney", "london", "H", week: 1, "2025-01-06T10:00:00Z"),
        held("SG1", "guildford", "surrey", "G", week: 1, "2025-01-06T10:00:00Z"),
        hbAttended("P-1", "SW1", "2025-01-06T10:05:00Z"), hbAttended("P-3", "SW1", "2025-01-06T10:05:00Z"),
        hbAttended("P-2", "SH1", "2025-01-06T10:05:00Z"), hbAttended("P-4", "SH1", "2025-01-06T10:05:00Z"),
        hbAttended("P-5", "SG1", "2025-01-06T10:05:00Z"),
        hbSurveyed("P-1", "SW1", "2025-01-06T11:30:00Z", happier: true, connected: false),
        hbSurveyed("P-3", "SW1", "2025-01-06T11:30:00Z", happier: false, connected: true),
        hbSurveyed("P-2", "SH1", "2025-01-06T11:30:00Z", happier: true, connected: true),
        hbSurveyed("P-5", "SG1", "2025-01-06T11:30:00Z", happier: true, connected: false),
        hbSignposted("P-1", "2025-01-06T12:00:00Z", category: "health"),
    ]),
    ("2025-01-08T13:00:00Z", [
        hbMoved("P-3", "2025-01-08T09:00:00Z", hub: "hackney", region: "london"),
        hbMoved("P-4", "2025-01-08T09:00:00Z", hub: "woking", region: "surrey", id: movedToWoking),
        hbSignposted("P-3", "2025-01-08T10:00:00Z", category: "housing"),
        hbReferred("R-4", "P-4", "2025-01-08T11:00:00Z", source: "gp"),
        hbRaised("C-1", "P-3", "2025-01-08T12:00:00Z", severity: "high", category: "emotional"),
        hbRaised("C-2", "P-5", "2025-01-08T12:00:00Z", severity: "low", category: "financial"),
    ]),
    ("2025-01-13T12:00:00Z", [
        held("SW2", "woking", "surrey", "W", week: 2, "2025-01-13T10:00:00Z"),
        held("SH2", "hackney", "london", "H", week: 2, "2025-01-13T10:00:00Z"),
        hbAttended("P-1", "SW2", "2025-01-13T10:05:00Z"),
        hbAttended("P-2", "SH2", "2025-01-13T10:05:00Z"), hbAttended("P-4", "SH2", "2025-01-13T10:05:00Z"),
        hbAttended("P-3", "SH2", "2025-01-13T10:05:00Z"),
        hbSurveyed("P-4", "SH2", "2025-01-13T11:30:00Z", happier: true, connected: true),
    ]),
    ("2025-01-14T12:00:00Z", [
        hbRetracted(movedToWoking, "2025-01-14T09:00:00Z", reason: "Moved in error"),
        hbSignposted("P-4", "2025-01-14T10:00:00Z", category: "financial"),
    ]),
]

/// Records the story's submissions `batches` (1…5), each at its own recording time.
private func recordTwoRegionStory(_ h: HandLog, _ batches: ClosedRange<Int> = 1...5) throws {
    for (i, batch) in twoRegionStory.enumerated() where batches.contains(i + 1) { try h.record(at: batch.recordedAt, batch.drafts) }
}

/// The numbers an audit gives, by figure name (counts as Int, rates as numerator / denominator).
private struct Numbers: Equatable, CustomStringConvertible {
    var counts: [String: Int] = [:]
    var rates: [String: [Int]] = [:]
    var median: Double?
    var breakdowns: [String: [String: Int]] = [:]

    init(_ figures: [AuditFigure]) {
        for f in figures {
            if let n = f.numerator, let d = f.denominator { rates[f.name] = [n, d] }
            else if f.name == "medianDaysToFirstAttendance" { median = f.numericValue }
            else if let v = f.value.intValue { counts[f.name] = Int(v) }
            for (key, table) in f.breakdowns { breakdowns[f.name + "." + key] = table }
        }
    }

    init(counts: [String: Int], rates: [String: [Int]], median: Double?, breakdowns: [String: [String: Int]]) {
        self.counts = counts; self.rates = rates; self.median = median; self.breakdowns = breakdowns
    }

    var description: String { "counts \(counts.sorted { $0.key < $1.key }), rates \(rates.sorted { $0.key < $1.key }), median \(median.map { "\($0)" } ?? "nil"), \(breakdowns.sorted { $0.key < $1.key })" }
}

private func numbers(_ h: HandLog, _ filter: AuditFilter, limit: ReadLimit? = nil) throws -> Numbers {
    Numbers(try h.runner.run(AuditProjection.self, limit: limit).figures(h.runner, filter: filter))
}

private func expectClose(_ a: Double?, _ b: Double, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(abs((a ?? .nan) - b) < 1e-12, "\(a.map { "\($0)" } ?? "nil") ≠ \(b)", sourceLocation: sourceLocation)
}

@Test func withoutAFilterTheAuditCountsEveryHub() throws {
    try withHandLog { h in
        try recordTwoRegionStory(h)
        let all = try numbers(h, AuditFilter())
        // Sessions SW1 SW2 SH1 SH2 SG1; attendances 2 + 1 + 2 + 3 + 1; surveys: happier P-1 P-2 P-5 P-4, connected P-3 P-2 P-4.
        #expect(all.counts == ["sessions": 5, "participants": 5, "attendances": 9, "referrals": 4, "signposts": 3, "concerns": 2])
        // Weekly return: W {P-1, P-3} → {P-1} is 1 of 2; H {P-2, P-4} → {P-2, P-4, P-3} is 2 of 2.
        #expect(all.rates == ["happierRate": [4, 5], "connectedRate": [3, 5], "surveyResponseRate": [5, 9], "weeklyReturnRate": [3, 4]])
        #expect(all.breakdowns["sessions.byRegion"] == ["surrey": 3, "london": 2])
        // Days to first attendance: R-1 5 (SW1), R-2 7 (SH1), R-3 4 (SW1), R-4 4 d 23 h (SH2); the median of four.
        expectClose(all.median, (119.0 / 24 + 5) / 2)
        // An empty filter is no filter: the definitions are unchanged too.
        let model = try h.runner.run(AuditProjection.self)
        #expect(try model.figures(h.runner).map(\.definition) == model.figures(h.runner, filter: AuditFilter()).map(\.definition))
    }
}

@Test func aRegionFilterCountsSessionsWhereHeldAndOtherEventsWhereTheParticipantWasThen() throws {
    try withHandLog { h in
        try recordTwoRegionStory(h)
        let london = try numbers(h, AuditFilter(regions: [.london]))
        // SH1 (P-2, P-4) and SH2 (P-2, P-4, P-3). Referrals: R-2 (P-2) and R-4 (P-4, whose move to Woking was
        // retracted), not R-3: P-3 was still in Woking when referred. Signposts: P-3's (after the move) and P-4's;
        // concerns: C-1 (P-3, after the move).
        #expect(london.counts == ["sessions": 2, "participants": 3, "attendances": 5, "referrals": 2, "signposts": 2, "concerns": 1])
        #expect(london.rates == ["happierRate": [2, 2], "connectedRate": [2, 2], "surveyResponseRate": [2, 5], "weeklyReturnRate": [2, 2]])
        #expect(london.breakdowns["sessions.byRegion"] == ["london": 2])
        #expect(london.breakdowns["referrals.bySource"] == ["school": 1, "gp": 1])
        #expect(london.breakdowns["signposts.byCategory"] == ["housing": 1, "financial": 1])
        #expect(london.breakdowns["concerns.byCategory"] == ["emotional": 1])
        expectClose(london.median, (7 + 119.0 / 24) / 2)
    }
}

@Test func aHubFilterCountsAReferralWhereItsParticipantWasAndIgnoresARetractedMove() throws {
    try withHandLog { h in
        try recordTwoRegionStory(h)
        let woking = try numbers(h, AuditFilter(hubs: ["woking"]))
        // SW1 (P-1, P-3), SW2 (P-1). R-1 and R-3 (P-3 moved away only later); R-4 is not Woking's, the move was retracted.
        // P-1's signpost; no concern (C-2 is Guildford's).
        #expect(woking.counts == ["sessions": 2, "participants": 2, "attendances": 3, "referrals": 2, "signposts": 1, "concerns": 0])
        #expect(woking.rates == ["happierRate": [1, 2], "connectedRate": [1, 2], "surveyResponseRate": [2, 3], "weeklyReturnRate": [1, 2]])
        #expect(woking.breakdowns["referrals.bySource"] == ["gp": 1, "self": 1])
        expectClose(woking.median, 4.5)
        // As the log stood before the retraction, R-4 was Woking's.
        let before = try numbers(h, AuditFilter(hubs: ["woking"]), limit: ReadLimit("2025-01-13T23:00:00Z"))
        #expect(before.counts["referrals"] == 3)
        #expect(before.breakdowns["referrals.bySource"] == ["gp": 2, "self": 1])
    }
}

@Test func hubsAndRegionsTogetherCountWhatMatchesAnyOfThem() throws {
    try withHandLog { h in
        try recordTwoRegionStory(h)
        let either = try numbers(h, AuditFilter(hubs: ["guildford"], regions: [.london]))
        // London's SH1, SH2 and Guildford's SG1; attendances 5 + 1; participants P-2, P-3, P-4, P-5.
        // Referrals R-2, R-4 (none in Guildford); signposts P-3's, P-4's; concerns C-1 (London), C-2 (Guildford).
        #expect(either.counts == ["sessions": 3, "participants": 4, "attendances": 6, "referrals": 2, "signposts": 2, "concerns": 2])
        #expect(either.rates == ["happierRate": [3, 3], "connectedRate": [2, 3], "surveyResponseRate": [3, 6], "weeklyReturnRate": [2, 2]])
        #expect(either.breakdowns["sessions.byRegion"] == ["surrey": 1, "london": 2])
        // A hub with nothing recorded is not an error: it gives zero.
        let nowhere = try numbers(h, AuditFilter(hubs: ["nowhere"]))
        #expect(nowhere.counts == ["sessions": 0, "participants": 0, "attendances": 0, "referrals": 0, "signposts": 0, "concerns": 0])
        #expect(nowhere.rates["happierRate"] == [0, 0])
        #expect(nowhere.median == nil)
    }
}

@Test func filteredChartsFollowTheFilter() throws {
    try withHandLog { h in
        try recordTwoRegionStory(h)
        let surrey = AuditFilter(regions: [.surrey])
        let tally = try h.runner.run(AuditProjection.self).tally(h.runner, filter: surrey)
        #expect(tally.sessionsByMonth().map(\.byRegion) == [[.surrey: 3]])
        let curve = tally.weeklyReturnCurve()
        #expect(curve.first.map { [$0.week, $0.returned, $0.before] } == [2, 1, 2])
    }
}

@Test func theAuditPlacesSurviveACheckpointAndCatchUpEqualsRebuild() throws {
    try withHandLog { h in
        let filters = [AuditFilter(), AuditFilter(regions: [.london]), AuditFilter(hubs: ["woking"]), AuditFilter(hubs: ["guildford"], regions: [.london])]
        func outputs(_ model: AuditProjection, _ head: LogHead?) throws -> [String] {
            try filters.map { f in
                let figures = try model.tally(period: AuditPeriod(), filter: f, replaying: h.runner.replay(through: head)).figures()
                return JSONValue.object(JSONObject(figures.map { (key: $0.name, value: $0.json) })).jsonText
            }
        }
        func bytes(_ model: AuditProjection) -> [UInt8] {
            var writer = StateWriter()
            model.encode(to: &writer)
            return writer.bytes
        }
        // A checkpoint saved between P-4's move and its retraction, then caught up.
        try recordTwoRegionStory(h, 1...3)
        _ = try h.runner.run(AuditProjection.self)
        let saved = try #require(h.log.loadCheckpoint(named: AuditProjection.name))
        try recordTwoRegionStory(h, 4...5)
        let caughtUp = try h.runner.run(AuditProjection.self)
        #expect(caughtUp.head?.position != saved.head.position)
        let rebuilt = try h.runner.run(AuditProjection.self, useCheckpoint: false).model
        #expect(bytes(caughtUp.model) == bytes(rebuilt))
        #expect(try outputs(caughtUp.model, caughtUp.head) == outputs(rebuilt, caughtUp.head))
        // The state reads back as it was written.
        var reader = StateReader(bytes(rebuilt))
        let decoded = try AuditProjection(from: &reader)
        #expect(reader.isAtEnd)
        #expect(bytes(decoded) == bytes(rebuilt))
        #expect(try outputs(decoded, caughtUp.head) == outputs(rebuilt, caughtUp.head))
        // A state that stops short of the places (as a checkpoint written before them does) is refused, so it is rebuilt.
        var short = StateReader(Array(bytes(rebuilt).dropLast(8)))
        #expect(throws: (any Error).self) { _ = try AuditProjection(from: &short) }
    }
}
