import EventStore
import Foundation
import TestSupport
import Testing

/// `hubledger status` with several daemons: every daemon's heartbeat listed, and exit 1 when a hub or
/// region in use is covered by no reporting daemon, naming it. Real processes.
@Suite(.serialized)
struct DaemonStatusCLITests {
    typealias W = WatchCLITests
    typealias Several = SeveralDaemonsCLITests

    /// `status --json` and the plain `status`, run at once.
    struct Status {
        var json: JSONObject
        var exit: Int32?
        var text: CLIResult

        /// The `uncovered` entries as `region: hubs`.
        var uncovered: [String] {
            (json["uncovered"]?.arrayValue ?? []).compactMap(\.objectValue).map { o in
                "\(o["region"]?.stringValue ?? "?"): \((o["hubs"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ","))"
            }
        }

        /// Each daemon's state (`reporting`, `silent`, `stopped`) by actor.
        var states: [String: String] {
            var out: [String: String] = [:]
            for o in (json["daemons"]?.arrayValue ?? []).compactMap(\.objectValue) {
                out[o["actor"]?.stringValue ?? "?"] = o["state"]?.stringValue
            }
            return out
        }
    }

    static func status(_ cli: CLIHarness, _ store: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Status {
        let (run, json) = try W.status(cli, store, sourceLocation: sourceLocation)
        let text = try cli.run(["status"], store: store, timeout: 30)
        #expect(text.status == run.status, "status and status --json disagree: \(text)", sourceLocation: sourceLocation)
        return Status(json: json, exit: run.status, text: text)
    }

    /// Waits until status shows `actor`'s daemon in `state`.
    static func waitFor(_ actor: String, _ state: String, _ cli: CLIHarness, _ store: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let seen = try Poll.until(timeout: 20, every: 0.1) {
            try W.status(cli, store, sourceLocation: sourceLocation).1["daemons"]?.arrayValue?.contains {
                $0.objectValue?["actor"]?.stringValue == actor && $0.objectValue?["state"]?.stringValue == state
            } == true
        }
        try #require(seen, "\(actor)'s daemon never showed as \(state)", sourceLocation: sourceLocation)
    }

    @Test func statusNamesTheRegionsNoReportingDaemonCoversAndIsHealthyOnceAllAre() throws {
        try withCLI { cli in
            let store = try Several.store(cli, [Several.hackney, Several.woking, Several.salford], adults: 1)
            let london = try Several.startDaemon(cli, store, as: "eve")
            defer { london.stopAndReap() }
            try Self.waitFor("eve", "reporting", cli, store)

            // London's daemon alone: Surrey and Greater Manchester have participants and sessions and no daemon.
            let alone = try Self.status(cli, store)
            #expect(alone.exit == 1, "only London is covered: \(alone.text)")
            #expect(alone.uncovered == ["greater-manchester: salford", "surrey: woking"], "\(alone.json)")
            #expect(alone.json["healthy"] == false)
            #expect(alone.text.stdout.contains("NOT COVERED") && alone.text.stdout.contains("region surrey (hub woking)")
                    && alone.text.stdout.contains("region greater-manchester (hub salford)") && !alone.text.stdout.contains("region london ("),
                    "\(alone.text.stdout)")
            #expect(alone.text.stderr.contains("no running daemon covers"), "\(alone.text.stderr)")
            let eve = (alone.json["daemons"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["actor"] == "eve" }
            #expect(eve?["scope"]?.objectValue?["regions"] == ["london"] && eve?["scope"]?.objectValue?["everywhere"] == false, "\(alone.json)")
            #expect(eve?["interval"]?.doubleValue == 1 && eve?["time"]?.stringValue != nil && eve?["position"]?.intValue != nil, "\(alone.json)")
            #expect(alone.text.stdout.contains("daemon eve (region london): last heartbeat"), "\(alone.text.stdout)")

            // Surrey's and Greater Manchester's daemons too: every region covered.
            let surrey = try Several.startDaemon(cli, store, as: "sam")
            defer { surrey.stopAndReap() }
            let manchester = try Several.startDaemon(cli, store, as: "gus")
            defer { manchester.stopAndReap() }
            try Self.waitFor("sam", "reporting", cli, store)
            try Self.waitFor("gus", "reporting", cli, store)
            let covered = try Self.status(cli, store)
            #expect(covered.exit == 0, "\(covered.text)")
            #expect(covered.uncovered.isEmpty && covered.json["healthy"] == true, "\(covered.json)")
            #expect(covered.states == ["eve": "reporting", "sam": "reporting", "gus": "reporting"], "\(covered.json)")
            // `daemon` is still the latest heartbeat, as before there were several.
            #expect(covered.json["daemon"]?.objectValue?["interval"]?.doubleValue == 1, "\(covered.json)")
        }
    }

    /// A daemon stopped cleanly is shown as stopped and pages nobody while another daemon covers its hubs;
    /// once nothing covers them, status names them again, and with every daemon stopped it says so.
    @Test func aStoppedDaemonPagesOnlyThroughWhatItLeavesUncovered() throws {
        try withCLI { cli in
            let store = try Several.store(cli, [Several.hackney, Several.woking], adults: 1)
            let daemons = try ["eve", "sam", "ops"].map { try Several.startDaemon(cli, store, as: $0) }
            defer { for d in daemons { d.stopAndReap() } }
            for actor in ["eve", "sam", "ops"] { try Self.waitFor(actor, "reporting", cli, store) }
            #expect(try Self.status(cli, store).exit == 0)

            _ = try Several.stop(daemons[0])
            let covered = try Self.status(cli, store)
            #expect(covered.exit == 0, "ops covers London: \(covered.text)")
            #expect(covered.states == ["eve": "stopped", "sam": "reporting", "ops": "reporting"], "\(covered.json)")
            #expect(covered.text.stdout.contains("daemon eve (region london): stopped"), "\(covered.text.stdout)")

            _ = try Several.stop(daemons[2])
            let london = try Self.status(cli, store)
            #expect(london.exit == 1, "Surrey's daemon runs, London's is stopped and nothing else covers it: \(london.text)")
            #expect(london.uncovered == ["london: hackney"], "\(london.json)")

            _ = try Several.stop(daemons[1])
            let none = try Self.status(cli, store)
            #expect(none.exit == 1, "\(none.text)")
            #expect(none.states == ["eve": "stopped", "sam": "stopped", "ops": "stopped"], "\(none.json)")
            #expect(none.uncovered == ["london: hackney", "surrey: woking"], "\(none.json)")
            #expect(none.text.stderr.contains("no daemon is running"), "\(none.text.stderr)")

            // A daemon killed is not stopped: it is silent once three of its intervals have passed.
            let killed = try Several.startDaemon(cli, store, as: "sam")
            defer { killed.stopAndReap() }
            try Self.waitFor("sam", "reporting", cli, store)
            killed.kill()
            _ = try killed.wait(timeout: 10)
            try Self.waitFor("sam", "silent", cli, store)
            let silent = try Self.status(cli, store)
            #expect(silent.exit == 1 && silent.text.stdout.contains("daemon sam (region surrey)") && silent.text.stdout.contains("NOT REPORTING"),
                    "\(silent.text)")
        }
    }

    /// A `watch --once` run covers its scope for three of its intervals, then has finished: it never pages as
    /// silent (a check run by hand beside a running daemon would otherwise page for good), and stands for no daemon.
    @Test func aWatchOnceRunFinishesInsteadOfFallingSilent() throws {
        try withCLI { cli in
            let store = try Several.store(cli, [Several.hackney, Several.woking], adults: 1)
            let once = try cli.run(["watch", "--once", "--interval", "1s", "--now", W.T], store: store,
                                   environment: ["HUBLEDGER_ACTOR": "eve"], timeout: 60)
            #expect(once.succeeded, "\(once)")
            try Self.waitFor("eve", "finished", cli, store)
            // No daemon runs: its finishing does not stand for one.
            let alone = try Self.status(cli, store)
            #expect(alone.exit == 1 && alone.text.stderr.contains("no daemon is running"), "\(alone.text)")
            #expect(alone.text.stdout.contains("daemon eve (region london): a `watch --once` run"), "\(alone.text.stdout)")
            // Beside a daemon for every hub, the finished run pages nobody.
            let ops = try Several.startDaemon(cli, store, as: "ops")
            defer { ops.stopAndReap() }
            try Self.waitFor("ops", "reporting", cli, store)
            let covered = try Self.status(cli, store)
            #expect(covered.exit == 0, "\(covered.text)")
            #expect(covered.states == ["eve": "finished", "ops": "reporting"], "\(covered.json)")
            // While a run covers, the text says it is a one-off run, not a daemon (found by acceptance testing).
            let hourly = try cli.run(["watch", "--once", "--interval", "1h", "--now", W.T], store: store, environment: ["HUBLEDGER_ACTOR": "eve"], timeout: 60)
            #expect(hourly.succeeded, "\(hourly)")
            let fresh = try Self.status(cli, store)
            #expect(fresh.text.stdout.contains("daemon eve (region london): a `watch --once` run 0s ago")
                    && fresh.text.stdout.contains("covering its scope for three intervals of 3600s"), "\(fresh.text.stdout)")
        }
    }

    /// The single `meta/heartbeat.json` of an earlier version is read (listed, and judged silent as before) until
    /// a daemon of this version starts, which removes it.
    @Test func anEarlierVersionsHeartbeatIsListedUntilADaemonOfThisVersionStarts() throws {
        try withCLI { cli in
            let store = try Several.store(cli, [Several.hackney], adults: 1)
            let old: JSONValue = ["time": .string(Timestamp.now.adding(seconds: -5).rfc3339), "position": 3, "interval": 30, "pid": 1]
            try EventLog(path: store).saveMetadata(Array(old.jsonText.utf8), named: "heartbeat.json")
            let earlier = try Self.status(cli, store)
            let daemons = (earlier.json["daemons"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(daemons.count == 1 && daemons.first?["state"] == "reporting" && daemons.first?["actor"] == nil, "\(earlier.json)")
            #expect(earlier.text.stdout.contains("earlier version"), "\(earlier.text.stdout)")
            // It does not say what it covers, so it covers nothing.
            #expect(earlier.exit == 1 && earlier.uncovered == ["london: hackney"], "\(earlier.json)")

            let run = try cli.run(["watch", "--once", "--now", W.T], store: store, timeout: 30)
            #expect(run.status == 0, "\(run)")
            let after = try Self.status(cli, store)
            #expect(after.exit == 0, "\(after.text)")
            #expect(after.states == [osUserName(): "reporting"], "the earlier version's heartbeat is gone: \(after.json)")
        }
    }
}
