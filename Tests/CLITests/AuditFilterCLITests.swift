import EventStore
import Foundation
import Testing

/// `hubledger audit --hub H --region R` through the real binary, on a small store whose figures are
/// worked out by hand below. Only synthetic people.
@Suite struct AuditFilterCLITests {
    typealias W = WatchCLITests
    static func line(_ type: String, _ at: String, id: String? = nil, _ data: JSONObject) -> String { W.line(type, at, id: id, data) }

    static func registered(_ p: String, _ hub: String, _ region: String) -> String {
        line("ParticipantRegistered", "2024-12-20T09:00:00Z", ["participant": .string(p), "generation": "adult", "hub": .string(hub), "region": .string(region)])
    }
    static func moved(_ p: String, _ hub: String, _ region: String, id: String) -> String {
        line("ParticipantMoved", "2025-01-08T09:00:00Z", id: id, ["participant": .string(p), "hub": .string(hub), "region": .string(region)])
    }
    static func referred(_ r: String, _ p: String, _ source: String, _ at: String) -> String {
        line("ReferralReceived", at, ["referral": .string(r), "participant": .string(p), "source": .string(source),
                                      "referrer": "Synthetic referrer", "reason": "Synthetic reason", "urgent": false])
    }
    static func held(_ s: String, _ hub: String, _ region: String, _ programme: String, week: Int64, _ at: String) -> String {
        line("SessionHeld", at, ["session": .string(s), "hub": .string(hub), "region": .string(region), "programme": .string(programme), "week": .int(week)])
    }
    static func attended(_ p: String, _ s: String, _ at: String) -> String { W.attended(p, s, at) }
    static func surveyed(_ p: String, _ s: String, _ at: String, happier: Bool, connected: Bool) -> String {
        line("SurveyCompleted", at, ["participant": .string(p), "session": .string(s), "happier": .bool(happier), "moreConnected": .bool(connected)])
    }
    static func signposted(_ p: String, _ category: String, _ at: String) -> String {
        line("SignpostGiven", at, ["participant": .string(p), "service": "Synthetic service", "category": .string(category)])
    }

    static let retractedMove = "a0000000-0000-4000-8000-00000000a002"

    /// Woking (Surrey) and Hackney (London). P-3 is referred in Woking, then moves to Hackney and is signposted
    /// and raises a concern there; P-1 moves to Hackney, the move is retracted, and P-1 is signposted (in Woking).
    static let story: [String] = [
        registered("P-1", "woking", "surrey"), registered("P-2", "hackney", "london"), registered("P-3", "woking", "surrey"),
        referred("R-1", "P-1", "gp", "2025-01-01T10:00:00Z"),
        referred("R-2", "P-2", "school", "2024-12-30T10:00:00Z"),
        referred("R-3", "P-3", "self", "2025-01-02T10:00:00Z"),
        held("SW1", "woking", "surrey", "W", week: 1, "2025-01-06T10:00:00Z"),
        held("SH1", "hackney", "london", "H", week: 1, "2025-01-06T10:00:00Z"),
        attended("P-1", "SW1", "2025-01-06T10:05:00Z"), attended("P-3", "SW1", "2025-01-06T10:05:00Z"), attended("P-2", "SH1", "2025-01-06T10:05:00Z"),
        surveyed("P-1", "SW1", "2025-01-06T11:00:00Z", happier: true, connected: false),
        surveyed("P-2", "SH1", "2025-01-06T11:00:00Z", happier: true, connected: true),
        moved("P-3", "hackney", "london", id: "a0000000-0000-4000-8000-00000000a001"),
        signposted("P-3", "housing", "2025-01-08T10:00:00Z"),
        line("ConcernRaised", "2025-01-08T11:00:00Z", ["concern": "C-1", "participant": "P-3", "category": "emotional", "severity": "high",
                                                       "account": "Synthetic account", "actionTaken": "Synthetic action", "dslInformed": true]),
        moved("P-1", "hackney", "london", id: retractedMove),
        line("EventRetracted", "2025-01-09T09:00:00Z", ["event": .string(retractedMove), "reason": "Moved in error"]),
        signposted("P-1", "health", "2025-01-09T10:00:00Z"),
        held("SH2", "hackney", "london", "H", week: 2, "2025-01-13T10:00:00Z"),
        attended("P-2", "SH2", "2025-01-13T10:05:00Z"), attended("P-3", "SH2", "2025-01-13T10:05:00Z"),
    ]

    func newStore(_ cli: CLIHarness) throws -> String { try W.newStore(cli, Self.story) }

    /// `audit --json` with `extra`, as {metric: value} (ints, doubles or nil) plus the whole object.
    func audit(_ cli: CLIHarness, _ store: String, _ extra: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ([String: Double?], JSONObject) {
        let run = try cli.run(["audit", "--json"] + extra, store: store)
        try #require(run.succeeded, "\(run)", sourceLocation: sourceLocation)
        let o = try run.json(sourceLocation: sourceLocation)
        let metrics = try #require(o["metrics"]?.objectValue, sourceLocation: sourceLocation)
        var values: [String: Double?] = [:]
        for (name, figure) in metrics { values[name] = figure.objectValue?["value"]?.doubleValue }
        return (values, o)
    }

    @Test func aRegionFilterGivesTheRegionsNumbersAndSaysSo() throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let (london, o) = try audit(cli, store, ["--region", "london"])
            // SH1 (P-2), SH2 (P-2, P-3); P-2's survey. R-2 only: P-3 was still in Woking when referred.
            // P-3's signpost and concern came after the move; P-1's signpost after a retracted move is Woking's.
            #expect(london["sessions"] == 2)
            #expect(london["attendances"] == 3)
            #expect(london["participants"] == 2)
            #expect(london["surveyResponseRate"] == 1.0 / 3)
            #expect(london["weeklyReturnRate"] == 1)
            #expect(london["referrals"] == 1)
            #expect(london["medianDaysToFirstAttendance"] == 7)
            #expect(london["signposts"] == 1)
            #expect(london["concerns"] == 1)
            #expect(o["filter"] == ["hubs": [], "regions": ["london"]])
            #expect(o.keys == ["head", "asOf", "period", "filter", "metrics"])

            let text = try cli.run(["audit", "--region", "london"], store: store)
            #expect(text.succeeded, "\(text)")
            #expect(text.stdout.contains("Covering region london"), "\(text.stdout)")
        }
    }

    @Test func aHubFilterCountsReferralsWhereTheParticipantWasWhenReferred() throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let (woking, o) = try audit(cli, store, ["--hub", "woking"])
            // SW1 (P-1, P-3); P-1's survey; no second week. R-1 (5 days to SW1) and R-3 (4 days, referred before
            // P-3 moved); P-1's signpost; no concern.
            #expect(woking["sessions"] == 1)
            #expect(woking["attendances"] == 2)
            #expect(woking["happierRate"] == 1)
            #expect(woking["connectedRate"] == 0)
            #expect(woking["weeklyReturnRate"] == .some(nil))
            #expect(woking["referrals"] == 2)
            #expect(woking["medianDaysToFirstAttendance"] == 4.5)
            #expect(woking["signposts"] == 1)
            #expect(woking["concerns"] == 0)
            #expect(o["filter"] == ["hubs": ["woking"], "regions": []])
            // Both: whatever matches either, and repeated options add up.
            let (both, _) = try audit(cli, store, ["--hub", "woking", "--region", "london"])
            #expect(both["sessions"] == 3 && both["referrals"] == 3 && both["signposts"] == 2 && both["concerns"] == 1)
            let (two, _) = try audit(cli, store, ["--region", "london", "--region", "surrey"])
            #expect(two == both)
            // An unknown hub is zero, not an error.
            let (nowhere, _) = try audit(cli, store, ["--hub", "nowhere"])
            #expect(nowhere["sessions"] == 0 && nowhere["referrals"] == 0)
        }
    }

    @Test func withoutAFilterTheOutputHasNoFilterAndCountsEverything() throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let (all, o) = try audit(cli, store, [])
            #expect(o["filter"] == nil)
            #expect(o.keys == ["head", "asOf", "period", "metrics"])
            #expect(all["sessions"] == 3 && all["referrals"] == 3 && all["signposts"] == 2 && all["concerns"] == 1)
            let text = try cli.run(["audit"], store: store)
            #expect(!text.stdout.contains("Covering"), "\(text.stdout)")
        }
    }

    @Test func anUnknownRegionIsAUsageErrorNamingTheRegions() throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let run = try cli.run(["audit", "--region", "wales"], store: store)
            #expect(run.status == 2, "\(run)")
            #expect(run.stderr.contains("surrey | london | greater-manchester"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    /// The page's "Reproduce with" command gives the page's figures: it carried the log head and the places but
    /// not the period, so run as printed it counted every session (found by acceptance testing). Whole days
    /// come back as dates, other bounds as exact times; the text output says the period too.
    @Test(arguments: [(["--from", "2025-01-07", "--to", "2025-01-31"], " --from 2025-01-07 --to 2025-01-31", 1),
                      (["--to", "2025-01-13T09:00:00Z"], " --to 2025-01-13T09:00:00Z", 2)])
    func theReproduceCommandOfThePageGivesItsFigures(_ period: [String], _ printed: String, _ sessions: Int) throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let original = try cli.run(["audit", "--json", "--hub", "woking", "--hub", "hackney"] + period, store: store)
            #expect(original.succeeded, "\(original)")
            let metrics = try original.json()["metrics"]
            #expect(metrics?.objectValue?["sessions"]?.objectValue?["value"] == .int(Int64(sessions)), "\(original.stdout)")

            let page = cli.root.appendingPathComponent("audit.html").path
            let html = try cli.run(["audit", "--hub", "woking", "--hub", "hackney", "--html", page] + period, store: store)
            #expect(html.succeeded, "\(html)")
            let text = try String(contentsOfFile: page, encoding: .utf8)
            let command = try #require(text.firstMatch(of: /Reproduce with <code>hubledger ([^<]*)<\/code>/)?.1, "\(text)")
            #expect(command.contains(printed), "\(command)")
            let again = try cli.run(command.split(separator: " ").map(String.init) + ["--json"], store: store)
            #expect(again.succeeded, "\(again)")
            #expect(try again.json()["metrics"] == metrics, "run as printed, `\(command)` gives other figures: \(again.stdout)")

            let plain = try cli.run(["audit"] + period, store: store)
            #expect(plain.stdout.contains("Sessions from " + (period.first == "--from" ? "2025-01-07 to 2025-01-31" : "the first session to 2025-01-13T09:00:00Z")),
                    "\(plain.stdout)")
        }
    }

    @Test func claimsAndTheHTMLPageFollowTheFilter() throws {
        try withCLI { cli in
            let store = try newStore(cli)
            let claims = cli.root.appendingPathComponent("claims.json")
            try Data(#"{"claims": [{"metric": "sessions", "op": "==", "value": 2}, {"metric": "referrals", "op": "==", "value": 1}]}"#.utf8).write(to: claims)
            let london = try cli.run(["audit", "--json", "--region", "london", "--claims", claims.path], store: store)
            #expect(london.status == 0, "\(london)")
            #expect(try london.json()["claims"]?.arrayValue?.allSatisfy { $0.objectValue?["supported"] == .bool(true) } == true)
            let everywhere = try cli.run(["audit", "--claims", claims.path], store: store)
            #expect(everywhere.status == 1, "three sessions and three referrals in all: \(everywhere)")

            let page = cli.root.appendingPathComponent("audit.html").path
            let html = try cli.run(["audit", "--hub", "woking", "--region", "london", "--html", page], store: store)
            #expect(html.succeeded, "\(html)")
            let text = try String(contentsOfFile: page, encoding: .utf8)
            #expect(text.contains("Covering hub woking; region london only"))
            #expect(text.contains("--hub woking --region london</code>"))
        }
    }
}
