import EventStore
import Foundation
import Projections

enum StatusCommand: Command {
    static let spec = CommandSpec(
        name: "status", summary: "the log head, each projection's checkpoint and lag, and the daemon's last heartbeat",
        usage: "status [--json] [--now T]",
        options: [ReadSupport.jsonOption, ReadSupport.nowOption],
        details: "Exits 1 when the watch daemon has not reported for more than three of its intervals (or never has), so monitoring can page someone.")

    static func run(_ arguments: ParsedArguments) throws {
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, log: log)
        let head = try log.head()
        let now = try arguments.value("now").map { _ in try ReadSupport.now(arguments) } ?? .now
        var projections: [(String, LogPosition?)] = []
        for type in ProjectionRunner.all { projections.append((type.name, log.loadCheckpoint(named: type.name)?.head.position)) }
        var heartbeat: JSONObject?
        if let bytes = log.loadMetadata(named: "heartbeat.json"), case .object(let o)? = try? JSONParser.parse(bytes) { heartbeat = o }
        var healthy = false
        var age: Double?
        if let beat = heartbeat, let time = beat["time"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }), let interval = beat["interval"]?.doubleValue {
            age = Double(now.microseconds - time.microseconds) / 1_000_000
            healthy = (age ?? .infinity) <= 3 * interval
        }
        let headPosition = head?.position ?? -1
        if arguments.has("json") {
            Console.out(JSONValue.object([
                "head": HeadJSON.value(head),
                "projections": .array(projections.map { name, p in
                    ["name": .string(name), "position": p.map { .int($0) } ?? .null, "lag": .int(headPosition - (p ?? -1))]
                }),
                "daemon": heartbeat.map { .object($0) } ?? .null,
                "heartbeatAgeSeconds": age.map { .double($0) } ?? .null,
                "healthy": .bool(healthy),
            ]).jsonText)
        } else {
            Console.out("log head: \(head?.description ?? "(empty log)")")
            for (name, p) in projections {
                Console.out("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) checkpoint \(p.map(String.init) ?? "none"), lag \(headPosition - (p ?? -1)) events")
            }
            if let heartbeat, let age {
                Console.out("daemon: last heartbeat \(Int(age))s ago at position \(heartbeat["position"]?.intValue ?? -1)\(healthy ? "" : " — NOT REPORTING (more than three intervals)")")
            } else {
                Console.out("daemon: no heartbeat recorded (is `hubledger watch` running?)")
            }
        }
        if !healthy { throw CLIError.silentFailure }
    }
}
