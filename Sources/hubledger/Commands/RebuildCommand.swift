import EventStore
import Projections

enum RebuildCommand: Command {
    static let spec = CommandSpec(
        name: "rebuild", summary: "discard projection checkpoints and fold the log again from position 0",
        usage: "rebuild [chronology|review|referrals|audit|alerts|access|locations]", positionals: 0...1,
        details: "Without a name, every projection is rebuilt in one pass over the log.")

    static func run(_ arguments: ParsedArguments) throws {
        let names = ProjectionRunner.all.map { $0.name }
        let wanted = arguments.positionals.first
        if let wanted, !names.contains(wanted) { throw CLIError.usage("unknown projection '\(wanted)' (one of \(names.joined(separator: ", ")))") }
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, log: log)
        let runner = ProjectionRunner(log: log)
        try runner.discardCheckpoints(named: wanted)
        let types = ProjectionRunner.all.filter { wanted == nil || $0.name == wanted }
        let result = try runner.runAll(types)
        for type in types { Console.out("rebuilt \(type.name) to \(result.head?.description ?? "an empty log")") }
    }
}
