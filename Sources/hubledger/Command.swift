/// One `hubledger` subcommand: its help and its body.
protocol Command {
    static var spec: CommandSpec { get }
    static func run(_ arguments: ParsedArguments) throws
}
