import EventStore
import Foundation
import Testing

/// Referral acceptance through the real binary: `record ReferralAccepted` (and its refusals), the
/// accepted step, the days each step took and `medianDaysToAcceptance` in `referrals`. Every expected
/// value was worked out by hand.
@Suite struct ReferralAcceptanceCLITests {
    typealias W = WatchCLITests

    static let referralLog: [String] = [
        W.registered("P-1", "adult", "2025-02-20T09:00:00Z"),
        W.registered("P-2", "adult", "2025-02-20T09:00:00Z"),
        W.registered("P-3", "adult", "2025-02-20T09:00:00Z"),
        W.registered("P-4", "adult", "2025-02-20T09:00:00Z"),
        W.referral("R-1", "P-1", "2025-03-01T00:00:00Z"),
        W.referral("R-2", "P-2", "2025-03-01T00:00:00Z"),
        W.referral("R-3", "P-3", "2025-03-01T00:00:00Z"),
        W.referral("R-4", "P-4", "2025-03-01T00:00:00Z"),
        W.declined("R-4", "2025-03-02T00:00:00Z"),
        W.line("ReferralContacted", "2025-03-02T00:00:00Z", ["referral": "R-2", "channel": "phone"]),
        W.session("S-1", "2025-03-10T10:00:00Z"),
        W.attended("P-1", "S-1", "2025-03-10T10:05:00Z"),
    ]

    /// As if the clock read T: a referral received or a concern raised after T had not happened, so it is not
    /// listed or counted (it was, waiting -30 days, found by acceptance testing); from a later T it is.
    @Test func referralsAndConcernsFromAfterNowAreLeftOut() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.referralLog + [
                W.referral("R-5", "P-3", "2025-04-01T00:00:00Z"), W.concern("C-1", "P-3", "high", "2025-04-02T00:00:00Z"),
            ])
            func referrals(_ now: String) throws -> JSONObject { try cli.run(["referrals", "--json", "--now", now], store: store).json() }
            func review(_ now: String) throws -> JSONObject { try cli.run(["review", "--json", "--now", now], store: store).json() }
            let early = try referrals("2025-03-20T00:00:00Z")
            let listed = early["referrals"]?.arrayValue?.compactMap { $0.objectValue?["referral"]?.stringValue }
            #expect(listed == ["R-1", "R-2", "R-3", "R-4"], "\(early)")
            #expect(early["kpis"]?.objectValue?["bySource"]?.objectValue?.pairs.reduce(0) { $0 + ($1.value.intValue ?? 0) } == 4)
            let waits = early["referrals"]?.arrayValue?.compactMap { $0.objectValue?["daysWaiting"]?.intValue } ?? []
            #expect(waits.allSatisfy { $0 >= 0 } && waits == [19, 19], "\(early)")
            #expect(try review("2025-03-20T00:00:00Z")["openConcerns"]?.arrayValue?.isEmpty == true)

            let later = try referrals("2025-04-03T00:00:00Z")
            let r5 = later["referrals"]?.arrayValue?.compactMap(\.objectValue).first { $0["referral"]?.stringValue == "R-5" }
            #expect(r5?["daysWaiting"] == .int(2), "\(later)")
            let open = try review("2025-04-03T00:00:00Z")["openConcerns"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(open.map { $0["concern"]?.stringValue } == ["C-1"] && open.first?["ageDays"] == .int(1), "\(open)")
        }
    }

    /// As if the clock read T, a step taken after T had not been taken: a referral shows as it stood at T (not
    /// contacted, not declined, still waiting), and a concern, flag or flagged attendance as it stood then. They used
    /// to show as taken at any T (found by acceptance testing).
    @Test func stepsTakenAfterNowAreNotShownAsTaken() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.referralLog + [
                W.registered("P-9", "child", "2025-02-20T09:00:00Z"),
                W.concern("C-1", "P-3", "high", "2025-03-02T00:00:00Z"), W.escalated("C-1", "2025-03-04T00:00:00Z"),
                W.concernClosed("C-1", "2025-03-06T00:00:00Z"),
                FlagsCLITests.flagRaised("P-3", "known-risk", "2025-03-02T00:00:00Z", note: "Synthetic note"),
                FlagsCLITests.flagRemoved("P-3", "known-risk", "2025-03-05T00:00:00Z"),
                W.attended("P-9", "S-1", "2025-03-10T10:06:00Z"),
            ])
            func referrals(_ now: String) throws -> [String: JSONObject] {
                let rows = try cli.run(["referrals", "--json", "--now", now], store: store).json()["referrals"]?.arrayValue?.compactMap(\.objectValue) ?? []
                return Dictionary(uniqueKeysWithValues: rows.compactMap { r in r["referral"]?.stringValue.map { ($0, r) } })
            }
            func review(_ now: String) throws -> JSONObject { try cli.run(["review", "--json", "--now", now], store: store).json() }

            let before = try referrals("2025-03-01T12:00:00Z")
            #expect(before["R-1"]?["status"] == "awaiting-first-attendance" && before["R-1"]?["firstAttendedAt"] == nil, "\(before)")
            #expect(before["R-2"]?["contactedAt"] == nil && before["R-2"]?["daysToFirstContact"] == nil, "\(before)")
            #expect(before["R-4"]?["status"] == "awaiting-first-attendance" && before["R-4"]?["daysWaiting"] == .int(0), "\(before)")
            let after = try referrals("2025-03-11T00:00:00Z")
            #expect(after["R-1"]?["status"] == "attended" && after["R-1"]?["firstAttendedAt"] == "2025-03-10T10:00:00Z", "\(after)")
            #expect(after["R-2"]?["contactedAt"] == "2025-03-02T00:00:00Z", "\(after)")
            #expect(after["R-4"]?["status"] == "declined", "\(after)")

            func concerns(_ r: JSONObject) -> [String] { r["openConcerns"]?.arrayValue?.compactMap { $0.objectValue?["concern"]?.stringValue } ?? [] }
            func unescalated(_ r: JSONObject) -> [String] {
                r["unescalatedHighConcerns"]?.arrayValue?.compactMap { $0.objectValue?["concern"]?.stringValue } ?? []
            }
            func flags(_ r: JSONObject) -> [String] { r["activeFlags"]?.arrayValue?.compactMap { $0.objectValue?["flag"]?.stringValue } ?? [] }
            func flaggedPeople(_ r: JSONObject) -> [String] {
                r["flaggedAttendances"]?.arrayValue?.compactMap { $0.objectValue?["participant"]?.stringValue } ?? []
            }
            let day3 = try review("2025-03-03T12:00:00Z")
            #expect(concerns(day3) == ["C-1"] && unescalated(day3) == ["C-1"] && flags(day3) == ["known-risk"] && flaggedPeople(day3).isEmpty, "\(day3)")
            let day5 = try review("2025-03-05T12:00:00Z")
            #expect(concerns(day5) == ["C-1"] && unescalated(day5).isEmpty && flags(day5).isEmpty, "\(day5)")
            let day11 = try review("2025-03-11T00:00:00Z")
            #expect(concerns(day11).isEmpty && flaggedPeople(day11) == ["P-9"], "\(day11)")

            // As the issues define them: the alert is due 24 hours after a high concern was raised; the review lists
            // it once it has been open more than 24 hours.
            #expect(unescalated(try review("2025-03-03T00:00:00Z")).isEmpty)
            #expect(unescalated(try review("2025-03-03T00:00:00.000001Z")) == ["C-1"])
            let dryRun = try cli.run(["watch", "--once", "--dry-run", "--now", "2025-03-03T00:00:00Z"], store: store)
            #expect(dryRun.stdout.contains("\"kind\":\"concern-unescalated\""), "\(dryRun)")
            // A bare date is the end of that day, as for --as-of; both views state their T.
            #expect(try review("2025-03-03")["now"] == "2025-03-03T23:59:59.999999Z")
            #expect(try cli.run(["referrals", "--json", "--now", "2025-03-03"], store: store).json()["now"] == "2025-03-03T23:59:59.999999Z")
            #expect(try cli.run(["review", "--now", "2025-03-03"], store: store).stdout.contains("Safeguarding review at 2025-03-03T23:59:59.999999Z"))
        }
    }

    @Test func referralsShowTheAcceptedStepItsDaysAndTheMedianDaysToAcceptance() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.referralLog)
            for (r, at) in [("R-1", "2025-03-03T12:00:00Z"), ("R-2", "2025-03-05T00:00:00Z")] {
                let accepted = try cli.run(["record", "ReferralAccepted", "--referral", r, "--occurred-at", at], store: store)
                #expect(accepted.status == 0, "\(accepted)")
            }
            // Declined stays declined; accepted once.
            let declined = try cli.run(["record", "ReferralAccepted", "--referral", "R-4"], store: store)
            #expect(declined.status == 1, "\(declined)")
            #expect(declined.stderr.contains("field referral: referral R-4 was declined"), "\(declined)")
            let twice = try cli.run(["record", "ReferralAccepted", "--referral", "R-1"], store: store)
            #expect(twice.status == 1, "\(twice)")
            #expect(twice.stderr.contains("already accepted"), "\(twice)")

            let result = try cli.run(["referrals", "--json", "--now", "2025-04-01T00:00:00Z"], store: store)
            #expect(result.status == 0, "\(result)")
            let o = try FlagsCLITests.json(result)
            let by = Dictionary(uniqueKeysWithValues: (o["referrals"]?.arrayValue ?? []).compactMap(\.objectValue).map { ($0["referral"]?.stringValue ?? "", $0) })
            #expect(by.mapValues { $0["status"]?.stringValue ?? "" } == ["R-1": "attended", "R-2": "awaiting-first-attendance",
                                                                         "R-3": "awaiting-first-attendance", "R-4": "declined"])
            #expect(by["R-1"]?["acceptedAt"] == "2025-03-03T12:00:00Z")
            #expect(by["R-1"]?["daysToAcceptance"]?.doubleValue == 2.5)
            #expect(by["R-1"]?["firstAttendedAt"] == "2025-03-10T10:00:00Z")
            #expect(by["R-1"]?["daysToFirstAttendance"]?.doubleValue.map { abs($0 - (9 + 10.0 / 24)) < 1e-9 } == true)
            #expect(by["R-2"]?["acceptedAt"] == "2025-03-05T00:00:00Z")
            #expect(by["R-2"]?["daysToAcceptance"]?.doubleValue == 4)
            #expect(by["R-2"]?["daysToFirstContact"]?.doubleValue == 1)
            #expect(by["R-2"]?["daysWaiting"]?.intValue == 31)
            #expect(by["R-3"]?["acceptedAt"] == nil && by["R-3"]?["daysToAcceptance"] == nil)
            #expect(by["R-4"]?["acceptedAt"] == nil)
            let kpis = try #require(o["kpis"]?.objectValue)
            #expect(kpis["medianDaysToAcceptance"]?.doubleValue == 3.25)
            #expect(kpis["medianDaysToFirstContact"]?.doubleValue == 1)
            #expect(kpis["byStatus"] == ["attended": 1, "awaiting-first-attendance": 2, "declined": 1])

            // Acceptance is not a status: the waiting list still holds.
            let waiting = try FlagsCLITests.json(try cli.run(["referrals", "--json", "--status", "awaiting-first-attendance", "--now", "2025-04-01T00:00:00Z"], store: store))
            #expect((waiting["referrals"]?.arrayValue ?? []).compactMap { $0.objectValue?["referral"]?.stringValue } == ["R-2", "R-3"])
            #expect(try cli.run(["referrals", "--status", "accepted"], store: store).status == 2)

            let text = try cli.run(["referrals", "--now", "2025-04-01T00:00:00Z"], store: store)
            #expect(text.stdout.contains("      accepted 2025-03-03 (day 2.5) → first attended 2025-03-10 (day 9.4)"), "\(text)")
            #expect(text.stdout.contains("      contacted 2025-03-02 (day 1.0) → accepted 2025-03-05 (day 4.0)"), "\(text)")
            #expect(text.stdout.contains("to acceptance: 3."), "\(text)")
        }
    }
}
