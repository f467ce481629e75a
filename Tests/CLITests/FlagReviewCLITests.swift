import EventStore
import Foundation
import Testing

/// `flag-review-due` through `watch --once --now T`: raised once per participant, flag and review
/// date, again only when a renewal brings a new date, never for a removed flag.
extension FlagsCLITests {
    /// The `flag-review-due` alerts a `watch --once` printed, as `participant/flag/reviewBy`; every line must be one.
    static func flagAlerts(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try result.lines.map { line in
            let o = try #require(try JSONParser.parse(line).objectValue, sourceLocation: sourceLocation)
            #expect(o["kind"] == "flag-review-due", "\(line)", sourceLocation: sourceLocation)
            #expect(o["level"] == "warning", sourceLocation: sourceLocation)
            #expect(Set(o.keys) == ["id", "kind", "level", "participant", "hub", "region", "flag", "reviewBy", "position", "raisedAt"], "\(line)",
                    sourceLocation: sourceLocation)
            return "\(o["participant"]?.stringValue ?? "")/\(o["flag"]?.stringValue ?? "")/\(o["reviewBy"]?.stringValue ?? "")"
        }
    }

    @Test func aFlagReviewIsRaisedOnceAndAgainOnlyForARenewalsNewDate() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.flaggedLog)
            func watch(_ now: String) throws -> CLIResult {
                let result = try cli.run(["watch", "--once", "--now", now], store: store, timeout: 30)
                #expect(result.status == 0, "\(result)")
                #expect(!result.stdout.contains("NOTE-SECRET"), "an alert carries no note")
                return result
            }
            // On 1 April the review is still on time (due by the end of that day).
            #expect(try Self.flagAlerts(try watch("2025-04-01T23:00:00Z")).isEmpty)
            // On 2 April it is overdue: raised once. P-2's medical flag was removed before its date; known-risk has none.
            let first = try watch("2025-04-02T00:00:00Z")
            #expect(try Self.flagAlerts(first) == ["P-1/no-photography/2025-04-01"])
            #expect(first.lines.first?.contains(#""position":4"#) == true, "\(first)")
            #expect(try Self.flagAlerts(try watch("2025-04-02T00:00:00Z")).isEmpty, "raised again at the same time")
            #expect(try Self.flagAlerts(try watch("2025-05-01T00:00:00Z")).isEmpty, "raised again later")

            // Renewed with a new date: nothing until that date passes, then once.
            let renewal = try cli.run(["record", "FlagRaised", "--participant", "P-1", "--flag", "no-photography", "--note", "Renewed (synthetic)",
                                       "--reviewBy", "2025-06-30", "--occurred-at", "2025-05-02T10:00:00Z"], store: store)
            #expect(renewal.status == 0, "\(renewal)")
            #expect(try Self.flagAlerts(try watch("2025-06-30T12:00:00Z")).isEmpty)
            #expect(try Self.flagAlerts(try watch("2025-07-01T00:00:00Z")) == ["P-1/no-photography/2025-06-30"])
            #expect(try Self.flagAlerts(try watch("2025-07-01T00:00:00Z")).isEmpty)

            // A flag removed before its date is never due.
            try W.importLines(cli, store, [Self.flagRaised("P-3", "medical", "2025-07-02T10:00:00Z", note: "NOTE-SECRET-4", reviewBy: "2025-07-15"),
                                           Self.flagRemoved("P-3", "medical", "2025-07-10T10:00:00Z")])
            #expect(try Self.flagAlerts(try watch("2025-08-01T00:00:00Z")).isEmpty)

            // The alerts stream holds each exactly once.
            let recorded = try W.logEvents(cli, store, stream: "alerts").compactMap { $0["data"]?.objectValue }
            #expect(recorded.map { "\($0["participant"]?.stringValue ?? "")/\($0["flag"]?.stringValue ?? "")/\($0["reviewBy"]?.stringValue ?? "")" }
                    == ["P-1/no-photography/2025-04-01", "P-1/no-photography/2025-06-30"])
        }
    }
}
