import EventStore
import Foundation
import Testing

/// Flags through the real `hubledger` binary: flags first in `history` (text, JSON, HTML) and
/// `review`, the facilitator's warning on stderr, and the removal rule. (`flag-review-due` is in
/// FlagReviewCLITests.swift.)
///
/// Every expected value below was worked out by hand from the events the test writes.
@Suite struct FlagsCLITests {
    typealias W = WatchCLITests

    static func flagRaised(_ p: String, _ flag: String, _ at: String, note: String, reviewBy: String? = nil) -> String {
        var data: JSONObject = ["participant": .string(p), "flag": .string(flag), "note": .string(note)]
        if let reviewBy { data["reviewBy"] = .string(reviewBy) }
        return W.line("FlagRaised", at, data)
    }

    static func flagRemoved(_ p: String, _ flag: String, _ at: String) -> String {
        W.line("FlagRemoved", at, ["participant": .string(p), "flag": .string(flag), "reason": "REASON-SECRET (synthetic)"])
    }

    /// P-1 carries no-photography (review by 1 April) and known-risk (no review date); P-2's medical flag
    /// (review by 20 March) was removed on 10 March; P-3 has none. The notes are marked so a leak shows.
    static let flaggedLog: [String] = [
        W.registered("P-1", "adult", "2025-03-01T09:00:00Z"),                                              // 0
        W.registered("P-2", "adult", "2025-03-01T09:01:00Z"),                                              // 1
        W.registered("P-3", "adult", "2025-03-01T09:02:00Z"),                                              // 2
        W.session("S-1", "2025-03-03T10:00:00Z"),                                                          // 3
        flagRaised("P-1", "no-photography", "2025-03-01T10:00:00Z", note: "NOTE-SECRET-1 (synthetic)", reviewBy: "2025-04-01"), // 4
        flagRaised("P-1", "known-risk", "2025-03-01T10:05:00Z", note: "NOTE-SECRET-2 (synthetic)"),        // 5
        flagRaised("P-2", "medical", "2025-03-01T10:10:00Z", note: "NOTE-SECRET-3 (synthetic)", reviewBy: "2025-03-20"), // 6
        flagRemoved("P-2", "medical", "2025-03-10T10:00:00Z"),                                             // 7
        W.attended("P-3", "S-1", "2025-03-03T10:05:00Z"),                                                  // 8
    ]

    static func json(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONObject {
        try #require(try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue,
                     "stdout is not one JSON object: \(result)", sourceLocation: sourceLocation)
    }

    // MARK: - history

    @Test func historyPrintsTheActiveFlagsBeforeAnythingElse() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let text = try cli.run(["history", "P-1", "--purpose", "flag test"], store: store)
            #expect(text.status == 0, "\(text)")
            let lines = text.stdout.components(separatedBy: "\n")
            #expect(lines.first == "ACTIVE FLAGS (2)", "\(text)")
            let header = try #require(lines.firstIndex { $0.hasPrefix("Chronology of P-1") }, "\(text)")
            let known = try #require(lines.firstIndex { $0.hasPrefix("  known-risk  raised 2025-03-01T10:05:00Z by \(osUserName())") }, "\(text)")
            let photo = try #require(lines.firstIndex { $0.hasPrefix("  no-photography  raised 2025-03-01T10:00:00Z by \(osUserName()), review by 2025-04-01 OVERDUE") },
                                     "\(text)")
            #expect(known < header && photo < header)
            #expect(lines[known + 1] == "    note: NOTE-SECRET-2 (synthetic)")
            #expect(lines[photo + 1] == "    note: NOTE-SECRET-1 (synthetic)")
            // The flags' own entries are still in the chronology, after the block.
            #expect(lines[(header + 1)...].contains { $0.contains("FlagRaised") && $0.contains("known-risk") })

            let removed = try cli.run(["history", "P-2", "--purpose", "flag test"], store: store)
            #expect(removed.stdout.hasPrefix("ACTIVE FLAGS: none\n"), "\(removed)")
            #expect(removed.stdout.contains("FlagRemoved"), "the removal is in the chronology: \(removed)")

            // As the log stood before the first flag (position 3), there were none.
            let before = try cli.run(["history", "P-1", "--purpose", "flag test", "--as-of", "3"], store: store)
            #expect(before.stdout.hasPrefix("ACTIVE FLAGS: none\n"), "\(before)")
        }
    }

    @Test func historyJSONCarriesTheFlagsAheadOfTheEntries() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let result = try cli.run(["history", "P-1", "--purpose", "flag test", "--json"], store: store)
            #expect(result.status == 0, "\(result)")
            let o = try Self.json(result)
            #expect(o.keys == ["participant", "head", "flags", "entries"])
            let flags = (o["flags"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(flags == [
                ["flag": "known-risk", "raisedAt": "2025-03-01T10:05:00Z", "raisedBy": .string(osUserName()), "note": "NOTE-SECRET-2 (synthetic)"],
                ["flag": "no-photography", "raisedAt": "2025-03-01T10:00:00Z", "raisedBy": .string(osUserName()), "reviewBy": "2025-04-01",
                 "note": "NOTE-SECRET-1 (synthetic)"],
            ])
            // P-1's registration, two raises; entries are as before.
            #expect(o["entries"]?.arrayValue?.count == 3)
            let removed = try Self.json(try cli.run(["history", "P-2", "--purpose", "flag test", "--json"], store: store))
            #expect(removed["flags"] == .array([]))
        }
    }

    @Test func theHTMLChronologyOpensWithTheFlagsBox() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let file = cli.storePath("p1.html")
            let run = try cli.run(["history", "P-1", "--purpose", "flag test", "--html", file], store: store)
            #expect(run.status == 0, "\(run)")
            let html = try String(contentsOfFile: file, encoding: .utf8)
            ReportCLITests().expectSelfContained(html)
            let box = try #require(html.range(of: "<section class=\"flags\">"), "no flags box")
            let firstEntry = try #require(html.range(of: "<div class=\"entry"), "no entries")
            #expect(box.lowerBound < firstEntry.lowerBound, "the flags box comes before the entries")
            let boxHTML = String(html[box.lowerBound..<firstEntry.lowerBound])
            #expect(boxHTML.contains("Active flags (2)"))
            #expect(boxHTML.contains("<span class=\"flag\">known-risk</span>"))
            #expect(boxHTML.contains("<span class=\"flag\">no-photography</span>"))
            #expect(boxHTML.contains("review by 2025-04-01 <span class=\"overdue\">OVERDUE</span>"))
            #expect(boxHTML.contains("NOTE-SECRET-1 (synthetic)"))
            #expect(html.contains("Flag raised: no-photography (review by 2025-04-01)"), "the raise is an entry in plain words")

            let none = cli.storePath("p2.html")
            #expect(try cli.run(["history", "P-2", "--purpose", "flag test", "--html", none], store: store).status == 0)
            let noneHTML = try String(contentsOfFile: none, encoding: .utf8)
            #expect(noneHTML.contains("No active flags."))
            #expect(noneHTML.contains("Flag removed: medical"))
        }
    }

    // MARK: - review

    @Test func reviewListsTheActiveFlagsFirstAndMarksOverdueReviews() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let onTime = try cli.run(["review", "--now", "2025-03-25T00:00:00Z"], store: store)
            #expect(onTime.status == 0, "\(onTime)")
            #expect(Array(onTime.lines.prefix(2)) == [
                "Active flags: 2 on 1 participant(s)",
                "  P-1: known-risk, no-photography (review by 2025-04-01)",
            ], "\(onTime)")
            #expect(onTime.lines.dropFirst(2).first?.hasPrefix("Safeguarding review at 2025-03-25T00:00:00Z (log head 8:") == true, "\(onTime)")
            let overdue = try cli.run(["review", "--now", "2025-04-02T00:00:00Z"], store: store)
            #expect(Array(overdue.lines.prefix(2)) == [
                "Active flags: 2 on 1 participant(s), 1 OVERDUE for review",
                "  P-1: known-risk, no-photography (review by 2025-04-01, OVERDUE)",
            ], "\(overdue)")
            #expect(!overdue.stdout.contains("NOTE-SECRET"), "the review shows no notes")

            let json = try Self.json(try cli.run(["review", "--json", "--now", "2025-04-02T00:00:00Z"], store: store))
            #expect(Array(json.keys.prefix(2)) == ["head", "activeFlags"])
            #expect((json["activeFlags"]?.arrayValue ?? []).compactMap(\.objectValue) == [
                ["participant": "P-1", "flag": "known-risk", "raisedAt": "2025-03-01T10:05:00Z", "reviewOverdue": false],
                ["participant": "P-1", "flag": "no-photography", "raisedAt": "2025-03-01T10:00:00Z", "reviewBy": "2025-04-01", "reviewOverdue": true],
            ])
        }
    }

    // MARK: - The facilitator's warning

    @Test func recordingAnAttendanceOfAFlaggedPersonWarnsWithTheFlagNamesOnly() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let flagged = try cli.run(["record", "AttendanceRecorded", "--participant", "P-1", "--session", "S-1",
                                       "--occurred-at", "2025-03-03T10:06:00Z"], store: store)
            #expect(flagged.status == 0, "\(flagged)")
            #expect(flagged.stdout.hasPrefix("recorded AttendanceRecorded at position 9"), "\(flagged)")
            #expect(flagged.stderr == "warning: P-1 has active flags: known-risk, no-photography\n", "\(flagged)")
            // A removed flag warns of nothing.
            let removed = try cli.run(["record", "AttendanceRecorded", "--participant", "P-2", "--session", "S-1",
                                       "--occurred-at", "2025-03-03T10:07:00Z"], store: store)
            #expect(removed.status == 0, "\(removed)")
            #expect(removed.stderr.isEmpty, "\(removed)")

            // A register and a JSON-lines import warn the same way, once per person.
            try W.importLines(cli, store, [W.session("S-2", "2025-03-10T10:00:00Z")])
            let register = cli.storePath("week2.csv")
            try "participant,happier,more_connected\nP-1,yes,yes\nP-3,no,yes\n".write(toFile: register, atomically: true, encoding: .utf8)
            let imported = try cli.run(["import", "--register", register, "--session", "S-2"], store: store)
            #expect(imported.status == 0, "\(imported)")
            // Its survey rows, with no surveys consent, are flagged by the consent rules too, and said so.
            let warnings = imported.stderr.split(separator: "\n").map(String.init)
            #expect(warnings.first == "warning: P-1 has active flags: known-risk, no-photography", "\(imported)")
            #expect(warnings.dropFirst().map { $0.components(separatedBy: ", dated").first ?? "" }
                    == ["warning: P-1's SurveyCompleted at session S-2", "warning: P-3's SurveyCompleted at session S-2"], "\(imported)")
            #expect(warnings.dropFirst().allSatisfy { $0.contains("is flagged survey-without-consent (review lists it)") }, "\(imported)")
            let lines = cli.storePath("week3.jsonl")
            try ([W.session("S-3", "2025-03-17T10:00:00Z"), W.attended("P-1", "S-3", "2025-03-17T10:05:00Z"),
                  W.attended("P-3", "S-3", "2025-03-17T10:05:00Z")].joined(separator: "\n") + "\n")
                .write(toFile: lines, atomically: true, encoding: .utf8)
            let dry = try cli.run(["import", lines, "--dry-run"], store: store)
            #expect(dry.status == 0, "\(dry)")
            #expect(dry.stderr.contains("warning: P-1 has active flags: known-risk, no-photography"), "\(dry)")
            let jsonl = try cli.run(["import", lines], store: store)
            #expect(jsonl.status == 0, "\(jsonl)")
            #expect(jsonl.stderr == "warning: P-1 has active flags: known-risk, no-photography\n", "\(jsonl)")
            for run in [flagged, imported, dry, jsonl] {
                #expect(!run.stderr.contains("NOTE-SECRET") && !run.stdout.contains("NOTE-SECRET"), "a note leaked: \(run)")
            }
        }
    }

    @Test func removingAFlagThatIsNotActiveIsRefusedAndWritesNothing() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            let before = try cli.run(["verify"], store: store).stdout
            let result = try cli.run(["record", "FlagRemoved", "--participant", "P-2", "--flag", "medical", "--reason", "Again"], store: store)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("field flag: P-2 has no active flag 'medical' to remove"), "\(result)")
            let badDate = try cli.run(["record", "FlagRaised", "--participant", "P-3", "--flag", "medical", "--note", "N",
                                       "--reviewBy", "next week"], store: store)
            #expect(badDate.status == 1, "\(badDate)")
            #expect(badDate.stderr.contains("field reviewBy"), "\(badDate)")
            #expect(try cli.run(["verify"], store: store).stdout == before)
        }
    }
}
