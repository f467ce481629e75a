import EventStore
import HubDomain

enum InitCommand: Command {
    static let spec = CommandSpec(
        name: "init", summary: "create an empty store; you become its first admin", usage: "init [--store DIR]",
        details: """
        Refuses to touch a directory that already holds files. The store is created mode 0700, its files 0600.
        The operating-system user who runs it owns the directory and is its first admin; the log stays empty
        until something is recorded. The first `hubledger access grant` writes that admin's own grant down
        (AccessGranted) before the new one, and from then on only recorded grants count.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let path = Environment.storePath(arguments)
        _ = try EventLog.create(at: path)
        Console.out("created an empty store at \(path); \(Environment.osUser) is its first admin (grant others roles with `hubledger access grant ACTOR ROLE`)")
    }
}
