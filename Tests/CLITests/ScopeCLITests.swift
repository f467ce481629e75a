import EventStore
import Foundation
import Testing

/// Need-to-know by hub: grants limited to hubs or regions, through the real executable.
@Suite(.serialized)
struct ScopeCLITests {
    static let T0 = "2025-03-03T10:00:00Z"

    /// Two hubs in two regions, a participant, session, concern and referral in each, and staff with scoped roles.
    static func twoHubStore(_ cli: CLIHarness) throws -> String {
        let store = cli.storePath()
        try #require(cli.run(["init"], store: store).succeeded)
        let lines = [
            #"{"type":"ParticipantRegistered","occurredAt":"2025-03-01T10:00:00Z","data":{"participant":"P-W1","generation":"adult","hub":"woking","region":"surrey"}}"#,
            #"{"type":"ParticipantRegistered","occurredAt":"2025-03-01T10:00:00Z","data":{"participant":"P-S1","generation":"adult","hub":"salford","region":"greater-manchester"}}"#,
            #"{"type":"ConsentGiven","occurredAt":"2025-03-01T10:01:00Z","data":{"participant":"P-W1","scope":"participation","givenBy":"self"}}"#,
            #"{"type":"ConsentGiven","occurredAt":"2025-03-01T10:01:00Z","data":{"participant":"P-S1","scope":"participation","givenBy":"self"}}"#,
            #"{"type":"SessionHeld","occurredAt":"2025-03-03T10:00:00Z","data":{"session":"S-W","hub":"woking","region":"surrey","programme":"w","week":1}}"#,
            #"{"type":"SessionHeld","occurredAt":"2025-03-03T10:00:00Z","data":{"session":"S-S","hub":"salford","region":"greater-manchester","programme":"s","week":1}}"#,
            #"{"type":"ConcernRaised","occurredAt":"2025-03-03T11:00:00Z","data":{"concern":"C-W","participant":"P-W1","category":"emotional","severity":"medium","account":"Synthetic.","actionTaken":"Synthetic.","dslInformed":true}}"#,
            #"{"type":"ConcernRaised","occurredAt":"2025-03-03T11:00:00Z","data":{"concern":"C-S","participant":"P-S1","category":"emotional","severity":"medium","account":"Synthetic.","actionTaken":"Synthetic.","dslInformed":true}}"#,
            #"{"type":"ReferralReceived","occurredAt":"2025-03-02T09:00:00Z","data":{"referral":"R-W","participant":"P-W1","source":"gp","referrer":"Synthetic","reason":"Synthetic","urgent":false}}"#,
            #"{"type":"ReferralReceived","occurredAt":"2025-03-02T09:00:00Z","data":{"referral":"R-S","participant":"P-S1","source":"gp","referrer":"Synthetic","reason":"Synthetic","urgent":false}}"#,
        ]
        let file = store + "-base.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try cli.run(["import", file], store: store)
        try #require(imported.succeeded, "\(imported)")
        for grant in [["lead-w", "safeguarding-lead", "--hub", "woking"], ["lead-gm", "safeguarding-lead", "--region", "greater-manchester"],
                      ["fac-w", "facilitator", "--hub", "woking"], ["coord-s", "referral-coordinator", "--hub", "salford"],
                      ["lead-all", "safeguarding-lead"]] {
            let granted = try cli.run(["access", "grant"] + grant, store: store)
            try #require(granted.succeeded, "\(granted)")
        }
        return store
    }

    struct Case: Sendable, CustomStringConvertible {
        var actor: String
        var arguments: [String]
        var allowed: Bool
        var description: String { "\(actor): \(arguments.joined(separator: " "))" }
    }

    static let cases: [Case] = [
        Case(actor: "lead-w", arguments: ["history", "P-W1", "--purpose", "scope"], allowed: true),
        Case(actor: "lead-w", arguments: ["history", "P-S1", "--purpose", "scope"], allowed: false),
        Case(actor: "lead-gm", arguments: ["history", "P-S1", "--purpose", "scope"], allowed: true),
        Case(actor: "lead-gm", arguments: ["history", "P-W1", "--purpose", "scope"], allowed: false),
        Case(actor: "lead-all", arguments: ["history", "P-S1", "--purpose", "scope"], allowed: true),
        Case(actor: "lead-w", arguments: ["history", "P-S1", "--views"], allowed: false),
        Case(actor: "fac-w", arguments: ["record", "AttendanceRecorded", "--participant", "P-W1", "--session", "S-W", "--dry-run"], allowed: true),
        Case(actor: "fac-w", arguments: ["record", "AttendanceRecorded", "--participant", "P-S1", "--session", "S-S", "--dry-run"], allowed: false),
        Case(actor: "fac-w", arguments: ["record", "AttendanceRecorded", "--participant", "P-W1", "--session", "S-S", "--dry-run"], allowed: false),
        Case(actor: "fac-w", arguments: ["record", "SessionHeld", "--session", "S-W2", "--hub", "woking", "--region", "surrey", "--programme", "w",
                                         "--week", "2", "--dry-run"], allowed: true),
        Case(actor: "fac-w", arguments: ["record", "SessionHeld", "--session", "S-S2", "--hub", "salford", "--region", "greater-manchester",
                                         "--programme", "s", "--week", "2", "--dry-run"], allowed: false),
        Case(actor: "fac-w", arguments: ["record", "ConcernRaised", "--concern", "C-X", "--participant", "P-S1", "--category", "neglect",
                                         "--severity", "low", "--account", "Synthetic.", "--actionTaken", "Synthetic.", "--dslInformed", "true",
                                         "--dry-run"], allowed: false),
        Case(actor: "coord-s", arguments: ["record", "ReferralContacted", "--referral", "R-S", "--channel", "phone", "--dry-run"], allowed: true),
        Case(actor: "coord-s", arguments: ["record", "ReferralContacted", "--referral", "R-W", "--channel", "phone", "--dry-run"], allowed: false),
        Case(actor: "lead-w", arguments: ["record", "ConcernEscalated", "--concern", "C-W", "--to", "gp", "--dry-run"], allowed: true),
        Case(actor: "lead-w", arguments: ["record", "ConcernEscalated", "--concern", "C-S", "--to", "gp", "--dry-run"], allowed: false),
        Case(actor: "lead-gm", arguments: ["record", "ParticipantMoved", "--participant", "P-W1", "--hub", "salford", "--region",
                                           "greater-manchester", "--dry-run"], allowed: false),
        // An admin for one region: verify and the role list (and its daemon, below), but nothing that reads or writes every hub's records.
        Case(actor: "adm-gm", arguments: ["verify"], allowed: true),
        Case(actor: "adm-gm", arguments: ["access", "list"], allowed: true),
        Case(actor: "adm-gm", arguments: ["log"], allowed: false),
        Case(actor: "adm-gm", arguments: ["export", "--include-sensitive"], allowed: false),
        Case(actor: "adm-gm", arguments: ["append", "--stream", "participant-P-W1"], allowed: false),
        Case(actor: "adm-gm", arguments: ["access", "grant", "adm-gm", "safeguarding-lead"], allowed: false),
        Case(actor: "adm-gm", arguments: ["access", "revoke", "lead-w", "safeguarding-lead"], allowed: false),
    ]

    @Test func eachScopedActorReachesOnlyItsOwnHubsAndEveryRefusalIsRecorded() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            try #require(cli.run(["access", "grant", "adm-gm", "admin", "--region", "greater-manchester"], store: store).succeeded)
            var problems: [String] = []
            for c in Self.cases {
                let before = try cli.run(["log", "--json", "--stream", "access-denied"], store: store).lines.count
                let result = try cli.run(c.arguments, store: store, environment: ["HUBLEDGER_ACTOR": c.actor])
                let denials = try cli.run(["log", "--json", "--stream", "access-denied"], store: store).lines
                if c.allowed {
                    if !result.succeeded || denials.count != before { problems.append("\(c) was refused: \(result)") }
                } else {
                    if result.status != 1 || !result.stderr.contains("outside the scope") { problems.append("\(c) was not refused for scope: \(result)") }
                    if denials.count != before + 1 || denials.last?.contains("out of scope") != true { problems.append("\(c): no AccessDenied recorded") }
                    if !result.stdout.isEmpty { problems.append("\(c) printed \(result.stdout.prefix(200))") }
                    // Not where the person or session is: the actor may not know that (the log's AccessDenied records it).
                    if result.stderr.contains("(hub ") {
                        problems.append("\(c) told the actor where: \(result.stderr)")
                    }
                }
            }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test func listsShowOnlyWhatIsInTheActorsScope() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            func concerns(_ actor: String) throws -> [String] {
                let review = try cli.run(["review", "--json"], store: store, environment: ["HUBLEDGER_ACTOR": actor]).json()
                return (review["openConcerns"]?.arrayValue ?? []).compactMap { $0.objectValue?["concern"]?.stringValue }.sorted()
            }
            #expect(try concerns("lead-w") == ["C-W"])
            #expect(try concerns("lead-gm") == ["C-S"])
            #expect(try concerns("lead-all") == ["C-S", "C-W"])
            let referrals = try cli.run(["referrals", "--json"], store: store, environment: ["HUBLEDGER_ACTOR": "coord-s"]).json()
            #expect((referrals["referrals"]?.arrayValue ?? []).compactMap { $0.objectValue?["referral"]?.stringValue } == ["R-S"])
            #expect(referrals["kpis"]?.objectValue?["bySource"] == ["gp": 1], "the KPIs count only what the actor may see")
            // The audit is aggregate-only: not limited by scope.
            let audit = try cli.run(["audit", "--json"], store: store).json()
            #expect(audit["metrics"]?.objectValue?["sessions"]?.objectValue?["value"] == 2)
        }
    }

    @Test func aDaemonRunByAScopedAdminRaisesOnlyItsRegionsAlerts() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            try #require(cli.run(["access", "grant", "ops-gm", "admin", "--region", "greater-manchester"], store: store).succeeded)
            let scoped = try cli.run(["watch", "--once", "--now", "2025-05-01T00:00:00Z"], store: store, environment: ["HUBLEDGER_ACTOR": "ops-gm"])
            let alerts = try scoped.lines.map { try #require(try JSONParser.parse($0).objectValue) }
            #expect(!alerts.isEmpty, "\(scoped)")
            #expect(alerts.allSatisfy { $0["region"] == "greater-manchester" && $0["hub"] == "salford" }, "\(scoped.stdout)")
            #expect(alerts.contains { $0["referral"] == "R-S" } && !alerts.contains { $0["referral"] == "R-W" })
            // The unscoped daemon then raises the rest, and only the rest.
            let everyone = try cli.run(["watch", "--once", "--now", "2025-05-01T00:00:00Z"], store: store)
            let rest = try everyone.lines.map { try #require(try JSONParser.parse($0).objectValue) }
            #expect(rest.contains { $0["referral"] == "R-W" } && !rest.contains { $0["referral"] == "R-S" }, "\(everyone.stdout)")
        }
    }

    @Test func movingAParticipantChangesWhoMaySeeThemFromThen() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            let lead = ["HUBLEDGER_ACTOR": "lead-w"], leadGM = ["HUBLEDGER_ACTOR": "lead-gm"]
            #expect(try cli.run(["history", "P-W1", "--purpose", "before the move"], store: store, environment: lead).succeeded)
            #expect(try cli.run(["history", "P-W1", "--purpose", "before the move"], store: store, environment: leadGM).status == 1)
            let moved = try cli.run(["record", "ParticipantMoved", "--participant", "P-W1", "--hub", "salford", "--region", "greater-manchester"],
                                    store: store)
            #expect(moved.succeeded, "\(moved)")
            let nowRefused = try cli.run(["history", "P-W1", "--purpose", "after the move"], store: store, environment: lead)
            #expect(nowRefused.status == 1 && nowRefused.stderr.contains("outside the scope"), "\(nowRefused)")
            // Where they went is recorded for the admins, not told to a lead who may no longer see them.
            #expect(!nowRefused.stderr.contains("salford"), "\(nowRefused)")
            let denied = try cli.run(["log", "--json", "--stream", "access-denied"], store: store).lines
            #expect(denied.last?.contains("hub salford") == true, "\(denied.last ?? "")")
            #expect(try cli.run(["history", "P-W1", "--purpose", "after the move"], store: store, environment: leadGM).succeeded)
            // Their referral and concern move with them.
            let review = try cli.run(["review", "--json"], store: store, environment: leadGM).json()
            #expect((review["openConcerns"]?.arrayValue ?? []).compactMap { $0.objectValue?["concern"]?.stringValue }.sorted() == ["C-S", "C-W"])
            #expect(try cli.run(["review", "--json"], store: store, environment: lead).json()["openConcerns"]?.arrayValue?.isEmpty == true)
            // Retracting the move puts them back.
            let log = try cli.run(["log", "--json", "--stream", "participant-P-W1"], store: store).lines
            let move = try #require(log.last { $0.contains("\"ParticipantMoved\"") })
            let id = try #require(try JSONParser.parse(move).objectValue?["id"]?.stringValue)
            #expect(try cli.run(["retract", id, "--reason", "Moved by mistake"], store: store).succeeded)
            #expect(try cli.run(["history", "P-W1", "--purpose", "after the retraction"], store: store, environment: lead).succeeded)
        }
    }

    @Test func anImportWithOneLineOutOfScopeIsRefusedWhole() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            let head = try cli.run(["verify", "--json"], store: store).json()["head"]
            let file = cli.storePath("mixed.jsonl")
            try ([#"{"type":"AttendanceRecorded","occurredAt":"2025-03-03T10:30:00Z","data":{"participant":"P-W1","session":"S-W"}}"#,
                  #"{"type":"AttendanceRecorded","occurredAt":"2025-03-03T10:30:00Z","data":{"participant":"P-S1","session":"S-S"}}"#]
                .joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let refused = try cli.run(["import", file], store: store, environment: ["HUBLEDGER_ACTOR": "fac-w"])
            #expect(refused.status == 1 && refused.stderr.contains("participant P-S1"), "\(refused)")
            let after = try cli.run(["log", "--json"], store: store).lines
            #expect(after.filter { $0.contains("AttendanceRecorded") }.isEmpty)
            #expect(try cli.run(["verify", "--json"], store: store).json()["head"] != head, "only the refusal was appended")
            #expect(after.last?.contains("AccessDenied") == true)
            // The refusal records what lay outside the scope: the one person, not the whole file or session.
            let denial = try #require(after.last.flatMap { try? JSONParser.parse($0).objectValue })
            #expect(denial["data"]?.objectValue?["subject"] == "participant P-S1", "\(denial)")
            let register = cli.storePath("register.csv")
            try "participant\nP-W1\nP-S1\n".write(toFile: register, atomically: true, encoding: .utf8)
            let registerRefused = try cli.run(["import", "--register", register, "--session", "S-W"], store: store, environment: ["HUBLEDGER_ACTOR": "fac-w"])
            #expect(registerRefused.status == 1, "\(registerRefused)")
            let registerDenial = try #require(try cli.run(["log", "--json"], store: store).lines.last.flatMap { try? JSONParser.parse($0).objectValue })
            #expect(registerDenial["data"]?.objectValue?["subject"] == "participant P-S1", "\(registerDenial)")
        }
    }

    @Test func scopedGrantsAreValidatedListedAndAddUp() throws {
        try withCLI { cli in
            let store = try Self.twoHubStore(cli)
            #expect(try cli.run(["access", "grant", "x", "auditor", "--region", "mars"], store: store).status == 2)
            #expect(try cli.run(["access", "revoke", "lead-w", "safeguarding-lead", "--hub", "woking"], store: store).status == 2)
            let again = try cli.run(["access", "grant", "lead-w", "safeguarding-lead", "--hub", "woking"], store: store)
            #expect(again.succeeded && again.stdout.contains("already"), "\(again)")
            #expect(try cli.run(["access", "grant", "lead-w", "safeguarding-lead", "--hub", "salford"], store: store).succeeded)
            let list = try cli.run(["access", "list", "--json"], store: store).json()
            let leadW = (list["actors"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["actor"] == "lead-w" }
            #expect(leadW?["roles"] == [["role": "safeguarding-lead", "hubs": ["salford", "woking"]]])
            #expect(try cli.run(["history", "P-S1", "--purpose", "widened"], store: store, environment: ["HUBLEDGER_ACTOR": "lead-w"]).succeeded)
            // A hub nobody is at (another case, a typo) is granted, with a warning that names the hub it may mean.
            let typo = try cli.run(["access", "grant", "fac-x", "facilitator", "--hub", "Woking"], store: store)
            #expect(typo.succeeded, "\(typo)")
            #expect(typo.stderr.contains("warning: no participant or session is at hub 'Woking' yet (did you mean woking?)"), "\(typo)")
            let known = try cli.run(["access", "grant", "fac-y", "facilitator", "--hub", "salford"], store: store)
            #expect(known.succeeded && !known.stderr.contains("warning"), "\(known)")
        }
    }
}
