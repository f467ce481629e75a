import EventStore
import Foundation
import HubDomain
import Projections

enum WatchCommand: Command {
    static let spec = CommandSpec(
        name: "watch", summary: "the alert daemon: follow the log, keep read models current, raise each alert once",
        usage: "watch [--interval 30s] [--once [--dry-run]] [--now T] [--webhook URL [--region R]…]… [--json] [--threshold DAYS] [--urgent-threshold DAYS]",
        options: [
            .init(name: "interval", valueName: "30s", help: "how often to check on time passing (new events are checked at once)"),
            .init(name: "once", valueName: nil, help: "evaluate once and exit"),
            .init(name: "dry-run", valueName: nil, help: "with --once: print the alerts that are due and raise none (no webhook, nothing recorded)"),
            ReadSupport.nowOption,
            .init(name: "webhook", valueName: "URL", help: "also POST each alert as JSON; retried, never dropped (repeatable)", repeats: true),
            .init(name: "region", valueName: "R", help: "after a --webhook: only alerts of region R go to it (repeatable; \(PlaceOptions.spellings))",
                  repeats: true),
            .init(name: "json", valueName: nil, help: "alerts as JSON lines on stdout (the default)"),
            .init(name: "threshold", valueName: "DAYS", help: "days a referral may wait for a first attendance (default 14; urgent at twice)"),
            .init(name: "urgent-threshold", valueName: "DAYS", help: "the same for urgent referrals (default 2)"),
        ],
        details: """
        Alerts: referral-awaiting-first-attendance (warning at the threshold, urgent at twice it),
        attendance-without-consent, concern-unescalated (high or critical, 24 hours), flag-review-due (an active
        flag's reviewBy date has passed without removal or renewal; once per participant, flag and review date).
        Each alert goes to stdout as one JSON line, with the hub and region where its participant belongs
        now (null if nowhere); logs go to stderr. After delivery an AlertRaised
        event is appended to the `alerts` stream, so an alert is raised once per kind, subject and level,
        across restarts. Only the alerts in the scope of the actor's admin role are raised: several daemons may run
        on one store, one per actor (HUBLEDGER_ACTOR or the OS user; a second of the same actor is refused),
        so an admin granted --region london runs London's, and an alert that two daemons' scopes share is
        raised by one of them, once. The actor's roles are read again every cycle: a new scope takes effect at
        once, and a daemon whose admin role is revoked raises nothing more, marks its heartbeat stopped and exits 1.
        Each daemon records its own heartbeat (actor, scope,
        interval, position) for `hubledger status`. SIGTERM/SIGINT finish the cycle, mark the heartbeat stopped
        and exit 0.
        Each --webhook takes the --region options that follow it (up to the next --webhook) and then gets only
        alerts of those regions; a --webhook with none gets every alert. An alert is raised once every
        webhook it goes to has accepted it. The POSTs are made by hubledger-webhook, which must sit
        beside this binary (it is built with it).
        """)

    static func run(_ arguments: ParsedArguments) throws {
        var interval = 30.0
        if let text = arguments.value("interval") {
            guard let v = Interval.parse(text) else { throw CLIError.usage("--interval must be like 30s, 5m or 1h, not '\(text)'") }
            interval = v
        }
        var policy = AlertPolicy()
        for (name, apply) in [("threshold", { (v: Double) in policy.threshold = v }), ("urgent-threshold", { policy.urgentThreshold = $0 })] {
            guard let text = arguments.value(name) else { continue }
            guard let v = Double(text), v > 0 else { throw CLIError.usage("--\(name) must be a positive number of days, not '\(text)'") }
            apply(v)
        }
        let webhooks = try WebhookRoute.routes(arguments)
        if !webhooks.isEmpty { try Webhook.checkSenderInstalled() }
        let fixedNow = try arguments.value("now").map { _ in try ReadSupport.now(arguments) }
        if arguments.has("dry-run") && !arguments.has("once") { throw CLIError.usage("--dry-run goes with --once") }
        if let fixedNow, fixedNow > Timestamp.now.adding(seconds: 60), !arguments.has("dry-run") {
            Console.err("watch: --now \(fixedNow.rfc3339) is in the future: what is due then is raised now, and will not be raised again when that time comes (add --dry-run to look ahead without raising)")
        }
        let log = try Environment.openLog(arguments)
        let authorization = try AccessGate.authorize(.administer, command: spec.name, log: log)
        let actor = authorization.actor
        // A dry run raises nothing, so it may look beside a running daemon of the same actor.
        let locks = arguments.has("dry-run") ? [] : try takeLocks(log, actor: actor)
        defer { withExtendedLifetime(locks) {} }
        // An earlier version's single heartbeat is superseded by this daemon's own (no daemon of that version runs: see takeLocks).
        if !arguments.has("dry-run") { try log.removeMetadata(named: DaemonFiles.legacyHeartbeat) }
        StopSignal.install()
        let scope = authorization.scope(for: .administer) ?? .everywhere
        var daemon = AlertDaemon(log: log, policy: policy, webhooks: webhooks, interval: interval, actor: actor, scope: scope,
                                 fallbackAdmin: authorization.fallbackAdmin)
        daemon.isOneOff = arguments.has("once")
        daemon.isDryRun = arguments.has("dry-run")
        let hooks = webhooks.isEmpty ? "" : (webhooks.count == 1 ? ", webhook " : ", webhooks ") + webhooks.map(\.description).joined(separator: ", ")
        if daemon.isDryRun {
            Console.err("watch: a dry run on \(log.path) as \(actor): listing the alerts due in \(AccessGate.describe(scope)), raising none")
        } else {
            Console.err("watch: following \(log.path) as \(actor), raising the alerts of \(AccessGate.describe(scope)) (interval \(Interval.text(interval))\(hooks))")
        }
        while true {
            let head: LogHead?, undelivered: Int
            do {
                (head, undelivered) = try daemon.cycle(now: fixedNow ?? .now)
            } catch let revoked as AlertDaemon.RoleRevoked {
                // A clean stop, so `status` does not wait for this daemon's heartbeat.
                try daemon.saveCheckpoints()
                if !arguments.has("once") && !arguments.has("dry-run") { try daemon.markStopped() }
                throw CLIError.failure(revoked.message)
            }
            if arguments.has("once") {
                if undelivered > 0 {
                    throw CLIError.failure("\(undelivered) alert(s) could not be delivered to every webhook they go to; they stay unraised and will be tried again")
                }
                break
            }
            if StopSignal.isRequested { break }
            StopSignal.sleep(interval) { (try? log.head()) != head }
            if StopSignal.isRequested { break }
        }
        try daemon.saveCheckpoints()
        if !arguments.has("once") { try daemon.markStopped() }
        Console.err("watch: stopped")
    }

    /// The locks a daemon holds while it runs: the store's watch lock shared with the other daemons of this
    /// version, and its actor's own, so that one daemon per actor runs.
    /// - Throws: `CLIError.failure` naming what already runs.
    static func takeLocks(_ log: EventLog, actor: String) throws -> [StoreLock] {
        guard let shared = try log.tryLock(named: DaemonFiles.storeLock, shared: true) else {
            throw CLIError.failure("a `hubledger watch` of an earlier version is already running on this store and allows no other daemon; "
                                   + "stop it and start it again with this version")
        }
        guard let own = try log.tryLock(named: DaemonFiles.lockName(for: actor)) else {
            let pid = (try? Heartbeat.all(in: log))?.first { $0.actor == actor }?.pid.map { " (pid \($0))" } ?? ""
            throw CLIError.failure("another `hubledger watch` is already running on this store as \(actor)\(pid); one daemon per actor may run. "
                                   + "Stop it first, or run this one as another admin (HUBLEDGER_ACTOR)")
        }
        return [shared, own]
    }
}
