#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import Testing

/// Roles, the record of views, erasure and the store's permissions, through the real executable.
@Suite(.serialized)
struct AccessCLITests {
    /// A demo store with one actor per role (and a concern and a referral to act on).
    static func staffedStore(_ cli: CLIHarness, name: String = "store") throws -> String {
        let store = cli.storePath(name)
        try #require(cli.run(["init"], store: store).succeeded)
        try #require(cli.run(["demo", "--participants", "40"], store: store).succeeded)
        for (actor, role) in [("fac", "facilitator"), ("coord", "referral-coordinator"), ("lead", "safeguarding-lead"),
                              ("aud", "auditor"), ("adm", "admin")] {
            let granted = try cli.run(["access", "grant", actor, role], store: store)
            try #require(granted.succeeded, "\(granted)")
        }
        let concern = try cli.run(["record", "ConcernRaised", "--concern", "C-T1", "--participant", "P-0002", "--category", "emotional",
                                   "--severity", "medium", "--account", "Synthetic account of a worry.", "--actionTaken", "Told the DSL.",
                                   "--dslInformed", "true"], store: store)
        try #require(concern.succeeded, "\(concern)")
        let referral = try cli.run(["record", "ReferralReceived", "--referral", "R-T1", "--participant", "P-0003", "--source", "gp",
                                    "--referrer", "Synthetic Surgery", "--reason", "Low mood after a bereavement (synthetic)",
                                    "--urgent", "false"], store: store)
        try #require(referral.succeeded, "\(referral)")
        return store
    }

    static func events(_ cli: CLIHarness, _ store: String, stream: String? = nil) throws -> [JSONObject] {
        let log = try cli.run(["log", "--json"] + (stream.map { ["--stream", $0] } ?? []), store: store)
        try #require(log.succeeded, "\(log)")
        return try log.lines.map { try #require(try JSONParser.parse($0).objectValue) }
    }

    /// One command and the roles that may run it.
    struct Case: Sendable, CustomStringConvertible {
        var arguments: [String]
        var allowed: Set<String>
        var description: String { arguments.prefix(3).joined(separator: " ") }
    }

    static let actors = ["fac", "coord", "lead", "aud", "adm"]
    static let cases: [Case] = [
        Case(arguments: ["record", "SessionHeld", "--session", "S-T9", "--hub", "woking", "--region", "surrey", "--programme", "p",
                         "--week", "1", "--dry-run"], allowed: ["fac", "lead", "adm"]),
        Case(arguments: ["record", "AttendanceRecorded", "--participant", "P-0001", "--session", "S-0040", "--dry-run"], allowed: ["fac", "lead", "adm"]),
        Case(arguments: ["record", "SignpostGiven", "--participant", "P-0001", "--service", "Synthetic food bank", "--category", "financial",
                         "--dry-run"], allowed: ["fac", "lead", "adm"]),
        Case(arguments: ["record", "ConcernRaised", "--concern", "C-T9", "--participant", "P-0001", "--category", "neglect", "--severity", "low",
                         "--account", "Synthetic.", "--actionTaken", "Synthetic.", "--dslInformed", "true", "--dry-run"], allowed: ["fac", "lead", "adm"]),
        Case(arguments: ["record", "ConcernEscalated", "--concern", "C-T1", "--to", "gp", "--dry-run"], allowed: ["lead", "adm"]),
        Case(arguments: ["record", "ConcernClosed", "--concern", "C-T1", "--outcome", "Synthetic outcome.", "--dry-run"], allowed: ["lead", "adm"]),
        Case(arguments: ["record", "ReferralReceived", "--referral", "R-T9", "--participant", "P-0001", "--source", "school", "--referrer", "Synthetic",
                         "--reason", "Synthetic", "--urgent", "true", "--dry-run"], allowed: ["coord", "lead", "adm"]),
        Case(arguments: ["record", "ReferralContacted", "--referral", "R-T1", "--channel", "phone", "--dry-run"], allowed: ["coord", "lead", "adm"]),
        Case(arguments: ["record", "FlagRaised", "--participant", "P-0001", "--flag", "no-photography", "--note", "Synthetic note.",
                         "--dry-run"], allowed: ["lead", "adm"]),
        Case(arguments: ["record", "ReferralAccepted", "--referral", "R-T1", "--dry-run"], allowed: ["coord", "lead", "adm"]),
        Case(arguments: ["retract", "00000000-0000-4000-8000-000000000000", "--reason", "Synthetic"], allowed: ["lead", "adm"]),
        Case(arguments: ["history", "P-0002", "--purpose", "role table"], allowed: ["lead", "adm"]),
        Case(arguments: ["history", "P-0002", "--views"], allowed: ["lead", "adm"]),
        Case(arguments: ["review", "--json"], allowed: ["lead", "adm"]),
        Case(arguments: ["referrals", "--json"], allowed: ["coord", "lead", "adm"]),
        Case(arguments: ["audit", "--json"], allowed: ["aud", "adm"]),
        Case(arguments: ["verify"], allowed: ["aud", "adm"]),
        Case(arguments: ["access", "list"], allowed: ["adm"]),
        Case(arguments: ["access", "grant", "someone", "auditor"], allowed: ["adm"]),
        Case(arguments: ["erase", "P-NOBODY", "--reason", "Synthetic"], allowed: ["adm"]),
        Case(arguments: ["rebuild", "audit"], allowed: ["adm"]),
        Case(arguments: ["log"], allowed: ["adm"]),
        Case(arguments: ["export", "--format", "cloudevents"], allowed: ["adm"]),
        Case(arguments: ["status"], allowed: ["adm"]),
    ]

    @Test func eachRoleMayRunExactlyItsCommandsAndEveryRefusalIsRecorded() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            var problems: [String] = []
            for c in Self.cases {
                for actor in Self.actors {
                    let deniedBefore = try Self.events(cli, store, stream: "access-denied").count
                    let result = try cli.run(c.arguments, store: store, environment: ["HUBLEDGER_ACTOR": actor])
                    let denied = try Self.events(cli, store, stream: "access-denied")
                    let refused = result.stderr.contains("refused:")
                    if c.allowed.contains(actor) {
                        if refused || denied.count != deniedBefore { problems.append("\(actor) was refused `\(c)`: \(result.stderr)") }
                    } else {
                        if !(refused && result.status == 1) { problems.append("\(actor) was not refused `\(c)`: \(result)") }
                        if denied.count != deniedBefore + 1 { problems.append("\(actor) `\(c)`: no AccessDenied appended") }
                        if let last = denied.last?["data"]?.objectValue {
                            if last["actor"]?.stringValue != actor || last["command"]?.stringValue != c.arguments[0] {
                                problems.append("\(actor) `\(c)`: AccessDenied says \(last)")
                            }
                        }
                        // The message names a role that would do.
                        let roles = ["facilitator", "referral-coordinator", "safeguarding-lead", "auditor", "admin"]
                        if !roles.contains(where: { result.stderr.contains("the \($0)") }) { problems.append("\(actor) `\(c)`: no role named in \(result.stderr)") }
                        if !result.stdout.isEmpty { problems.append("\(actor) `\(c)`: printed \(result.stdout.prefix(200))") }
                    }
                }
            }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test func aRefusedCommandDoesNothingButRecordItsRefusal() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            let before = try Self.events(cli, store)
            let refused = try cli.run(["record", "SignpostGiven", "--participant", "P-0001", "--service", "Synthetic", "--category", "health"],
                                      store: store, environment: ["HUBLEDGER_ACTOR": "aud"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("recording SignpostGiven needs the facilitator or safeguarding-lead or admin role"), "\(refused)")
            #expect(refused.stderr.contains("aud has only auditor"))
            let after = try Self.events(cli, store)
            #expect(after.count == before.count + 1)
            let denial = try #require(after.last)
            #expect(denial["type"] == "AccessDenied" && denial["stream"] == "access-denied")
            // The subject says what it is, as every refusal's does ("participant P-0001", "session S-0001").
            #expect(denial["data"]?.objectValue?["subject"] == "participant P-0001")
            // No view is recorded for a refused history either; the refusal says whose record was asked for.
            let history = try cli.run(["history", "P-0001", "--purpose", "curious"], store: store, environment: ["HUBLEDGER_ACTOR": "fac"])
            #expect(history.status == 1 && history.stdout.isEmpty)
            #expect(try Self.events(cli, store).filter { $0["type"] == "RecordViewed" }.isEmpty)
            #expect(try Self.events(cli, store).last?["data"]?.objectValue?["subject"] == "participant P-0001")
        }
    }

    /// A chronology that cannot be written is not viewed: no view is recorded for it.
    @Test func aReportThatCannotBeWrittenRecordsNoView() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            let views = { try Self.events(cli, store).filter { $0["type"] == "RecordViewed" }.count }
            let before = try views()
            let failed = try cli.run(["history", "P-0001", "--purpose", "report", "--html", cli.storePath("no-such-dir/c.html")], store: store)
            #expect(failed.status == 1 && failed.stderr.contains("cannot write"), "\(failed)")
            #expect(try views() == before)
            #expect(try cli.run(["history", "P-0001", "--purpose", "report", "--html", cli.storePath("c.html")], store: store).succeeded)
            #expect(try views() == before + 1)
        }
    }

    /// The first grant writes the store's owner down as admin before it; the two read in order in time too.
    @Test func theOwnersAdminRoleIsWrittenDownBeforeTheFirstGrantAndDatedWithIt() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            let access = try Self.events(cli, store, stream: "access")
            try #require(access.count >= 2)
            #expect(access[0]["data"]?.objectValue?["actor"] == .string(osUserName()) && access[0]["data"]?.objectValue?["role"] == "admin")
            #expect(access[1]["data"]?.objectValue?["actor"] == "fac")
            #expect(access[0]["occurredAt"] == access[1]["occurredAt"], "\(access[0]) \(access[1])")
        }
    }

    @Test func onlyAnAdminMayActAsAnotherActor() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            // The runner of the tests is the first admin and may act as lead.
            #expect(try cli.run(["review"], store: store, environment: ["HUBLEDGER_ACTOR": "lead"]).succeeded)
            // Once no longer an admin (another admin remains), naming another actor is refused.
            let revoked = try cli.run(["access", "revoke", osUserName(), "admin"], store: store)
            #expect(revoked.succeeded, "\(revoked)")
            let refused = try cli.run(["review"], store: store, environment: ["HUBLEDGER_ACTOR": "lead"])
            #expect(refused.status == 1 && refused.stderr.contains("only an admin may act as another actor"), "\(refused)")
            #expect(refused.stdout.isEmpty)
            // Acting as oneself is not impersonation: it is refused for want of a role instead.
            let own = try cli.run(["review"], store: store, environment: ["HUBLEDGER_ACTOR": osUserName()])
            #expect(own.status == 1 && own.stderr.contains("needs the safeguarding-lead or admin role"), "\(own)")
        }
    }

    @Test func theLastAdminCannotBeRevokedAndGrantsAreListed() throws {
        try withCLI { cli in
            let store = cli.storePath()
            try #require(cli.run(["init"], store: store).succeeded)
            let last = try cli.run(["access", "revoke", osUserName(), "admin"], store: store)
            #expect(last.status == 1 && last.stderr.contains("last admin"), "\(last)")
            // Nor the last admin for every hub: one limited to a region cannot change roles.
            #expect(try cli.run(["access", "grant", "ops-london", "admin", "--region", "london"], store: store).succeeded)
            let lastEverywhere = try cli.run(["access", "revoke", osUserName(), "admin"], store: store)
            #expect(lastEverywhere.status == 1 && lastEverywhere.stderr.contains("last admin for every hub"), "\(lastEverywhere)")
            #expect(try cli.run(["access", "revoke", "ops-london", "admin"], store: store).succeeded)
            #expect(try cli.run(["access", "grant", "lead", "safeguarding-lead"], store: store).succeeded)
            let again = try cli.run(["access", "grant", "lead", "safeguarding-lead"], store: store)
            #expect(again.succeeded && again.stdout.contains("already"))
            #expect(try cli.run(["access", "grant", "lead", "juggler"], store: store).status == 2)
            #expect(try cli.run(["access", "revoke", "lead", "auditor"], store: store).status == 1)
            let list = try cli.run(["access", "list", "--json"], store: store).json()
            let actors = list["actors"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(actors.map { $0["actor"]?.stringValue ?? "" } == ["lead", osUserName()].sorted())
            #expect(actors.first { $0["actor"] == "lead" }?["roles"] == [["role": "safeguarding-lead"]])
            #expect(try cli.run(["access", "revoke", "lead", "safeguarding-lead"], store: store).succeeded)
            #expect(try cli.run(["history", "P-1", "--views"], store: store, environment: ["HUBLEDGER_ACTOR": "lead"]).stderr.contains("refused"))
        }
    }

    @Test func everyViewIsRecordedBeforeItIsShownAndListedWithItsPurpose() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            let missing = try cli.run(["history", "P-0002"], store: store, environment: ["HUBLEDGER_ACTOR": "lead"])
            #expect(missing.status == 2 && missing.stderr.contains("--purpose"), "\(missing)")
            let ownStreamBefore = try Self.events(cli, store).filter { $0["stream"] == "participant-P-0002" }.count
            let first = try cli.run(["history", "P-0002", "--purpose", "strategy meeting prep", "--json"], store: store,
                                    environment: ["HUBLEDGER_ACTOR": "lead"])
            #expect(first.succeeded, "\(first)")
            #expect(try cli.run(["history", "P-0002", "--purpose", "case review"], store: store).succeeded)
            let views = try cli.run(["history", "P-0002", "--views", "--json"], store: store, environment: ["HUBLEDGER_ACTOR": "lead"]).json()
            let list = views["views"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(list.map { $0["viewer"]?.stringValue ?? "" } == ["lead", osUserName()])
            #expect(list.map { $0["purpose"]?.stringValue ?? "" } == ["strategy meeting prep", "case review"])
            #expect(list.allSatisfy { $0["viewedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil })
            let viewed = try Self.events(cli, store).filter { $0["type"] == "RecordViewed" }
            #expect(viewed.count == 2 && viewed.allSatisfy { $0["stream"] == "views-P-0002" })
            // The view was appended before the output was computed: its head is before the view.
            let head = try #require(first.json()["head"]?.objectValue?["position"]?.intValue)
            #expect(viewed.first?["position"]?.intValue == head + 1)
            #expect(try Self.events(cli, store).filter { $0["stream"] == "participant-P-0002" }.count == ownStreamBefore)
            let text = try cli.run(["history", "P-0002", "--views"], store: store)
            #expect(text.stdout.contains("purpose: strategy meeting prep"))
        }
    }

    @Test func theListOfViewsRefusesTheOptionsItDoesNotHonour() throws {
        try withCLI { cli in
            let store = cli.storePath()
            try #require(cli.run(["init"], store: store).succeeded)
            try #require(cli.run(["record", "ParticipantRegistered", "--participant", "P-1", "--generation", "adult", "--hub", "Woking",
                                  "--region", "surrey"], store: store).succeeded)
            let html = cli.storePath("views.html")
            for option in [["--as-of", "2025-01-01"], ["--html", html], ["--purpose", "why"]] {
                let result = try cli.run(["history", "P-1", "--views"] + option, store: store)
                #expect(result.status == 2 && result.stderr.contains(option[0]), "\(result)")
            }
            #expect(!FileManager.default.fileExists(atPath: html))
            #expect(try cli.run(["history", "P-1", "--views", "--json"], store: store).succeeded)
        }
    }

    @Test func erasureShowsErasedEverywhereKeepsVerifyAndLeavesTheAuditUnchanged() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            func auditWithoutHead() throws -> JSONValue {
                var audit = try cli.run(["audit", "--json"], store: store).json()
                audit["head"] = nil
                audit["asOf"] = nil
                return .object(audit)
            }
            let audit = try auditWithoutHead()
            let before = try cli.run(["history", "P-0003", "--purpose", "before erasure"], store: store)
            #expect(before.stdout.contains("Low mood after a bereavement (synthetic)"))
            let erased = try cli.run(["erase", "P-0003", "--reason", "The person asked (synthetic)"], store: store)
            #expect(erased.succeeded, "\(erased)")
            // The referral's referrer and reason, and the purpose given for the view before it.
            #expect(erased.stdout.contains("erased 3 sensitive value(s)"), "\(erased)")
            let after = try cli.run(["history", "P-0003", "--purpose", "after erasure", "--json"], store: store).json()
            let entries = after["entries"]?.arrayValue?.compactMap(\.objectValue) ?? []
            let referral = try #require(entries.first { $0["type"] == "ReferralReceived" })
            #expect(referral["data"]?.objectValue?["reason"] == "[erased]")
            #expect(referral["data"]?.objectValue?["referrer"] == "[erased]")
            #expect(referral["data"]?.objectValue?["source"] == "gp", "facts that are not free text stay")
            #expect(entries.last?["type"] == "ParticipantErased")
            let verify = try cli.run(["verify", "--json"], store: store)
            #expect(verify.succeeded, "\(verify)")
            #expect(try verify.json()["vault"]?.objectValue?["erased"]?.intValue == 3)
            #expect(try auditWithoutHead() == audit)
            let export = try cli.run(["export", "--format", "cloudevents", "--include-sensitive"], store: store).stdout
            // An erased value leaves as the digest the log holds, even with --include-sensitive: its text is gone.
            #expect(!export.contains("Low mood after a bereavement") && export.contains(#""reason":"sha256:"#))
            // Nothing of the text is left in any file of the store.
            let files = FileManager.default.enumerator(atPath: store)?.compactMap { $0 as? String } ?? []
            for file in files {
                guard let data = FileManager.default.contents(atPath: store + "/" + file) else { continue }
                #expect(data.range(of: Data("bereavement".utf8)) == nil, "\(file) still holds the erased text")
            }
            let views = try cli.run(["history", "P-0003", "--views", "--json"], store: store).json()
            #expect((views["views"]?.arrayValue ?? []).compactMap { $0.objectValue?["purpose"]?.stringValue } == ["[erased]", "after erasure"],
                    "who viewed and when stay; the purpose given before the erasure is erased")
            // Erasing again removes what was written about them since (the later view's purpose), then nothing.
            let twice = try cli.run(["erase", "P-0003", "--reason", "again"], store: store)
            #expect(twice.succeeded && twice.stdout.contains("erased 1 sensitive value(s)"), "\(twice)")
            let thrice = try cli.run(["erase", "P-0003", "--reason", "again"], store: store)
            #expect(thrice.succeeded && thrice.stdout.contains("nothing left to erase"), "\(thrice)")
            // The printable chronology says what the erasure was in plain words, as it does for every entry.
            let page = cli.storePath("erased.html")
            #expect(try cli.run(["history", "P-0003", "--purpose", "after erasure", "--html", page], store: store).succeeded)
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(html.contains("Personal text erased (3 value(s))") && html.contains("Reason: The person asked (synthetic)."), "\(html.suffix(800))")
            #expect(!html.contains("\"events\":["), "the erasure shown as raw JSON")
        }
    }

    @Test func aParticipantWithAConcernIsUnderARetentionHoldUnlessOverridden() throws {
        try withCLI { cli in
            let store = try Self.staffedStore(cli)
            let head = try cli.run(["verify", "--json"], store: store).json()["head"]
            let held = try cli.run(["erase", "P-0002", "--reason", "Asked (synthetic)"], store: store)
            #expect(held.status == 1 && held.stderr.contains("retention hold") && held.stderr.contains("concern-C-T1"), "\(held)")
            #expect(try cli.run(["verify", "--json"], store: store).json()["head"] == head, "a refused erasure writes nothing")
            let overridden = try cli.run(["erase", "P-0002", "--reason", "Asked (synthetic)", "--override-retention", "Court order (synthetic)"], store: store)
            #expect(overridden.succeeded, "\(overridden)")
            let record = try #require(try Self.events(cli, store).last { $0["type"] == "ParticipantErased" })
            #expect(record["data"]?.objectValue?["retentionOverride"] == "Court order (synthetic)")
            #expect(record["data"]?.objectValue?["reason"] == "Asked (synthetic)")
            let review = try cli.run(["history", "P-0002", "--purpose", "check", "--json"], store: store).json()
            let concern = (review["entries"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["type"] == "ConcernRaised" }
            #expect(concern?["data"]?.objectValue?["account"] == "[erased]")
            #expect(try cli.run(["verify"], store: store).succeeded)
        }
    }

    @Test func aStoreOpenToOtherUsersIsRefusedWithTheChmodThatFixesIt() throws {
        try withCLI { cli in
            let store = cli.storePath()
            try #require(cli.run(["init"], store: store).succeeded)
            try #require(chmod(store + "/segments/00000001.seg", 0o640) == 0)
            let file = try cli.run(["verify"], store: store)
            #expect(file.status == 1 && file.stderr.contains("chmod -R go-rwx \(store)") && file.stderr.contains("00000001.seg"), "\(file)")
            try #require(chmod(store + "/segments/00000001.seg", 0o600) == 0)
            try #require(chmod(store, 0o750) == 0)
            let directory = try cli.run(["verify"], store: store)
            #expect(directory.status == 1 && directory.stderr.contains("chmod -R go-rwx \(store)"), "\(directory)")
            try #require(chmod(store, 0o700) == 0)
            #expect(try cli.run(["verify"], store: store).succeeded)
            // Everything a run creates is private too.
            #expect(try cli.run(["record", "ParticipantRegistered", "--participant", "P-1", "--generation", "adult", "--hub", "woking",
                                 "--region", "surrey", "--name", "Synthetic Person"], store: store).succeeded)
            #expect(try cli.run(["audit"], store: store).succeeded)
            let files = FileManager.default.enumerator(atPath: store)?.compactMap { $0 as? String } ?? []
            #expect(files.contains("vault/values"))
            for file in files {
                var st = stat()
                #expect(stat(store + "/" + file, &st) == 0 && st.st_mode & 0o077 == 0, "\(file) is mode \(String(st.st_mode & 0o777, radix: 8))")
            }
        }
    }
}
