#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// Several `hubledger watch` daemons on one store, one per actor: each raises the alerts of its actor's
/// scope, and between them each alert is raised once, however their scopes overlap. Real processes.
@Suite(.serialized)
struct SeveralDaemonsCLITests {
    typealias W = WatchCLITests

    // MARK: - A store with hubs in several regions

    struct Hub: Sendable {
        var hub: String
        var region: String
    }

    static let hackney = Hub(hub: "hackney", region: "london")
    static let woking = Hub(hub: "woking", region: "surrey")
    static let salford = Hub(hub: "salford", region: "greater-manchester")

    /// The actors the stores grant admin: one per region, and `ops` for every hub (beside the OS user, the first admin).
    static let regionAdmins: [String: String] = ["london": "eve", "surrey": "sam", "greater-manchester": "gus"]

    /// The id of the flagged attendance of the child of `hub`.
    static func childAttendance(_ hub: Hub) -> String {
        ["hackney": "c0000000-0000-4000-8000-000000000001", "woking": "c0000000-0000-4000-8000-000000000002"][hub.hub]
            ?? "c0000000-0000-4000-8000-000000000003"
    }

    /// Per hub: `adults` adults, each with a referral received 31 days and 2 hours before `W.T` (past 14 and
    /// 28 days: a warning and an urgent alert each), and a child without participation consent who attended
    /// a session there (an attendance-without-consent alert). So 2 × adults + 1 alerts per hub.
    static func log(_ hubs: [Hub], adults: Int) -> [String] {
        hubs.flatMap { place -> [String] in
            let registered = { (p: String, generation: String) in
                W.line("ParticipantRegistered", "2024-01-02T09:00:00Z", ["participant": .string(p), "generation": .string(generation),
                                                                         "hub": .string(place.hub), "region": .string(place.region)])
            }
            let people = (0..<adults).map { registered("P-\(place.hub)-\($0)", "adult") }
            let referrals = (0..<adults).map { W.referral("R-\(place.hub)-\($0)", "P-\(place.hub)-\($0)", "2024-05-01T10:00:00Z") }
            let session = W.line("SessionHeld", "2024-04-02T12:00:00Z", ["session": .string("S-\(place.hub)"), "hub": .string(place.hub),
                                                                         "region": .string(place.region), "programme": "SYN-1", "week": 1])
            return people + referrals + [registered("P-\(place.hub)-C", "child"), session,
                                         W.attended("P-\(place.hub)-C", "S-\(place.hub)", "2024-04-02T12:05:00Z", id: childAttendance(place))]
        }
    }

    /// The `kind|subject|level` of every alert `log(hubs, adults:)` makes due at `W.T`, by region.
    static func expected(_ hubs: [Hub], adults: Int) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for place in hubs {
            let referrals = (0..<adults).flatMap { i in
                ["warning", "urgent"].map { "referral-awaiting-first-attendance|R-\(place.hub)-\(i)|\($0)" }
            }
            out[place.region, default: []].formUnion(referrals + ["attendance-without-consent|\(childAttendance(place))|warning"])
        }
        return out
    }

    /// A store holding `log(hubs, adults:)`, with the region admins and `ops` granted.
    static func store(_ cli: CLIHarness, _ hubs: [Hub], adults: Int, name: String = "store",
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let store = try W.newStore(cli, log(hubs, adults: adults), name: name, sourceLocation: sourceLocation)
        for (region, actor) in regionAdmins.sorted(by: { $0.key < $1.key }) {
            let granted = try cli.run(["access", "grant", actor, "admin", "--region", region], store: store, timeout: 30)
            try #require(granted.succeeded, "\(granted)", sourceLocation: sourceLocation)
        }
        let ops = try cli.run(["access", "grant", "ops", "admin"], store: store, timeout: 30)
        try #require(ops.succeeded, "\(ops)", sourceLocation: sourceLocation)
        return store
    }

    /// Starts `watch` as `actor` (nil: the OS user, an admin for every hub).
    static func startDaemon(_ cli: CLIHarness, _ store: String, as actor: String?, _ extra: [String] = []) throws -> RunningCommand {
        try cli.start(["watch", "--interval", "1s", "--now", W.T] + extra, store: store,
                      environment: actor.map { ["HUBLEDGER_ACTOR": $0] } ?? [:])
    }

    /// An alert line's `kind|subject|level` and region.
    static func keyAndRegion(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (key: String, region: String?) {
        let o = try #require(try JSONParser.parse(line).objectValue, "not an alert: \(line)", sourceLocation: sourceLocation)
        return (try W.alert(from: o, sourceLocation: sourceLocation).key, o["region"]?.stringValue)
    }

    static func keys(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try lines.map { try keyAndRegion($0, sourceLocation: sourceLocation).key }
    }

    /// The keys the `alerts` stream records, in order (of the alerts `actor`'s daemon recorded, when given).
    static func recordedKeys(_ store: String, by actor: String? = nil) throws -> [String] {
        try EventLog(path: store).events(in: StreamID("alerts")).filter { actor == nil || $0.actor == actor }.map { event in
            try W.alert(from: event.data).key
        }
    }

    /// The keys that occur more than once.
    static func repeated(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.filter { !seen.insert($0).inserted }
    }

    /// Stops a daemon with SIGTERM and expects a clean exit.
    static func stop(_ daemon: RunningCommand, sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        daemon.terminate()
        let result = try daemon.wait(timeout: 10)
        #expect(result.status == 0, "SIGTERM must end the daemon with exit 0: \(result)", sourceLocation: sourceLocation)
        return result
    }

    // MARK: - Each daemon its own scope

    /// The defect acceptance testing found: with London's daemon running, Surrey's could not start.
    @Test func aLondonDaemonAndASurreyDaemonAtOnceEachRaiseOnlyTheirOwnAndTogetherAll() throws {
        try withCLI { cli in
            let hubs = [Self.hackney, Self.woking]
            let store = try Self.store(cli, hubs, adults: 4)
            let expected = Self.expected(hubs, adults: 4)
            let london = try Self.startDaemon(cli, store, as: "eve")
            defer { london.stopAndReap() }
            let surrey = try Self.startDaemon(cli, store, as: "sam")
            defer { surrey.stopAndReap() }
            let done = Poll.until(timeout: 30, every: 0.05) {
                (london.completeStdoutLines.count >= 9 && surrey.completeStdoutLines.count >= 9) || london.poll() != nil || surrey.poll() != nil
            }
            #expect(done && london.poll() == nil && surrey.poll() == nil,
                    "both daemons run and raise their alerts:\n\(london.stderrSoFar)\n\(surrey.stderrSoFar)")
            usleep(300_000)   // nothing more may follow
            let fromLondon = try london.completeStdoutLines.map { try Self.keyAndRegion($0) }
            let fromSurrey = try surrey.completeStdoutLines.map { try Self.keyAndRegion($0) }
            #expect(fromLondon.allSatisfy { $0.region == "london" }, "\(london.stdoutSoFar)")
            #expect(fromSurrey.allSatisfy { $0.region == "surrey" }, "\(surrey.stdoutSoFar)")
            #expect(Set(fromLondon.map(\.key)) == expected["london"] && fromLondon.count == 9, "\(london.stdoutSoFar)")
            #expect(Set(fromSurrey.map(\.key)) == expected["surrey"] && fromSurrey.count == 9, "\(surrey.stdoutSoFar)")
            _ = try Self.stop(london)
            _ = try Self.stop(surrey)
            let recorded = try Self.recordedKeys(store)
            #expect(Set(recorded) == expected["london", default: []].union(expected["surrey", default: []]) && recorded.count == 18,
                    "the alerts stream holds all of both regions' alerts, each once: \(recorded)")
        }
    }

    /// A second daemon of the same actor is refused (one per actor), while another actor's may start; and a
    /// daemon of an earlier version, which held the store's watch lock alone, keeps every new one out.
    @Test func aSecondDaemonOfTheSameActorIsRefusedWhileAnotherActorsStarts() throws {
        try withCLI { cli in
            let hubs = [Self.hackney, Self.woking]
            let store = try Self.store(cli, hubs, adults: 1)
            let london = try Self.startDaemon(cli, store, as: "eve")
            defer { london.stopAndReap() }
            let running = Poll.until(timeout: 15, every: 0.02) { london.completeStdoutLines.count >= 3 || london.poll() != nil }
            try #require(running && london.poll() == nil, "London's daemon did not start: \(london.stderrSoFar)")

            let again = try cli.run(["watch", "--once", "--now", W.T2], store: store, environment: ["HUBLEDGER_ACTOR": "eve"], timeout: 30)
            #expect(again.status == 1 && again.lines.isEmpty, "\(again)")
            #expect(again.stderr.contains("already running") && again.stderr.contains("as eve") && again.stderr.contains("one daemon per actor"),
                    "\(again.stderr)")
            let surrey = try cli.run(["watch", "--once", "--now", W.T], store: store, environment: ["HUBLEDGER_ACTOR": "sam"], timeout: 30)
            #expect(surrey.status == 0, "\(surrey)")
            #expect(Set(try Self.keys(surrey.lines)) == Self.expected(hubs, adults: 1)["surrey"], "\(surrey.stdout)")
            _ = try Self.stop(london)

            // A daemon of an earlier version held `watch.lock` exclusively.
            let earlier = try #require(try EventLog(path: store).tryLock(named: "watch"))
            let refused = try cli.run(["watch", "--once", "--now", W.T], store: store, timeout: 30)
            #expect(refused.status == 1 && refused.stderr.contains("earlier version"), "\(refused)")
            withExtendedLifetime(earlier) {}
        }
    }

    /// A running daemon takes up its actor's roles as they change: a region granted while it runs has its alerts
    /// raised at once, and when the admin role is revoked the daemon raises nothing more and stops (exit 1),
    /// its heartbeat marked stopped. Read once at start, a revoked admin's daemon went on raising.
    @Test func aRunningDaemonFollowsItsActorsGrantsAndStopsWhenAdminIsRevoked() throws {
        try withCLI { cli in
            let hubs = [Self.hackney, Self.woking]
            let store = try Self.store(cli, hubs, adults: 1)
            let expected = Self.expected(hubs, adults: 1)
            let daemon = try Self.startDaemon(cli, store, as: "eve")
            defer { daemon.stopAndReap() }
            let london = Poll.until(timeout: 20, every: 0.02) { daemon.completeStdoutLines.count >= 3 || daemon.poll() != nil }
            try #require(london && daemon.poll() == nil, "eve's daemon did not raise London's alerts: \(daemon.stderrSoFar)")
            usleep(300_000)
            #expect(Set(try Self.keys(daemon.completeStdoutLines)) == expected["london"], "\(daemon.stdoutSoFar)")

            let widened = try cli.run(["access", "grant", "eve", "admin", "--region", "surrey"], store: store, timeout: 30)
            try #require(widened.succeeded, "\(widened)")
            let surrey = Poll.until(timeout: 20, every: 0.02) { daemon.completeStdoutLines.count >= 6 || daemon.poll() != nil }
            #expect(surrey && daemon.poll() == nil, "Surrey's alerts were not raised after the grant: \(daemon.stderrSoFar)")
            #expect(Set(try Self.keys(daemon.completeStdoutLines)) == expected["london", default: []].union(expected["surrey", default: []]),
                    "\(daemon.stdoutSoFar)")
            #expect(daemon.stderrSoFar.contains("now covers region london, region surrey"), "\(daemon.stderrSoFar)")

            let revoked = try cli.run(["access", "revoke", "eve", "admin"], store: store, timeout: 30)
            try #require(revoked.succeeded, "\(revoked)")
            // A new alert comes due in London, for no one to raise but an admin for every hub.
            try W.importLines(cli, store, [
                W.line("ParticipantRegistered", "2024-01-02T09:00:00Z", ["participant": "P-late", "generation": "adult", "hub": "hackney", "region": "london"]),
                W.referral("R-late", "P-late", "2024-05-01T10:00:00Z"),
            ])
            let result = try daemon.wait(timeout: 20)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("eve no longer holds the admin role") && result.stderr.contains("stops"), "\(result.stderr)")
            #expect(!result.stdout.contains("R-late"), "a revoked admin's daemon raised an alert: \(result.stdout)")
            #expect(try Self.recordedKeys(store, by: "eve").count == 6)
            // Stopped cleanly: `status` does not wait for its heartbeat.
            let status = try cli.run(["status", "--json"], store: store, timeout: 30)
            let daemons = try JSONParser.parse(status.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue?["daemons"]?.arrayValue ?? []
            let eve = daemons.compactMap(\.objectValue).first { $0["actor"]?.stringValue == "eve" }
            #expect(eve?["state"]?.stringValue == "stopped", "\(status)")
        }
    }

    // MARK: - Overlapping scopes: each alert once

    /// Two daemons for every hub and London's, all at once, sharing a slow webhook (0.2 s an answer): every
    /// alert is POSTed, printed and recorded once between them, and they take turns raising. Without the alerts
    /// lock, or without reading the alerts stream again under it, the daemons deliver the alerts they all found due.
    @Test func overlappingDaemonsRaiseEachAlertOnceEvenBehindASlowWebhook() throws {
        try withCLI { cli in
            let hubs = [Self.hackney, Self.woking, Self.salford]
            let store = try Self.store(cli, hubs, adults: 2)
            let all = Self.expected(hubs, adults: 2).values.reduce(into: Set<String>()) { $0.formUnion($1) }
            let webhook = try WebhookServer(failures: 0, delay: 0.2, scratch: cli.root)
            defer { webhook.stop() }
            let daemons = try [nil, "ops", "eve"].map { try Self.startDaemon(cli, store, as: $0, ["--webhook", webhook.url]) }
            defer { for d in daemons { d.stopAndReap() } }
            let done = Poll.until(timeout: 40, every: 0.05) {
                daemons.map(\.completeStdoutLines.count).reduce(0, +) >= all.count || daemons.contains { $0.poll() != nil }
            }
            #expect(done && daemons.allSatisfy { $0.poll() == nil }, "\(daemons.map(\.stderrSoFar))")
            usleep(1_000_000)   // a duplicate would come within a webhook answer or two
            let printed = try daemons.map { try Self.keys($0.completeStdoutLines) }
            for d in daemons { _ = try Self.stop(d) }

            let union = printed.flatMap { $0 }
            #expect(Set(union) == all, "missing \(all.subtracting(union).sorted())")
            #expect(Self.repeated(union).isEmpty, "printed by more than one daemon: \(Self.repeated(union))")
            let london = Self.expected(hubs, adults: 2)["london", default: []]
            #expect(Set(printed[2]).isSubset(of: london), "eve's daemon raised outside London: \(printed[2])")
            let posted = try webhook.requests().map { try Self.keyAndRegion($0.body).key }
            #expect(Set(posted) == all && Self.repeated(posted).isEmpty, "POSTed more than once: \(Self.repeated(posted))")
            let recorded = try Self.recordedKeys(store)
            #expect(Set(recorded) == all && Self.repeated(recorded).isEmpty, "the alerts stream: \(Self.repeated(recorded))")
            print("SeveralDaemonsCLITests overlap: raised \(printed.map(\.count)) by the OS user's, ops' and eve's daemons")
            // They take turns at the alerts lock: one does not hold back the others until it has raised everything.
            #expect(printed.filter { !$0.isEmpty }.count >= 2, "one daemon raised every alert: \(printed.map(\.count))")
        }
    }

    /// Two daemons for every hub; one is SIGKILLed at a random moment and started again. Nothing is
    /// raised twice but the one alert in flight when the kill came (printed again, same id, by either
    /// daemon), nothing is missed, and the alerts stream holds each alert once.
    @Test func aDaemonKilledAndRestartedBesideAnotherRaisesEachAlertOnce() throws {
        var rng = SplitMix64(seed: 0x5EED_0011)
        var midStream = 0
        try withCLI { cli in
            for trial in 0..<4 {
                let hubs = [Self.hackney, Self.woking]
                let store = try Self.store(cli, hubs, adults: 30, name: "kill-\(trial)")
                let all = Self.expected(hubs, adults: 30).values.reduce(into: Set<String>()) { $0.formUnion($1) }
                let steady = try Self.startDaemon(cli, store, as: "ops")
                defer { steady.stopAndReap() }
                let victim = try Self.startDaemon(cli, store, as: nil)
                let after = Int.random(in: 1..<60, using: &rng)
                Poll.until(timeout: 20, every: 0.0005) {
                    victim.completeStdoutLines.count + steady.completeStdoutLines.count >= after || victim.poll() != nil
                }
                usleep(UInt32.random(in: 0..<3_000, using: &rng))
                victim.kill()
                let killed = try victim.wait(timeout: 10)
                #expect(killed.wasKilled, "trial \(trial): the daemon ended before it was killed: \(killed)")
                let killedLines = try Self.keys(killed.lines)
                if try Self.recordedKeys(store).count < all.count { midStream += 1 }
                // Printed by the killed daemon and not recorded by it: at most the one in flight (which the other
                // daemon may since have raised, printing it again with the same id).
                let inFlight = Set(killedLines).subtracting(try Self.recordedKeys(store, by: osUserName()))
                #expect(inFlight.isSubset(of: Set(killedLines.suffix(1))), "trial \(trial): printed but not recorded: \(inFlight)")

                let restarted = try Self.startDaemon(cli, store, as: nil)
                defer { restarted.stopAndReap() }
                let complete = try Poll.until(timeout: 30, every: 0.05) {
                    try Self.recordedKeys(store).count >= all.count || restarted.poll() != nil || steady.poll() != nil
                }
                #expect(complete, "trial \(trial): not every alert was raised before the daemons stopped or 30 s passed")
                usleep(300_000)
                let rest = try Self.stop(restarted).lines + Self.stop(steady).lines
                let printed = killedLines + (try Self.keys(rest))
                #expect(Set(printed) == all, "trial \(trial): missing \(all.subtracting(printed).sorted().prefix(5))")
                let twice = Self.repeated(printed)
                #expect(Set(twice).isSubset(of: inFlight), "trial \(trial): printed twice though recorded: \(twice)")
                let recorded = try Self.recordedKeys(store)
                #expect(Set(recorded) == all && recorded.count == all.count, "trial \(trial): recorded twice: \(Self.repeated(recorded))")
                #expect(try cli.run(["verify"], store: store, timeout: 30).succeeded)
            }
        }
        print("SeveralDaemonsCLITests kill beside another: \(midStream) of 4 kills landed mid-stream")
        #expect(midStream >= 2, "too few kills landed while alerts were being raised for the test to mean much")
    }
}
