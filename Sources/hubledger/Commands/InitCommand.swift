import EventStore

enum InitCommand: Command {
    static let spec = CommandSpec(
        name: "init", summary: "create an empty store", usage: "init [--store DIR]",
        details: "Refuses to touch a directory that already holds files. The store is created mode 0700, its files 0600.")

    static func run(_ arguments: ParsedArguments) throws {
        let path = Environment.storePath(arguments)
        _ = try EventLog.create(at: path)
        Console.out("created an empty store at \(path)")
    }
}
