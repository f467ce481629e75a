import EventStore
import Foundation
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
        // Set-user-ID, the store would belong to the service account, not to whoever ran init: its first admin
        // would be the service account, and anyone allowed to run hubledger could make stores in its name.
        if InvokingUser.isSetUID {
            let account = Environment.userName(geteuid())
            throw CLIError.failure("init makes the store of the account that runs it, and this runs set-user-ID as \(account) for \(Environment.osUser): "
                                   + "run it as \(account) itself (`sudo -u \(account) hubledger init --store \(path)`); nothing was created")
        }
        _ = try EventLog.create(at: path)
        Console.out("created an empty store at \(path); \(Environment.osUser) is its first admin (grant others roles with `hubledger access grant ACTOR ROLE`)")
    }
}
