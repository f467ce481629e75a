import EventStore
import Projections

enum RebuildCommand: Command {
    static let spec = CommandSpec(
        name: "rebuild", summary: "discard projection checkpoints and fold the log again from position 0",
        usage: "rebuild [chronology|review|referrals|audit]", positionals: 0...1)

    static func run(_ arguments: ParsedArguments) throws {
        let names = ["chronology", "review", "referrals", "audit"]
        let wanted = arguments.positionals.first
        if let wanted, !names.contains(wanted) { throw CLIError.usage("unknown projection '\(wanted)' (one of \(names.joined(separator: ", ")))") }
        let log = try Environment.openLog(arguments)
        let runner = ProjectionRunner(log: log)
        try runner.discardCheckpoints(named: wanted)
        for name in names where wanted == nil || wanted == name {
            let head: LogHead?
            switch name {
            case "chronology": head = try runner.run(ChronologyProjection.self).head
            case "review": head = try runner.run(ReviewProjection.self).head
            case "referrals": head = try runner.run(ReferralProjection.self).head
            default: head = try runner.run(AuditProjection.self).head
            }
            Console.out("rebuilt \(name) to \(head?.description ?? "an empty log")")
        }
    }
}
