#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// Issue 5: `hubledger watch` (the alert daemon), `hubledger project` and `hubledger status`,
/// run as real processes against stores in fresh temporary directories.
///
/// Every expected alert below was worked out by hand from the events the test writes,
/// never copied from the program's output.
@Suite(.serialized)
struct WatchCLITests {
    // MARK: - Alerts as values

    /// One alert as printed (or POSTed, or recorded in the `alerts` stream), without `raisedAt`.
    struct AlertLine: Hashable, Sendable, CustomStringConvertible {
        var kind: String
        var level: String
        var participant: String
        var referral: String? = nil
        var concern: String? = nil
        var event: String? = nil
        var daysWaiting: Int? = nil
        var position: Int

        /// The identity the daemon raises once: kind, subject and level.
        var key: String { "\(kind)|\(referral ?? concern ?? event ?? "?")|\(level)" }

        var description: String {
            var s = "\(kind)/\(level) \(participant)"
            if let referral { s += " referral=\(referral)" }
            if let concern { s += " concern=\(concern)" }
            if let event { s += " event=\(event)" }
            if let daysWaiting { s += " days=\(daysWaiting)" }
            return s + " @\(position)"
        }

        static func awaiting(_ level: String, _ participant: String, _ referral: String, days: Int, at position: Int) -> AlertLine {
            AlertLine(kind: "referral-awaiting-first-attendance", level: level, participant: participant, referral: referral,
                      daysWaiting: days, position: position)
        }

        static func noConsent(_ participant: String, event: String, at position: Int) -> AlertLine {
            AlertLine(kind: "attendance-without-consent", level: "warning", participant: participant, event: event, position: position)
        }

        static func unescalated(_ level: String, _ participant: String, _ concern: String, at position: Int) -> AlertLine {
            AlertLine(kind: "concern-unescalated", level: level, participant: participant, concern: concern, position: position)
        }
    }

    static let allowedAlertFields: Set<String> = ["id", "kind", "level", "participant", "hub", "region", "referral", "concern", "event", "daysWaiting",
                                                   "position", "raisedAt"]

    /// Parses one alert object; records an issue for any field the issue does not allow or any missing one.
    static func alert(from o: JSONObject, raisedAt expectedRaisedAt: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> AlertLine {
        let unexpected = Set(o.keys).subtracting(allowedAlertFields)
        #expect(unexpected.isEmpty, "alert carries fields the issue does not allow: \(unexpected.sorted())", sourceLocation: sourceLocation)
        let kind = try #require(o["kind"]?.stringValue, "no kind in \(JSONValue.object(o).jsonText)", sourceLocation: sourceLocation)
        let level = try #require(o["level"]?.stringValue, "no level in \(JSONValue.object(o).jsonText)", sourceLocation: sourceLocation)
        let participant = try #require(o["participant"]?.stringValue, "no participant", sourceLocation: sourceLocation)
        #expect(o["hub"] != nil && o["region"] != nil, "every alert says where its participant is: \(JSONValue.object(o).jsonText)",
                sourceLocation: sourceLocation)
        let position = try #require(o["position"]?.intValue, "no position in \(JSONValue.object(o).jsonText)", sourceLocation: sourceLocation)
        let raisedAt = try #require(o["raisedAt"]?.stringValue, "no raisedAt in \(JSONValue.object(o).jsonText)", sourceLocation: sourceLocation)
        #expect(Timestamp(rfc3339: raisedAt) != nil, "raisedAt '\(raisedAt)' is not RFC 3339", sourceLocation: sourceLocation)
        if let expectedRaisedAt {
            #expect(Timestamp(rfc3339: raisedAt) == Timestamp(rfc3339: expectedRaisedAt),
                    "raisedAt \(raisedAt), expected the --now \(expectedRaisedAt)", sourceLocation: sourceLocation)
        }
        return AlertLine(kind: kind, level: level, participant: participant, referral: o["referral"]?.stringValue,
                         concern: o["concern"]?.stringValue, event: o["event"]?.stringValue,
                         daysWaiting: o["daysWaiting"]?.intValue.map { Int($0) }, position: Int(position))
    }

    static func alert(fromLine line: String, raisedAt: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> AlertLine {
        let value = try JSONParser.parse(line)
        let o = try #require(value.objectValue, "not a JSON object: \(line)", sourceLocation: sourceLocation)
        return try alert(from: o, raisedAt: raisedAt, sourceLocation: sourceLocation)
    }

    /// The alerts a run printed on stdout, one per line.
    static func alerts(_ result: CLIResult, raisedAt: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> [AlertLine] {
        try result.lines.map { try alert(fromLine: $0, raisedAt: raisedAt, sourceLocation: sourceLocation) }
    }

    /// Expects exactly `expected`, each once, naming what is missing, extra or doubled.
    static func expectSame(_ got: [AlertLine], _ expected: [AlertLine], _ what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        let gotSet = Set(got), expectedSet = Set(expected)
        let missing = expectedSet.subtracting(gotSet).map(\.description).sorted()
        let extra = gotSet.subtracting(expectedSet).map(\.description).sorted()
        var seen = Set<AlertLine>(), doubled: [String] = []
        for a in got where !seen.insert(a).inserted { doubled.append(a.description) }
        #expect(missing.isEmpty, "\(what): missing \(missing)", sourceLocation: sourceLocation)
        #expect(extra.isEmpty, "\(what): unexpected \(extra)", sourceLocation: sourceLocation)
        #expect(doubled.isEmpty, "\(what): raised more than once \(doubled)", sourceLocation: sourceLocation)
    }

    // MARK: - Building logs

    static func line(_ type: String, _ at: String, id: String? = nil, _ data: JSONObject) -> String {
        var o = JSONObject()
        if let id { o["id"] = .string(id) }
        o["type"] = .string(type)
        o["occurredAt"] = .string(at)
        o["data"] = .object(data)
        return JSONValue.object(o).jsonText
    }

    static func registered(_ p: String, _ generation: String, _ at: String) -> String {
        line("ParticipantRegistered", at, ["participant": .string(p), "generation": .string(generation), "hub": "hackney", "region": "london"])
    }
    static func parentalConsent(_ p: String, _ at: String) -> String {
        line("ConsentGiven", at, ["participant": .string(p), "scope": "participation", "givenBy": "parent-or-guardian"])
    }
    static func session(_ s: String, _ at: String) -> String {
        line("SessionHeld", at, ["session": .string(s), "hub": "hackney", "region": "london", "programme": "SYN-1", "week": 1])
    }
    static func attended(_ p: String, _ s: String, _ at: String, id: String? = nil) -> String {
        line("AttendanceRecorded", at, id: id, ["participant": .string(p), "session": .string(s)])
    }
    static func referral(_ r: String, _ p: String, urgent: Bool = false, _ at: String) -> String {
        line("ReferralReceived", at, ["referral": .string(r), "participant": .string(p), "source": "gp",
                                      "referrer": "Synthetic referrer", "reason": "Synthetic reason", "urgent": .bool(urgent)])
    }
    static func declined(_ r: String, _ at: String) -> String {
        line("ReferralDeclined", at, ["referral": .string(r), "reason": "Synthetic decline"])
    }
    static func concern(_ c: String, _ p: String, _ severity: String, _ at: String) -> String {
        line("ConcernRaised", at, ["concern": .string(c), "participant": .string(p), "category": "neglect", "severity": .string(severity),
                                   "account": "Synthetic account", "actionTaken": "Synthetic action", "dslInformed": true])
    }
    static func escalated(_ c: String, _ at: String) -> String {
        line("ConcernEscalated", at, ["concern": .string(c), "to": "childrens-services"])
    }
    static func concernClosed(_ c: String, _ at: String) -> String {
        line("ConcernClosed", at, ["concern": .string(c), "outcome": "Synthetic outcome"])
    }

    /// Writes `lines` to a file in the harness's directory and imports it.
    static func importLines(_ cli: CLIHarness, _ store: String, _ lines: [String],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = cli.root.appendingPathComponent("import-\(UUID().uuidString).jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let result = try cli.run(["import", file.path], store: store, timeout: 30)
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
    }

    /// A new store holding `lines`.
    static func newStore(_ cli: CLIHarness, _ lines: [String], name: String = "store",
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let store = cli.storePath(name)
        let created = try cli.run(["init"], store: store, timeout: 30)
        try #require(created.succeeded, "\(created)", sourceLocation: sourceLocation)
        if !lines.isEmpty { try importLines(cli, store, lines, sourceLocation: sourceLocation) }
        return store
    }

    /// `log --json` (optionally one stream), parsed, in order.
    static func logEvents(_ cli: CLIHarness, _ store: String, stream: String? = nil,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> [JSONObject] {
        let result = try cli.run(["log", "--json"] + (stream.map { ["--stream", $0] } ?? []), store: store, timeout: 30)
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        return try result.lines.map { try #require(try JSONParser.parse($0).objectValue, sourceLocation: sourceLocation) }
    }

    /// The alerts recorded as delivered: the `AlertRaised` events of the `alerts` stream.
    static func recordedAlerts(_ cli: CLIHarness, _ store: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [AlertLine] {
        try logEvents(cli, store, stream: "alerts", sourceLocation: sourceLocation).map { event in
            #expect(event["type"]?.stringValue == "AlertRaised", "\(JSONValue.object(event).jsonText)", sourceLocation: sourceLocation)
            let data = try #require(event["data"]?.objectValue, sourceLocation: sourceLocation)
            return try alert(from: data, sourceLocation: sourceLocation)
        }
    }

    /// `status --json`, parsed, with the run.
    static func status(_ cli: CLIHarness, _ store: String, _ extra: [String] = [],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> (CLIResult, JSONObject) {
        let result = try cli.run(["status", "--json"] + extra, store: store, timeout: 30)
        try #require(result.lines.count == 1, "\(result)", sourceLocation: sourceLocation)
        let o = try #require(try JSONParser.parse(result.lines[0]).objectValue, sourceLocation: sourceLocation)
        return (result, o)
    }

    /// Each projection's lag from `status --json`, by name.
    static func lags(_ status: JSONObject, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Int64] {
        let list = try #require(status["projections"]?.arrayValue, "no projections in status", sourceLocation: sourceLocation)
        var out: [String: Int64] = [:]
        for item in list {
            let o = try #require(item.objectValue, sourceLocation: sourceLocation)
            let name = try #require(o["name"]?.stringValue, sourceLocation: sourceLocation)
            out[name] = try #require(o["lag"]?.intValue, "no lag for \(name)", sourceLocation: sourceLocation)
        }
        return out
    }

    static func headPosition(_ status: JSONObject) -> Int64? { status["head"]?.objectValue?["position"]?.intValue }

    // MARK: - The hand-built log

    /// The clock the hand-built log is evaluated at, and a later one.
    static let T = "2024-06-01T12:00:00Z"
    static let T2 = "2024-06-15T00:00:00Z"   // T + 13.5 days
    static let childAttendanceID = "a0000000-0000-4000-8000-000000000018"

    /// 34 events; the comment on each is its log position (the store is new, so the first is 0).
    static let handBuiltLog: [String] = [
        registered("P-01", "adult", "2024-01-02T09:00:00Z"),          // 0
        registered("P-02", "adult", "2024-01-02T09:01:00Z"),          // 1
        registered("P-03", "adult", "2024-01-02T09:02:00Z"),          // 2
        registered("P-04", "adult", "2024-01-02T09:03:00Z"),          // 3
        registered("P-05", "adult", "2024-01-02T09:04:00Z"),          // 4
        registered("P-06", "adult", "2024-01-02T09:05:00Z"),          // 5
        registered("P-07", "adult", "2024-01-02T09:06:00Z"),          // 6
        registered("P-08", "adult", "2024-01-02T09:07:00Z"),          // 7
        registered("P-C1", "child", "2024-01-02T09:08:00Z"),          // 8  no participation consent
        registered("P-C2", "child", "2024-01-02T09:09:00Z"),          // 9
        parentalConsent("P-C2", "2024-01-02T10:00:00Z"),              // 10
        session("S-0", "2024-04-02T12:00:00Z"),                       // 11
        attended("P-08", "S-0", "2024-04-02T12:05:00Z"),              // 12 before P-08's referral: not a first attendance
        referral("R-ATT", "P-06", "2024-04-22T12:00:00Z"),            // 13 attended at S-1 later: no alert
        referral("R-DEC", "P-07", "2024-04-22T13:00:00Z"),            // 14 declined: no alert
        declined("R-DEC", "2024-04-23T12:00:00Z"),                    // 15
        session("S-1", "2024-04-27T12:00:00Z"),                       // 16
        attended("P-06", "S-1", "2024-04-27T12:05:00Z"),              // 17 adult: no consent needed
        attended("P-C1", "S-1", "2024-04-27T12:06:00Z", id: childAttendanceID), // 18 child without consent: flagged
        attended("P-C2", "S-1", "2024-04-27T12:07:00Z"),              // 19 child with parental consent
        referral("R-30", "P-03", "2024-05-02T10:00:00Z"),             // 20 30 d 2 h at T
        referral("R-PRE", "P-08", "2024-05-12T10:00:00Z"),            // 21 20 d 2 h at T
        referral("R-15", "P-02", "2024-05-17T10:00:00Z"),             // 22 15 d 2 h at T
        concern("C-MED", "P-05", "medium", "2024-05-22T12:00:00Z"),   // 23 medium: never alerts
        referral("R-U5", "P-05", urgent: true, "2024-05-27T10:00:00Z"), // 24 urgent, 5 d 2 h at T
        concern("C-CR2", "P-04", "critical", "2024-05-27T12:00:00Z"), // 25 closed next day
        concernClosed("C-CR2", "2024-05-28T12:00:00Z"),               // 26
        referral("R-U3", "P-04", urgent: true, "2024-05-29T10:00:00Z"), // 27 urgent, 3 d 2 h at T
        concern("C-CR", "P-02", "critical", "2024-05-29T12:00:00Z"),  // 28 escalated an hour later
        escalated("C-CR", "2024-05-29T13:00:00Z"),                    // 29
        concern("C-HI", "P-01", "high", "2024-05-30T12:00:00Z"),      // 30 48 h at T, not escalated
        concern("C-CRIT", "P-06", "critical", "2024-05-31T06:00:00Z"), // 31 30 h at T, not escalated
        referral("R-01", "P-01", "2024-05-31T10:00:00Z"),             // 32 1 d 2 h at T
        concern("C-HI-NEW", "P-03", "high", "2024-06-01T00:00:00Z"),  // 33 12 h at T
    ]

    /// Due at T with the default thresholds (14 days; urgent referrals 2 days; urgent level at twice).
    static let expectedAtT: [AlertLine] = [
        .noConsent("P-C1", event: childAttendanceID, at: 18),
        .awaiting("warning", "P-03", "R-30", days: 30, at: 20),      // 30.08 ≥ 14
        .awaiting("urgent", "P-03", "R-30", days: 30, at: 20),       // 30.08 ≥ 28
        .awaiting("warning", "P-08", "R-PRE", days: 20, at: 21),     // 20.08 ≥ 14; S-0 was before the referral
        .awaiting("warning", "P-02", "R-15", days: 15, at: 22),      // 15.08 ≥ 14
        .awaiting("warning", "P-05", "R-U5", days: 5, at: 24),       // urgent referral: 5.08 ≥ 2
        .awaiting("urgent", "P-05", "R-U5", days: 5, at: 24),        // 5.08 ≥ 4
        .awaiting("warning", "P-04", "R-U3", days: 3, at: 27),       // 3.08 ≥ 2 but < 4
        .unescalated("warning", "P-01", "C-HI", at: 30),             // high, 48 h
        .unescalated("urgent", "P-06", "C-CRIT", at: 31),            // critical, 30 h
    ]

    static let withdrawnAttendanceID = "a0000000-0000-4000-8000-000000000049"

    /// Imported after the run at T: R-PRE is closed, P-02 attends a session held after R-15 was
    /// received (ending its wait), and adult P-07 attends after withdrawing participation consent
    /// (flagged). The run at T appended its 10 AlertRaised events at positions 34–43, so these land at 44–49.
    static let laterEvents: [String] = [
        line("ConsentGiven", "2024-06-02T10:00:00Z", ["participant": "P-07", "scope": "participation", "givenBy": "self"]), // 44
        line("ConsentWithdrawn", "2024-06-03T10:00:00Z", ["participant": "P-07", "scope": "participation"]),               // 45
        line("ReferralClosed", "2024-06-04T10:00:00Z", ["referral": "R-PRE", "reason": "no-contact"]),                    // 46
        session("S-2", "2024-06-05T12:00:00Z"),                       // 47
        attended("P-02", "S-2", "2024-06-05T12:10:00Z"),              // 48 ends R-15's wait
        attended("P-07", "S-2", "2024-06-05T12:11:00Z", id: withdrawnAttendanceID), // 49 after withdrawal: flagged
    ]

    /// New at T2 (13.5 days later), given what was raised at T and the later events.
    static let expectedAtT2: [AlertLine] = [
        .awaiting("urgent", "P-04", "R-U3", days: 16, at: 27),       // 16.58 ≥ 4
        .awaiting("warning", "P-01", "R-01", days: 14, at: 32),      // 14.58 ≥ 14
        .unescalated("warning", "P-03", "C-HI-NEW", at: 33),         // 14 days
        .noConsent("P-07", event: withdrawnAttendanceID, at: 49),    // attended after withdrawing consent
        // Not R-15 urgent (28.58 days): P-02 attended S-2, held after R-15 was received.
        // Not R-PRE urgent (33.58 days): it was closed.
    ]

    // MARK: - 1. Exactly the due alerts, once

    @Test func onceAtAChosenTimePrintsExactlyTheDueAlertsThenNothingThenOnlyTheNewOnes() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            // The positions the expectations use are the file's line numbers.
            let logged = try Self.logEvents(cli, store)
            try #require(logged.count == Self.handBuiltLog.count)
            for (i, event) in logged.enumerated() { #expect(event["position"]?.intValue == Int64(i)) }
            #expect(logged[18]["id"]?.stringValue == Self.childAttendanceID)

            // A dry run looks ahead: the same alerts printed, nothing raised (a run after it still raises them all).
            let headBefore = try cli.run(["verify", "--json"], store: store).json()["head"]
            let preview = try cli.run(["watch", "--once", "--dry-run", "--now", Self.T], store: store, timeout: 30)
            #expect(preview.status == 0, "\(preview)")
            Self.expectSame(try Self.alerts(preview, raisedAt: Self.T), Self.expectedAtT, "watch --once --dry-run --now T")
            #expect(try cli.run(["verify", "--json"], store: store).json()["head"] == headBefore, "a dry run wrote to the log")
            #expect(try cli.run(["watch", "--dry-run"], store: store, timeout: 30).status == 2)

            let first = try cli.run(["watch", "--once", "--now", Self.T], store: store, timeout: 30)
            #expect(first.status == 0, "\(first)")
            Self.expectSame(try Self.alerts(first, raisedAt: Self.T), Self.expectedAtT, "watch --once --now T")
            #expect(!first.stdout.contains("Synthetic"), "alerts must carry no free text: \(first.stdout)")
            #expect(first.lines.allSatisfy { $0.contains(#""participant":"P-"#) && $0.contains(#""hub":"hackney","region":"london""#) },
                    "every alert says where its participant is: \(first.stdout)")
            #expect(Self.expectedAtT.allSatisfy { first.stderr.contains($0.participant) }, "a log line on stderr per alert: \(first.stderr)")

            let recorded = try Self.recordedAlerts(cli, store)
            Self.expectSame(recorded, Self.expectedAtT, "the alerts stream after the first run")

            let again = try cli.run(["watch", "--once", "--now", Self.T], store: store, timeout: 30)
            #expect(again.status == 0, "\(again)")
            #expect(again.lines.isEmpty, "a second run at the same time raised again: \(again.stdout)")

            // Time passes: a referral is closed, another met by an attendance; someone attends after withdrawing consent.
            try Self.importLines(cli, store, Self.laterEvents)
            let later = try cli.run(["watch", "--once", "--now", Self.T2], store: store, timeout: 30)
            #expect(later.status == 0, "\(later)")
            Self.expectSame(try Self.alerts(later, raisedAt: Self.T2), Self.expectedAtT2, "watch --once --now T2")

            let laterAgain = try cli.run(["watch", "--once", "--now", Self.T2], store: store, timeout: 30)
            #expect(laterAgain.lines.isEmpty, "a second run at T2 raised again: \(laterAgain.stdout)")

            Self.expectSame(try Self.recordedAlerts(cli, store), Self.expectedAtT + Self.expectedAtT2, "the alerts stream at the end")
            // Going back to T raises nothing either: everything due then was raised.
            let back = try cli.run(["watch", "--once", "--now", Self.T], store: store, timeout: 30)
            #expect(back.lines.isEmpty, "\(back.stdout)")
            // A time in the future: warned that what is due then is raised now, and recorded as raised now, not then.
            let future = Timestamp.now.adding(seconds: 400 * 86_400).rfc3339
            let ahead = try cli.run(["watch", "--once", "--now", future], store: store, timeout: 30)
            #expect(ahead.status == 0 && !ahead.lines.isEmpty, "\(ahead)")
            #expect(ahead.stderr.contains("is in the future: what is due then is raised now"), "\(ahead.stderr)")
            for event in try Self.logEvents(cli, store) where event["type"] == "AlertRaised" {
                let at = try #require(event["occurredAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
                #expect(at <= Timestamp.now, "an alert's record dated in the future: \(event)")
            }
        }
    }

    // MARK: - 2. Thresholds

    @Test func thresholdOptionsChangeWhichReferralAlertsAreRaised() throws {
        try withCLI { cli in
            let nonReferral: [AlertLine] = [
                .noConsent("P-C1", event: Self.childAttendanceID, at: 18),
                .unescalated("warning", "P-01", "C-HI", at: 30),
                .unescalated("urgent", "P-06", "C-CRIT", at: 31),
            ]
            // --threshold 20 (urgent at 40), --urgent-threshold 1 (urgent at 2).
            let a = try Self.newStore(cli, Self.handBuiltLog, name: "a")
            let runA = try cli.run(["watch", "--once", "--now", Self.T, "--threshold", "20", "--urgent-threshold", "1"], store: a, timeout: 30)
            #expect(runA.status == 0, "\(runA)")
            Self.expectSame(try Self.alerts(runA), nonReferral + [
                .awaiting("warning", "P-03", "R-30", days: 30, at: 20),   // 30.08 ≥ 20, < 40
                .awaiting("warning", "P-08", "R-PRE", days: 20, at: 21),  // 20.08 ≥ 20
                // R-15 (15.08) and R-01 (1.08) are under 20
                .awaiting("warning", "P-05", "R-U5", days: 5, at: 24),    // 5.08 ≥ 1
                .awaiting("urgent", "P-05", "R-U5", days: 5, at: 24),     // 5.08 ≥ 2
                .awaiting("warning", "P-04", "R-U3", days: 3, at: 27),    // 3.08 ≥ 1
                .awaiting("urgent", "P-04", "R-U3", days: 3, at: 27),     // 3.08 ≥ 2
            ], "--threshold 20 --urgent-threshold 1")

            // --threshold 7 (urgent at 14), --urgent-threshold 4 (urgent at 8).
            let b = try Self.newStore(cli, Self.handBuiltLog, name: "b")
            let runB = try cli.run(["watch", "--once", "--now", Self.T, "--threshold", "7", "--urgent-threshold", "4"], store: b, timeout: 30)
            #expect(runB.status == 0, "\(runB)")
            Self.expectSame(try Self.alerts(runB), nonReferral + [
                .awaiting("warning", "P-03", "R-30", days: 30, at: 20),
                .awaiting("urgent", "P-03", "R-30", days: 30, at: 20),
                .awaiting("warning", "P-08", "R-PRE", days: 20, at: 21),
                .awaiting("urgent", "P-08", "R-PRE", days: 20, at: 21),
                .awaiting("warning", "P-02", "R-15", days: 15, at: 22),   // 15.08 ≥ 7
                .awaiting("urgent", "P-02", "R-15", days: 15, at: 22),    // 15.08 ≥ 14
                .awaiting("warning", "P-05", "R-U5", days: 5, at: 24),    // 5.08 ≥ 4, < 8
                // R-U3 (3.08) is under 4; R-01 (1.08) under 7
            ], "--threshold 7 --urgent-threshold 4")

            // Nonsense thresholds are usage errors and raise nothing.
            for bad in [["--threshold", "0"], ["--threshold", "soon"], ["--urgent-threshold", "0"]] {
                let c = try Self.newStore(cli, Self.handBuiltLog, name: "c-\(bad.joined())")
                let run = try cli.run(["watch", "--once", "--now", Self.T] + bad, store: c, timeout: 30)
                #expect(run.status == 2, "\(run)")
                #expect(run.lines.isEmpty)
                #expect(try Self.recordedAlerts(cli, c).isEmpty)
            }
        }
    }

    // MARK: - 3. SIGKILL at any moment


    /// 60 adults, each with a referral received 30 days and 2 hours before T: 120 alerts due.
    static let manyOverdue: [String] = (0..<60).map { registered(String(format: "P-K%02d", $0), "adult", "2024-01-02T09:00:00Z") }
        + (0..<60).map { referral(String(format: "R-K%02d", $0), String(format: "P-K%02d", $0), "2024-05-02T10:00:00Z") }

    static let manyOverdueExpected: [AlertLine] = (0..<60).flatMap { i in
        ["warning", "urgent"].map { AlertLine.awaiting($0, String(format: "P-K%02d", i), String(format: "R-K%02d", i), days: 30, at: 60 + i) }
    }

    @Test func aDaemonKilledAtRandomMomentsAndRestartedRaisesEachAlertOnceAndMissesNone() throws {
        let seed: UInt64 = 0x5EED_0005
        var rng = SplitMix64(seed: seed)
        var inFlightDuplicates = 0
        var midStreamKills = 0
        try withCLI { cli in
            for trial in 0..<10 {
                let store = try Self.newStore(cli, Self.manyOverdue, name: "kill-\(trial)")
                var printed: [AlertLine] = []          // every line every run printed, in order
                var allowedAgain = Set<AlertLine>()    // printed by a killed run but not yet recorded: the one in flight
                for kill in 0..<2 {
                    let daemon = try cli.start(["watch", "--interval", "200ms", "--now", Self.T], store: store)
                    defer { daemon.stopAndReap() }
                    if kill == 0 {
                        // Kill once a random number of alerts is out, plus a jitter of up to 4 ms.
                        let after = Int.random(in: 1..<110, using: &rng)
                        let jitter = UInt32.random(in: 0..<4_000, using: &rng)
                        Poll.until(timeout: 20, every: 0.0005) { daemon.completeStdoutLines.count >= after || daemon.poll() != nil }
                        usleep(jitter)
                    } else {
                        // Kill at a random moment after the start (possibly during start-up or recovery).
                        usleep(UInt32.random(in: 0..<400_000, using: &rng))
                    }
                    daemon.kill()
                    let result = try daemon.wait(timeout: 10)
                    #expect(result.signal == SIGKILL, "trial \(trial) kill \(kill): the daemon ended before it was killed: \(result)")
                    let lines = try Self.alerts(result, raisedAt: Self.T)
                    let recorded = try Self.recordedAlerts(cli, store)
                    let recordedSet = Set(recorded)
                    if !recorded.isEmpty && recorded.count < Self.manyOverdueExpected.count { midStreamKills += 1 }
                    #expect(recorded.count == recordedSet.count, "trial \(trial) kill \(kill): an alert recorded twice")
                    // Nothing is recorded as raised unless it was printed.
                    let unprinted = recordedSet.subtracting(printed + lines)
                    #expect(unprinted.isEmpty, "trial \(trial) kill \(kill): recorded but never printed: \(unprinted)")
                    // Everything printed is recorded, except at most the alert in flight when the kill came.
                    let notRecorded = Set(lines).subtracting(recordedSet)
                    #expect(notRecorded.isSubset(of: Set(lines.suffix(1))),
                            "trial \(trial) kill \(kill): printed but not recorded (only the last line may be): \(notRecorded)")
                    allowedAgain.formUnion(notRecorded)
                    printed += lines
                }
                let final = try cli.run(["watch", "--once", "--now", Self.T], store: store, timeout: 30)
                #expect(final.status == 0, "\(final)")
                printed += try Self.alerts(final, raisedAt: Self.T)

                // The union misses nothing and holds nothing unexpected…
                #expect(Set(printed) == Set(Self.manyOverdueExpected),
                        "trial \(trial): missing \(Set(Self.manyOverdueExpected).subtracting(printed)), extra \(Set(printed).subtracting(Self.manyOverdueExpected))")
                // …and nothing twice, except an alert printed by a killed run in the instant before it was recorded.
                var seen = Set<AlertLine>()
                for a in printed where !seen.insert(a).inserted {
                    #expect(allowedAgain.contains(a), "trial \(trial): \(a) was printed twice although it had been recorded as raised")
                    inFlightDuplicates += 1
                }
                // The log holds each alert key exactly once, and is intact.
                let recorded = try Self.recordedAlerts(cli, store)
                Self.expectSame(recorded, Self.manyOverdueExpected, "trial \(trial): the alerts stream")
                #expect(Set(recorded.map(\.key)).count == recorded.count)
                let verify = try cli.run(["verify"], store: store, timeout: 30)
                #expect(verify.succeeded, "trial \(trial): \(verify)")
            }
        }
        print("WatchCLITests SIGKILL (seed \(String(seed, radix: 16))): \(midStreamKills) kills landed mid-stream; "
              + "\(inFlightDuplicates) alert(s) printed again after a kill between printing and recording")
        #expect(midStreamKills >= 5, "too few kills landed while alerts were being raised for the test to mean much")
    }

    // MARK: - 4. Webhook

    @Test func aWebhookThatAlwaysFailsGetsRetriesAndNothingIsMarkedRaised() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let server = try WebhookServer(failures: -1, scratch: cli.root)
            defer { server.stop() }
            let run = try cli.run(["watch", "--once", "--now", Self.T, "--webhook", server.url], store: store, timeout: 60)
            let requests = server.requests()
            #expect(requests.count >= 2, "a failing webhook must be retried: \(requests.count) POST(s)")
            #expect(requests.allSatisfy { $0.status == 500 })
            for r in requests {
                let a = try Self.alert(fromLine: r.body, raisedAt: Self.T)
                #expect(Self.expectedAtT.contains(a), "POSTed an alert that is not due: \(a)")
            }
            #expect(run.lines.isEmpty, "an undelivered alert was printed as raised: \(run.stdout)")
            #expect(try Self.recordedAlerts(cli, store).isEmpty, "an undelivered alert was marked raised")
            // A one-shot run that could deliver nothing must not report success (cron or systemd would never know).
            #expect(run.status != 0 && run.status != nil, "watch --once exited 0 with \(Self.expectedAtT.count) alerts undelivered: \(run)")
        }
    }

    @Test func aWebhookThatFailsTwiceThenRecoversReceivesEveryAlertOnce() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let server = try WebhookServer(failures: 2, scratch: cli.root)
            defer { server.stop() }
            let run = try cli.run(["watch", "--once", "--now", Self.T, "--webhook", server.url], store: store, timeout: 60)
            #expect(run.status == 0, "\(run)")
            let requests = server.requests()
            #expect(requests.prefix(2).allSatisfy { $0.status == 500 } && requests.count >= 2)
            #expect(requests.allSatisfy { $0.contentType?.hasPrefix("application/json") == true },
                    "\(requests.map(\.contentType))")
            let delivered = try requests.filter { $0.status == 200 }.map { try Self.alert(fromLine: $0.body, raisedAt: Self.T) }
            Self.expectSame(delivered, Self.expectedAtT, "alerts the webhook accepted")
            // Every POST was a due alert; the failed ones were retried, not dropped.
            for r in requests where r.status != 200 {
                #expect(delivered.contains(try Self.alert(fromLine: r.body)), "a failed POST was never retried: \(r.body)")
            }
            Self.expectSame(try Self.alerts(run, raisedAt: Self.T), Self.expectedAtT, "stdout with a webhook")
            Self.expectSame(try Self.recordedAlerts(cli, store), Self.expectedAtT, "the alerts stream with a webhook")

            let again = try cli.run(["watch", "--once", "--now", Self.T, "--webhook", server.url], store: store, timeout: 60)
            #expect(again.lines.isEmpty)
            #expect(server.requests().count == requests.count, "a raised alert was POSTed again")
        }
    }

    @Test func alertsHeldBackByADeadWebhookAllArriveOnceItWorks() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let dead = try WebhookServer(failures: -1, scratch: cli.root)
            defer { dead.stop() }
            _ = try cli.run(["watch", "--once", "--now", Self.T, "--webhook", dead.url], store: store, timeout: 60)
            #expect(try Self.recordedAlerts(cli, store).isEmpty, "marked raised while the webhook refused everything")
            dead.stop()

            let good = try WebhookServer(failures: 0, scratch: cli.root)
            defer { good.stop() }
            let run = try cli.run(["watch", "--once", "--now", Self.T, "--webhook", good.url], store: store, timeout: 60)
            #expect(run.status == 0, "\(run)")
            let delivered = try good.requests().map { try Self.alert(fromLine: $0.body, raisedAt: Self.T) }
            Self.expectSame(delivered, Self.expectedAtT, "alerts delivered once the webhook works")
            Self.expectSame(try Self.recordedAlerts(cli, store), Self.expectedAtT, "the alerts stream once the webhook works")
        }
    }

    // MARK: - 5. A live daemon

    @Test func aLiveDaemonAlertsWithinTwoSecondsOfAnAppendAndStopsOnSIGTERM() throws {
        try withCLI { cli in
            let now = Timestamp.now
            let store = try Self.newStore(cli, [
                Self.registered("P-L1", "child", now.adding(seconds: -7200).rfc3339),   // 0
                Self.registered("P-L2", "adult", now.adding(seconds: -7100).rfc3339),   // 1
                Self.session("S-L", now.adding(seconds: -3600).rfc3339),                // 2
                Self.attended("P-L2", "S-L", now.adding(seconds: -3500).rfc3339),       // 3 adult: no alert
            ])
            let daemon = try cli.start(["watch", "--interval", "30s"], store: store)
            defer { daemon.stopAndReap() }
            // Running, and through its first cycle (a heartbeat exists).
            let ready = try Poll.until(timeout: 15, every: 0.05) {
                guard daemon.poll() == nil, daemon.stderrSoFar.contains("following") else { return daemon.poll() != nil }
                return try cli.run(["status"], store: store, timeout: 10).status == 0
            }
            try #require(ready && daemon.poll() == nil, "the daemon did not start: \(daemon.stderrSoFar)")
            #expect(daemon.completeStdoutLines.isEmpty, "nothing was due yet: \(daemon.stdoutSoFar)")

            let attendanceID = "b0000000-0000-4000-8000-000000000004"
            try Self.importLines(cli, store, [Self.attended("P-L1", "S-L", now.adding(seconds: -60).rfc3339, id: attendanceID)])  // 4
            let appended = Date()
            let alerted = Poll.until(timeout: 2.0, every: 0.01) { !daemon.completeStdoutLines.isEmpty }
            let latency = Date().timeIntervalSince(appended)
            #expect(alerted, "no alert within 2 s of the append (stderr: \(daemon.stderrSoFar))")
            if alerted {
                let lines = daemon.completeStdoutLines
                #expect(lines.count == 1, "\(lines)")
                let a = try Self.alert(fromLine: lines[0])
                #expect(a == .noConsent("P-L1", event: attendanceID, at: 4), "\(a)")
                print("WatchCLITests live daemon: alert \(Int(latency * 1000)) ms after the append")
            }

            daemon.terminate()
            let stopped = Poll.until(timeout: 2.0, every: 0.01) { daemon.poll() != nil }
            #expect(stopped, "the daemon did not exit within 2 s of SIGTERM")
            let result = try daemon.wait(timeout: 10)
            #expect(result.status == 0, "SIGTERM must end the daemon with exit 0: \(result)")
            Self.expectSame(try Self.recordedAlerts(cli, store), [.noConsent("P-L1", event: attendanceID, at: 4)], "the alerts stream of the live daemon")
        }
    }

    /// `count` adults, each with a referral received `received`: 2 × `count` referral alerts due.
    static func overdueReferrals(_ count: Int, registered at: String, received: String, prefix: String = "B") -> [String] {
        (0..<count).map { registered(String(format: "P-\(prefix)%03d", $0), "adult", at) }
            + (0..<count).map { referral(String(format: "R-\(prefix)%03d", $0), String(format: "P-\(prefix)%03d", $0), received) }
    }

    /// Appends one event from this (test) process, through the store library, as a second writer.
    ///
    /// Used where a `hubledger import` of the same line would race the daemon's appends and hit
    /// the reader bug that `readersRunningWhileTheDaemonAppendsNeverReportDamage` exposes.
    static func appendInProcess(_ store: String, id: String, stream: String, type: String, at: Timestamp, data: JSONObject) throws {
        let log = try EventLog(path: store)
        let uuid: UUID = try #require(UUID(uuidString: id))
        let event = ProposedEvent(id: uuid, stream: StreamID(stream), type: type, occurredAt: at,
                                  actor: "cli-test", data: data)
        try log.append([event], to: StreamID(stream), expecting: .any)
    }

    /// A live daemon raising 300 overdue-referral alerts (received 30 days before the real clock);
    /// while it is busy raising them, another process appends a child's attendance without consent.
    @Test func aLiveDaemonAlertsOnAnEventAppendedWhileItIsRaisingOtherAlerts() throws {
        try withCLI { cli in
            let now = Timestamp.now
            var lines = Self.overdueReferrals(150, registered: now.adding(seconds: -40 * 86_400).rfc3339,
                                              received: now.adding(seconds: -(30 * 86_400 + 7_200)).rfc3339)
            lines += [Self.registered("P-BC", "child", now.adding(seconds: -7_200).rfc3339),
                      Self.session("S-B", now.adding(seconds: -3_600).rfc3339)]
            let store = try Self.newStore(cli, lines)
            let daemon = try cli.start(["watch", "--interval", "30s"], store: store)
            defer { daemon.stopAndReap() }
            let busy = Poll.until(timeout: 15, every: 0.001) { daemon.completeStdoutLines.count >= 5 || daemon.poll() != nil }
            try #require(busy && daemon.poll() == nil, "the daemon raised nothing: \(daemon.stderrSoFar)")

            let attendanceID = "b0000000-0000-4000-8000-000000000302"
            try Self.appendInProcess(store, id: attendanceID, stream: "participant-P-BC", type: "AttendanceRecorded",
                                     at: now.adding(seconds: -60), data: ["participant": "P-BC", "session": "S-B"])
            let appended = Date()
            let printedByThen = daemon.completeStdoutLines.count
            try #require(printedByThen < 300, "the daemon had finished raising before the append; the race was not provoked")
            let isNew: (String) -> Bool = { $0.contains(attendanceID) }
            let alerted = Poll.until(timeout: 2.0, every: 0.01) { daemon.completeStdoutLines.contains(where: isNew) }
            #expect(alerted, """
                no alert within 2 s for an attendance appended while the daemon was raising other alerts \
                (\(printedByThen) of 300 printed at the append; \(daemon.completeStdoutLines.count) after 2 s)
                """)
            if alerted { print("WatchCLITests busy daemon: alert \(Int(Date().timeIntervalSince(appended) * 1000)) ms after the append") }
            daemon.terminate()
            let result = try daemon.wait(timeout: 10)
            #expect(result.status == 0, "\(result)")
            let recorded = try Self.recordedAlerts(cli, store)
            #expect(Set(recorded.map(\.key)).count == recorded.count, "an alert recorded twice")
        }
    }

    /// Read commands (`log`, and `import --dry-run`, which reads the whole log to check a line) run
    /// while the daemon appends AlertRaised events. The log is sound throughout, so none may report damage.
    @Test func readersRunningWhileTheDaemonAppendsNeverReportDamage() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.overdueReferrals(150, registered: "2024-01-02T09:00:00Z", received: "2024-05-02T10:00:00Z"))
            let probe = cli.root.appendingPathComponent("probe.jsonl")
            try Data((Self.registered("P-PROBE", "adult", "2024-05-01T09:00:00Z") + "\n").utf8).write(to: probe)
            let daemon = try cli.start(["watch", "--interval", "30s", "--now", Self.T], store: store)
            defer { daemon.stopAndReap() }
            let busy = Poll.until(timeout: 15, every: 0.001) { !daemon.completeStdoutLines.isEmpty || daemon.poll() != nil }
            try #require(busy && daemon.poll() == nil, "the daemon raised nothing: \(daemon.stderrSoFar)")
            var reads = 0, damaged: [String] = []
            let deadline = Date().addingTimeInterval(10)
            while daemon.completeStdoutLines.count < 300 && daemon.poll() == nil && Date() < deadline && damaged.count < 3 {
                for args in [["import", "--dry-run", probe.path], ["log", "--json"]] {
                    let r = try cli.run(args, store: store, timeout: 30)
                    reads += 1
                    if !r.succeeded { damaged.append("\(args[0]): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
                }
            }
            print("WatchCLITests readers: \(reads) reads while the daemon appended, \(damaged.count) failed")
            #expect(damaged.isEmpty, "a reader reported damage in a sound log while the daemon appended: \(damaged)")
            _ = Poll.until(timeout: 15, every: 0.05) { daemon.completeStdoutLines.count >= 300 || daemon.poll() != nil }
            daemon.terminate()
            _ = try daemon.wait(timeout: 10)
            let verify = try cli.run(["verify"], store: store, timeout: 30)
            #expect(verify.succeeded, "the log really is sound: \(verify)")
        }
    }

    /// The daemon is itself a reader: it must survive others appending while it folds the log.
    @Test func aLiveDaemonSurvivesOtherProcessesAppendingWhileItReads() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.overdueReferrals(150, registered: "2024-01-02T09:00:00Z", received: "2024-05-30T10:00:00Z"))
            // Nothing is due at T (2 days' wait), so the daemon only reads; it wakes on every append.
            let daemon = try cli.start(["watch", "--interval", "100ms", "--now", Self.T], store: store)
            defer { daemon.stopAndReap() }
            let ready = try Poll.until(timeout: 15, every: 0.05) {
                if daemon.poll() != nil { return true }
                return try cli.run(["status"], store: store, timeout: 10).status == 0
            }
            try #require(ready && daemon.poll() == nil, "the daemon did not start: \(daemon.stderrSoFar)")
            let log = try EventLog(path: store)
            var appends = 0
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline && daemon.poll() == nil {
                try log.append([ProposedEvent(stream: "participant-P-B000", type: "SignpostGiven", occurredAt: Timestamp(rfc3339: "2024-05-31T10:00:00Z")!,
                                              actor: "cli-test", data: ["participant": "P-B000", "service": "Synthetic service", "category": "health"])],
                               to: "participant-P-B000", expecting: .any)
                appends += 1
            }
            let died = daemon.poll()
            #expect(died == nil, "the daemon died after \(appends) appends by another writer: \(died.map { "\($0)" } ?? "")")
            print("WatchCLITests concurrent appends: \(appends) appends; daemon \(died == nil ? "alive" : "died")")
            daemon.terminate()
            let result = try daemon.wait(timeout: 10)
            #expect(died != nil || result.status == 0, "\(result)")
            #expect(daemon.completeStdoutLines.isEmpty, "nothing was due")
        }
    }

    /// SIGTERM must end the daemon within 2 s even while a webhook holds a POST open.
    @Test func aStuckWebhookDoesNotHoldUpSIGTERM() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let server = try WebhookServer(failures: -1, hang: 60, scratch: cli.root)
            defer { server.stop() }
            let daemon = try cli.start(["watch", "--interval", "30s", "--now", Self.T, "--webhook", server.url], store: store)
            defer { daemon.stopAndReap() }
            let posting = Poll.until(timeout: 15, every: 0.02) { !server.requests().isEmpty || daemon.poll() != nil }
            try #require(posting && daemon.poll() == nil, "the daemon never POSTed: \(daemon.stderrSoFar)")
            usleep(200_000)
            daemon.terminate()
            let signalled = Date()
            let stopped = Poll.until(timeout: 2.0, every: 0.01) { daemon.poll() != nil }
            #expect(stopped, "the daemon did not exit within 2 s of SIGTERM while a webhook POST hung")
            if !stopped {
                _ = Poll.until(timeout: 12, every: 0.05) { daemon.poll() != nil }
                print("WatchCLITests stuck webhook: exited \(String(format: "%.1f", Date().timeIntervalSince(signalled))) s after SIGTERM")
            }
            daemon.stopAndReap()
            if let result = daemon.poll(), stopped { #expect(result.status == 0, "\(result)") }
            #expect(daemon.completeStdoutLines.isEmpty, "printed as raised without delivery")
            #expect(try Self.recordedAlerts(cli, store).isEmpty, "marked raised without delivery")
        }
    }

    /// A webhook down for longer than one cycle's retries: the daemon keeps running and delivers later.
    @Test func aLiveDaemonKeepsRunningThroughWebhookFailuresAndDeliversEverythingLater() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let server = try WebhookServer(failures: 6, scratch: cli.root)
            defer { server.stop() }
            let daemon = try cli.start(["watch", "--interval", "1s", "--now", Self.T, "--webhook", server.url], store: store)
            defer { daemon.stopAndReap() }
            let all = Poll.until(timeout: 20, every: 0.05) {
                daemon.completeStdoutLines.count >= Self.expectedAtT.count || daemon.poll() != nil
            }
            #expect(all && daemon.poll() == nil, "not every alert arrived while the daemon kept running: \(daemon.stderrSoFar)")
            let requests = server.requests()
            #expect(requests.prefix(6).allSatisfy { $0.status == 500 } && requests.count > 6, "\(requests.map(\.status))")
            let delivered = try requests.filter { $0.status == 200 }.map { try Self.alert(fromLine: $0.body, raisedAt: Self.T) }
            Self.expectSame(delivered, Self.expectedAtT, "alerts delivered after the webhook recovered")
            Self.expectSame(try daemon.completeStdoutLines.map { try Self.alert(fromLine: $0) }, Self.expectedAtT, "stdout of the daemon")
            daemon.terminate()
            let result = try daemon.wait(timeout: 10)
            #expect(result.status == 0, "\(result)")
            Self.expectSame(try Self.recordedAlerts(cli, store), Self.expectedAtT, "the alerts stream")
        }
    }

    // MARK: - 6. One daemon per actor (several actors' daemons: SeveralDaemonsCLITests)

    @Test func aSecondDaemonOnTheSameStoreRefusesWhileTheFirstRuns() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let first = try cli.start(["watch", "--interval", "30s", "--now", Self.T], store: store)
            defer { first.stopAndReap() }
            let ready = Poll.until(timeout: 15, every: 0.02) { first.completeStdoutLines.count >= Self.expectedAtT.count || first.poll() != nil }
            try #require(ready && first.poll() == nil, "the first daemon did not raise its alerts: \(first.stderrSoFar)")

            for args in [["watch", "--once", "--now", Self.T2], ["watch", "--interval", "1s", "--now", Self.T2]] {
                let second = try cli.run(args, store: store, timeout: 10)
                #expect(second.status == 1, "a second daemon must refuse: \(second)")
                #expect(second.lines.isEmpty, "the refused daemon raised alerts: \(second.stdout)")
                #expect(second.stderr.contains("already running") && second.stderr.contains("as \(osUserName())"), "\(second.stderr)")
            }
            Self.expectSame(try Self.recordedAlerts(cli, store), Self.expectedAtT, "the alerts stream with two daemons")

            first.send(SIGINT)   // Ctrl-C stops it like SIGTERM
            let stopped = Poll.until(timeout: 2.0, every: 0.01) { first.poll() != nil }
            #expect(stopped, "the daemon did not exit within 2 s of SIGINT")
            let result = try first.wait(timeout: 10)
            #expect(result.status == 0, "\(result)")
            // Once the first has stopped, the lock is free again.
            let after = try cli.run(["watch", "--once", "--json", "--now", Self.T], store: store, timeout: 30)
            #expect(after.status == 0, "\(after)")
            #expect(after.lines.isEmpty)
        }
    }

    // MARK: - 7. Status

    @Test func statusReportsHeadLagAndHeartbeatAndPagesWhenTheDaemonIsSilent() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let before = try Self.status(cli, store)
            #expect(before.0.status == 1, "no daemon has ever run: \(before.0)")
            #expect(before.1["daemon"] == JSONValue.null, "\(before.0.stdout)")
            #expect(Self.headPosition(before.1) == 33)
            let human = try cli.run(["status"], store: store, timeout: 30)
            #expect(human.status == 1, "\(human)")

            let watch = try cli.run(["watch", "--once", "--interval", "10s", "--now", Self.T], store: store, timeout: 30)
            #expect(watch.status == 0, "\(watch)")
            let head = Int64(Self.handBuiltLog.count + Self.expectedAtT.count - 1)   // 43

            let (run, status) = try Self.status(cli, store)
            #expect(run.status == 0, "right after watch --once the daemon is healthy: \(run)")
            #expect(Self.headPosition(status) == head, "\(run.stdout)")
            #expect(status["head"]?.objectValue?["hash"]?.stringValue?.count == 64)
            let lags = try Self.lags(status)
            for name in ["chronology", "review", "referrals", "audit", "alerts"] {
                let lag = try #require(lags[name], "no projection \(name) in \(run.stdout)")
                #expect((0...Int64(Self.expectedAtT.count)).contains(lag), "\(name) lags \(lag) events after watch: \(run.stdout)")
            }
            for item in status["projections"]?.arrayValue ?? [] {
                let o = item.objectValue
                if let p = o?["position"]?.intValue, let lag = o?["lag"]?.intValue { #expect(lag == head - p, "\(item)") }
            }
            let daemon = try #require(status["daemon"]?.objectValue, "no heartbeat: \(run.stdout)")
            #expect(daemon["position"]?.intValue == head, "the heartbeat's position: \(run.stdout)")
            #expect(daemon["interval"]?.doubleValue == 10, "\(run.stdout)")
            let beat = try #require(daemon["time"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }, "\(run.stdout)")
            #expect(abs(beat.date.timeIntervalSinceNow) < 60, "the heartbeat is the wall-clock time of the run: \(beat)")

            // Three intervals are 30 s.
            let fine = try Self.status(cli, store, ["--now", beat.adding(seconds: 25).rfc3339])
            #expect(fine.0.status == 0, "25 s after a heartbeat with a 10 s interval: \(fine.0)")
            let silent = try Self.status(cli, store, ["--now", beat.adding(seconds: 35).rfc3339])
            #expect(silent.0.status == 1, "35 s after a heartbeat with a 10 s interval: \(silent.0)")
            let farFuture = try cli.run(["status", "--now", beat.adding(seconds: 86_400).rfc3339], store: store, timeout: 30)
            #expect(farFuture.status == 1, "\(farFuture)")
            // The heartbeat was a `watch --once` run's: it has finished (a daemon killed falls silent instead:
            // DaemonStatusCLITests), and with no daemon running status pages.
            #expect(farFuture.stdout.contains("a `watch --once` run") && farFuture.stdout.contains("finished"), "\(farFuture.stdout)")
            #expect(farFuture.stderr.contains("no daemon is running"), "\(farFuture.stderr)")
        }
    }

    // MARK: - 8. Projector

    @Test func projectAdvancesEveryCheckpointToTheHead() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let fresh = try Self.status(cli, store)
            // Every command checks the roles first, so the access projection is always caught up.
            for (name, lag) in try Self.lags(fresh.1) where name != "access" { #expect(lag == 34, "\(name) before any projector ran: \(fresh.0.stdout)") }

            let project = try cli.run(["project"], store: store, timeout: 30)
            #expect(project.status == 0, "\(project)")
            let after = try Self.status(cli, store)
            #expect(try Self.lags(after.1).count == 7)  // every projection ProjectionRunner.all names, locations too
            for (name, lag) in try Self.lags(after.1) { #expect(lag == 0, "\(name) after project: \(after.0.stdout)") }

            // Raise alerts (appending to the log), then several projectors at once.
            _ = try cli.run(["watch", "--once", "--now", Self.T], store: store, timeout: 30)
            let projectors = try (0..<3).map { _ in try cli.start(["project"], store: store) }
            defer { for p in projectors { p.stopAndReap() } }
            for p in projectors {
                let r = try p.wait(timeout: 30)
                #expect(r.status == 0, "\(r)")
            }
            let many = try Self.status(cli, store)
            #expect(Self.headPosition(many.1) == 43)
            for (name, lag) in try Self.lags(many.1) { #expect(lag == 0, "\(name) after three projectors: \(many.0.stdout)") }

            // A later import, then one projector: every checkpoint reaches the new head.
            try Self.importLines(cli, store, Self.laterEvents)
            let stale = try Self.status(cli, store)
            #expect(Self.headPosition(stale.1) == 49)
            for (name, lag) in try Self.lags(stale.1) where name != "access" { #expect(lag == 6, "\(name) after importing 6 events: \(stale.0.stdout)") }
            #expect(try cli.run(["project"], store: store, timeout: 30).succeeded)
            for (name, lag) in try Self.lags(try Self.status(cli, store).1) { #expect(lag == 0, "\(name) after the second project") }
        }
    }

    /// `project --follow` is a process of its own: it keeps every checkpoint current while another
    /// writer appends (here: this test process, in a tight loop for a second and a half), and
    /// SIGTERM stops it with exit 0 within 2 s.
    @Test func projectFollowKeepsCheckpointsCurrentWhileAnotherProcessAppends() throws {
        try withCLI { cli in
            let store = try Self.newStore(cli, Self.handBuiltLog)
            let follower = try cli.start(["project", "--follow", "--interval", "100ms"], store: store)
            defer { follower.stopAndReap() }
            let started = try Poll.until(timeout: 10, every: 0.05) {
                if follower.poll() != nil { return true }
                return try Self.lags(try Self.status(cli, store).1).values.allSatisfy { $0 == 0 }
            }
            try #require(started && follower.poll() == nil, "project --follow did not start: \(follower.stderrSoFar)")
            let log = try EventLog(path: store)
            var appends = 0
            let deadline = Date().addingTimeInterval(1.5)
            while Date() < deadline && follower.poll() == nil {
                try log.append([ProposedEvent(stream: "participant-P-01", type: "SignpostGiven", occurredAt: Timestamp(rfc3339: "2024-05-31T10:00:00Z")!,
                                              actor: "cli-test", data: ["participant": "P-01", "service": "Synthetic service", "category": "health"])],
                               to: "participant-P-01", expecting: .any)
                appends += 1
            }
            let died = follower.poll()
            #expect(died == nil, "project --follow died after \(appends) appends by another writer: \(died.map { "\($0)" } ?? "")")
            if died == nil {
                let caughtUp = try Poll.until(timeout: 5, every: 0.1) {
                    let s = try Self.status(cli, store)
                    let lags = try Self.lags(s.1)
                    return Self.headPosition(s.1) == Int64(33 + appends) && lags.values.allSatisfy { $0 == 0 }
                }
                #expect(caughtUp, "project --follow did not catch up within 5 s: \(follower.stderrSoFar)")
                follower.terminate()
                let stopped = Poll.until(timeout: 2.0, every: 0.01) { follower.poll() != nil }
                #expect(stopped, "project --follow did not exit within 2 s of SIGTERM")
                let result = try follower.wait(timeout: 10)
                #expect(result.status == 0, "\(result)")
            }
        }
    }
}
