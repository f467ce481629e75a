import EventStore
import Foundation
import HubDomain
import Projections

enum StatusCommand: Command {
    static let spec = CommandSpec(
        name: "status", summary: "the log head, each projection's checkpoint and lag, and every alert daemon's last heartbeat",
        usage: "status [--json] [--now T]",
        options: [ReadSupport.jsonOption, ReadSupport.nowOption],
        details: """
        Lists each watch daemon (one per actor) with its scope, interval, last heartbeat and position. Exits 1, so
        that monitoring can page someone, when a daemon has not reported for more than three of its intervals,
        when none ever has or every one has stopped, or when a hub or region holding participants or sessions is
        covered by no daemon that is reporting (the message names them). A daemon stopped cleanly (SIGTERM) is
        shown as stopped: it pages only through the hubs it leaves uncovered.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, log: log)
        let head = try log.head()
        let now = try arguments.value("now").map { _ in try ReadSupport.now(arguments) } ?? .now
        var projections: [(String, LogPosition?)] = []
        for type in ProjectionRunner.all { projections.append((type.name, log.loadCheckpoint(named: type.name)?.head.position)) }
        let health = DaemonHealth(heartbeats: try Heartbeat.all(in: log), now: now, placesInUse: AccessGate.places(log).placesInUse)
        let headPosition = head?.position ?? -1
        if arguments.has("json") {
            Console.out(JSONValue.object([
                "head": HeadJSON.value(head),
                "projections": .array(projections.map { name, p in
                    ["name": .string(name), "position": p.map { .int($0) } ?? .null, "lag": .int(headPosition - (p ?? -1))]
                }),
                "daemon": health.latest.map { .object($0.heartbeat.json) } ?? .null,
                "heartbeatAgeSeconds": health.latest.map { .double($0.ageSeconds) } ?? .null,
                "daemons": .array(health.daemons.map { daemon in
                    var o = daemon.heartbeat.json
                    o["state"] = .string(daemon.state.rawValue)
                    o["ageSeconds"] = .double(daemon.ageSeconds)
                    return .object(o)
                }),
                "uncovered": .array(health.uncovered.map { ["region": .string($0.region), "hubs": .array($0.hubs.map(JSONValue.string))] }),
                "problems": .array(health.problems.map(JSONValue.string)),
                "healthy": .bool(health.isHealthy),
            ]).jsonText)
        } else {
            Console.out("log head: \(head?.description ?? "(empty log)")")
            for (name, p) in projections {
                Console.out("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) checkpoint \(p.map(String.init) ?? "none"), lag \(headPosition - (p ?? -1)) events")
            }
            if health.daemons.isEmpty {
                Console.out("daemon: no heartbeat recorded (is `hubledger watch` running?)")
            }
            for daemon in health.daemons { Console.out(line(daemon)) }
            if !health.uncovered.isEmpty {
                Console.out("NOT COVERED by a reporting daemon: \(health.uncovered.map(\.description).joined(separator: ", "))")
            }
        }
        for problem in health.problems { Console.err("status: \(problem)") }
        if !health.isHealthy { throw CLIError.silentFailure }
    }

    /// One daemon's line: `daemon eve (region london): last heartbeat 3s ago at position 120, every 5s`.
    static func line(_ daemon: DaemonHealth.Daemon) -> String {
        let beat = daemon.heartbeat
        let every = "every \(Interval.text(beat.interval))"
        // An earlier version's heartbeat names itself ("the daemon of an earlier version …").
        let name = beat.actor == nil ? beat.daemonName : "daemon " + beat.daemonName
        switch daemon.state {
        case .reporting where beat.isOneOff:
            return "\(name): a `watch --once` run \(Int(daemon.ageSeconds))s ago at position \(beat.position), covering its scope for three "
                + "intervals of \(Interval.text(beat.interval))"
        case .reporting, .silent:
            let last = "\(name): last heartbeat \(Int(daemon.ageSeconds))s ago at position \(beat.position), \(every)"
            return daemon.state == .silent ? last + " — NOT REPORTING (more than three intervals)" : last
        case .stopped:
            return "\(name): stopped \(Int(daemon.ageSeconds))s ago at position \(beat.position)"
        case .finished:
            return "\(name): a `watch --once` run \(Int(daemon.ageSeconds))s ago at position \(beat.position), finished"
        }
    }
}
