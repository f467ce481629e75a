import EventStore
import Foundation
import Testing

/// Alerts carry `hub` and `region`, and `watch --webhook URL --region R` sends each webhook only its
/// regions' alerts: the real binary against local webhook receivers (`WebhookServer`).
@Suite(.serialized)
struct RegionWebhookCLITests {
    typealias W = WatchCLITests

    static func registered(_ p: String, _ hub: String, _ region: String) -> String {
        W.line("ParticipantRegistered", "2024-01-02T09:00:00Z", ["participant": .string(p), "generation": "adult", "hub": .string(hub), "region": .string(region)])
    }

    /// P-L in Hackney (London), P-S in Woking (Surrey), P-M registered in Woking and moved to Hackney.
    /// Each has a referral waiting 31 days at `W.T` (warning and urgent); P-S also has a critical concern
    /// unescalated for 60 hours (urgent). So London has 4 alerts (P-L's and P-M's), Surrey 3.
    static let log: [String] = [
        registered("P-L", "hackney", "london"),
        registered("P-S", "woking", "surrey"),
        registered("P-M", "woking", "surrey"),
        W.line("ParticipantMoved", "2024-03-01T09:00:00Z", ["participant": "P-M", "hub": "hackney", "region": "london"]),
        W.referral("R-L", "P-L", "2024-05-01T10:00:00Z"),
        W.referral("R-S", "P-S", "2024-05-01T10:00:00Z"),
        W.referral("R-M", "P-M", "2024-05-01T10:00:00Z"),   // received after the move
        W.concern("C-S", "P-S", "critical", "2024-05-30T00:00:00Z"),
    ]

    static let london: Set<String> = ["R-L|warning", "R-L|urgent", "R-M|warning", "R-M|urgent"]
    static let surrey: Set<String> = ["R-S|warning", "R-S|urgent", "C-S|urgent"]

    /// `subject|level` of an alert line, after checking that its hub and region are its participant's.
    static func subject(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let o = try #require(try JSONParser.parse(line).objectValue, sourceLocation: sourceLocation)
        let place: [String: (String, String)] = ["P-L": ("hackney", "london"), "P-S": ("woking", "surrey"), "P-M": ("hackney", "london")]
        let participant = try #require(o["participant"]?.stringValue, sourceLocation: sourceLocation)
        let expected = try #require(place[participant], "unexpected participant in \(line)", sourceLocation: sourceLocation)
        #expect(o["hub"]?.stringValue == expected.0 && o["region"]?.stringValue == expected.1, "\(line)", sourceLocation: sourceLocation)
        let subject = try #require(o["referral"]?.stringValue ?? o["concern"]?.stringValue, "\(line)", sourceLocation: sourceLocation)
        return subject + "|" + (o["level"]?.stringValue ?? "?")
    }

    static func accepted(_ server: WebhookServer) throws -> [String] {
        try server.requests().filter { $0.status == 200 }.map { try subject($0.body) }
    }

    @Test func eachWebhookGetsOnlyItsRegionsAlertsAndOneWithoutARegionGetsThemAll() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.log)
            let londonHook = try WebhookServer(failures: 0, scratch: cli.root)
            let surreyHook = try WebhookServer(failures: 0, scratch: cli.root)
            let everything = try WebhookServer(failures: 0, scratch: cli.root)
            defer { londonHook.stop(); surreyHook.stop(); everything.stop() }
            let run = try cli.run(["watch", "--once", "--now", W.T, "--webhook", londonHook.url, "--region", "london",
                                   "--webhook", surreyHook.url, "--region", "surrey", "--webhook", everything.url], store: store, timeout: 60)
            #expect(run.status == 0, "\(run)")
            // Every line on stdout says where its participant is now (P-M's referral: Hackney, where P-M moved).
            let printed = try run.lines.map { try Self.subject($0) }
            #expect(Set(printed) == Self.london.union(Self.surrey) && printed.count == 7, "\(run.stdout)")
            let toLondon = try Self.accepted(londonHook), toSurrey = try Self.accepted(surreyHook), toAll = try Self.accepted(everything)
            #expect(Set(toLondon) == Self.london && toLondon.count == 4, "\(toLondon)")
            #expect(Set(toSurrey) == Self.surrey && toSurrey.count == 3, "\(toSurrey)")
            #expect(Set(toAll) == Self.london.union(Self.surrey) && toAll.count == 7, "\(toAll)")
            #expect(try W.recordedAlerts(cli, store).count == 7)
        }
    }

    @Test func aRegionsWebhookThatFailsHoldsBackOnlyThatRegionsAlerts() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.log)
            let deadLondon = try WebhookServer(failures: -1, scratch: cli.root)
            let surreyHook = try WebhookServer(failures: 0, scratch: cli.root)
            defer { deadLondon.stop(); surreyHook.stop() }
            // Two regions on one webhook are both its own; London has a webhook of its own that refuses everything.
            let first = try cli.run(["watch", "--once", "--now", W.T, "--webhook", surreyHook.url, "--region", "surrey", "--region", "greater-manchester",
                                     "--webhook", deadLondon.url, "--region", "london"], store: store, timeout: 60)
            #expect(first.status == 1, "four London alerts were not delivered: \(first)")
            #expect(first.stderr.contains("4 alert(s)"), "\(first.stderr)")
            #expect(Set(try first.lines.map { try Self.subject($0) }) == Self.surrey, "only Surrey's were raised: \(first.stdout)")
            #expect(Set(try Self.accepted(surreyHook)) == Self.surrey)
            // The dead webhook was tried (with retries) and then left alone for the rest of the cycle.
            let tried = deadLondon.requests()
            #expect(tried.count >= 2 && tried.allSatisfy { $0.status == 500 }, "\(tried.count)")
            #expect(Set(try tried.map { try Self.subject($0.body) }).count == 1, "after failing, nothing more went to it this cycle")
            #expect(Set(try W.recordedAlerts(cli, store).map { "\($0.referral ?? $0.concern ?? "?")|\($0.level)" }) == Self.surrey)

            // London's webhook works again: its alerts go out and are raised; Surrey's are not sent again.
            deadLondon.stop()
            let londonHook = try WebhookServer(failures: 0, scratch: cli.root)
            defer { londonHook.stop() }
            let second = try cli.run(["watch", "--once", "--now", W.T, "--webhook", surreyHook.url, "--region", "surrey",
                                      "--webhook", londonHook.url, "--region", "london"], store: store, timeout: 60)
            #expect(second.status == 0, "\(second)")
            #expect(Set(try second.lines.map { try Self.subject($0) }) == Self.london)
            #expect(Set(try Self.accepted(londonHook)) == Self.london)
            #expect(surreyHook.requests().count == 3, "Surrey's raised alerts were POSTed again")
            #expect(try W.recordedAlerts(cli, store).count == 7)
        }
    }

    /// An alert for two webhooks, one of which fails for a cycle: the one that accepted it is not sent it
    /// again by the same daemon, and the alert is raised once the other accepts it in a later cycle.
    @Test func aLiveDaemonSendsEachWebhookAnAlertOnceWhileAnotherOfItsWebhooksCatchesUp() throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.log)
            let everything = try WebhookServer(failures: 0, scratch: cli.root)
            let londonHook = try WebhookServer(failures: 4, scratch: cli.root)   // the first London alert's four attempts fail
            defer { everything.stop(); londonHook.stop() }
            let daemon = try cli.start(["watch", "--interval", "1s", "--now", W.T, "--webhook", everything.url,
                                        "--webhook", londonHook.url, "--region", "london"], store: store)
            defer { daemon.stopAndReap() }
            let all = Poll.until(timeout: 30, every: 0.05) { daemon.completeStdoutLines.count >= 7 || daemon.poll() != nil }
            #expect(all && daemon.poll() == nil, "not every alert was raised: \(daemon.stderrSoFar)")
            daemon.terminate()
            #expect(try daemon.wait(timeout: 10).status == 0)
            let toAll = try Self.accepted(everything)
            #expect(toAll.count == 7 && Set(toAll) == Self.london.union(Self.surrey), "sent again to a webhook that had it: \(toAll)")
            let toLondon = try Self.accepted(londonHook)
            #expect(toLondon.count == 4 && Set(toLondon) == Self.london, "\(toLondon)")
            #expect(londonHook.requests().count == 8, "four failed attempts, then each London alert once")
            #expect(try W.recordedAlerts(cli, store).count == 7)
        }
    }

    @Test(arguments: [
        (["--region", "london", "--webhook", "http://127.0.0.1:9/"], "give --webhook URL first"),
        (["--webhook", "http://127.0.0.1:9/", "--region", "wales"], "surrey | london | greater-manchester"),
        (["--webhook", "ftp://example.invalid/", "--region", "london"], "http(s) URL"),
    ])
    func aMisplacedOrUnknownRegionIsAUsageError(_ arguments: [String], _ message: String) throws {
        try withCLI { cli in
            let store = try W.newStore(cli, Self.log)
            let run = try cli.run(["watch", "--once", "--now", W.T] + arguments, store: store, timeout: 30)
            #expect(run.status == 2, "\(run)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(run.lines.isEmpty, "nothing printed on a usage error")
            #expect(try W.recordedAlerts(cli, store).isEmpty, "nothing raised on a usage error")
        }
    }

    /// Webhooks go out through `hubledger-webhook`, built with and installed beside `hubledger`: it answers
    /// --help and refuses a bad URL (exit 2); a daemon that cannot find it refuses to start and writes nothing.
    @Test func theWebhookSenderStandsBesideTheBinaryAndADaemonWithoutItRefusesToStart() throws {
        try withCLI { cli in
            let sender = URL(fileURLWithPath: cli.binary).deletingLastPathComponent().appendingPathComponent("hubledger-webhook").path
            func runProgram(_ path: String, _ arguments: [String], input: String = "") throws -> (status: Int32, stdout: String, stderr: String) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = arguments
                let errors = Pipe(), output = Pipe(), feed = Pipe()
                process.standardError = errors
                process.standardOutput = output
                process.standardInput = feed
                try process.run()
                try feed.fileHandleForWriting.write(contentsOf: Data(input.utf8))
                try feed.fileHandleForWriting.close()
                let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return (process.terminationStatus, out, text)
            }
            #expect(try runProgram(sender, ["--help"]).status == 0)
            #expect(try runProgram(sender, ["ftp://example.invalid/"]).status == 2)
            #expect(try runProgram(sender, []).status == 2)
            // One POST per line, one answer per line: the first refused (the server fails once), the rest accepted.
            let server = try WebhookServer(failures: 1, scratch: cli.root)
            defer { server.stop() }
            let lines = try runProgram(sender, ["--lines", server.url], input: "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")
            #expect(lines.status == 0)
            let answers = lines.stdout.split(separator: "\n").map(String.init)
            #expect(answers.count == 3 && answers[0].hasPrefix("failed: ") && answers[1...] == ["ok", "ok"], "\(lines.stdout)")
            #expect(server.requests().map(\.body) == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
            #expect(try runProgram(sender, [server.url], input: "{\"n\":4}").status == 0)

            let store = try W.newStore(cli, Self.log)
            let before = try W.logEvents(cli, store).count
            let lonely = cli.root.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: lonely, withIntermediateDirectories: true)
            let copy = lonely.appendingPathComponent("hubledger").path
            // A hard link where the file system allows: a fresh copy can be "busy" (ETXTBSY) while another
            // test's child still holds the descriptor it was written through.
            do { try FileManager.default.linkItem(atPath: cli.binary, toPath: copy) } catch {
                try FileManager.default.copyItem(atPath: cli.binary, toPath: copy)
            }
            var refused = (status: Int32(0), stdout: "", stderr: "")
            for attempt in 1...50 {
                do {
                    refused = try runProgram(copy, ["--store", store, "watch", "--once", "--now", W.T, "--webhook", "http://127.0.0.1:9/"])
                    break
                } catch let error as NSError where attempt < 50 && (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) {
                    usleep(20_000)
                }
            }
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("hubledger-webhook"), "\(refused.stderr)")
            #expect(try W.logEvents(cli, store).count == before, "nothing raised, nothing appended")
        }
    }
}
