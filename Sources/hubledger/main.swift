import EventStore
import Foundation

let commands: [any Command.Type] = [
    InitCommand.self, DemoCommand.self, RecordCommand.self, ImportCommand.self, RetractCommand.self,
    HistoryCommand.self, ReviewCommand.self, ReferralsCommand.self, AuditCommand.self, RebuildCommand.self,
    WatchCommand.self, ProjectCommand.self, StatusCommand.self, ExportCommand.self,
    AccessCommand.self, EraseCommand.self, AppendCommand.self, LogCommand.self, VerifyCommand.self,
]

let toolHelp = """
HubLedger: an event-sourced referral and safeguarding record for intergenerational community hubs.

Usage: hubledger [--store DIR] COMMAND [OPTIONS]

Commands:
\(commands.map { "  " + $0.spec.name.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.spec.summary }.joined(separator: "\n"))

Run `hubledger COMMAND --help` for a command's options.
The store is --store DIR, else $HUBLEDGER_STORE, else $XDG_DATA_HOME/hubledger (or ~/.local/share/hubledger).
"""

@MainActor
func runMain() -> Int32 {
    // A closed stdout (`| head`) makes writes fail with EPIPE instead of killing the process mid-append.
    signal(SIGPIPE, SIG_IGN)
    // A write past the file-size limit fails with EFBIG (and a clear error) instead of killing the process.
    signal(SIGXFSZ, SIG_IGN)
    var args = Array(CommandLine.arguments.dropFirst())
    // --store may come before the command.
    var leadingStore: String?
    while let first = args.first, first.hasPrefix("--store") {
        if first == "--store", args.count >= 2 { leadingStore = args[1]; args.removeFirst(2) }
        else if first == "--store" {
            Console.err("hubledger: --store needs a value: the store's directory (see `hubledger --help`)")
            return 2
        }
        else if first.hasPrefix("--store=") { leadingStore = String(first.dropFirst(8)); args.removeFirst() }
        else { break }
    }
    guard let name = args.first else {
        Console.err(toolHelp)
        return 2
    }
    if name == "--help" || name == "-h" || name == "help" {
        Console.out(toolHelp)
        return 0
    }
    if name == "--version" { Console.out("hubledger 0.1.0"); return 0 }
    guard let command = commands.first(where: { $0.spec.name == name }) else {
        Console.err("hubledger: unknown command '\(name)' (see `hubledger --help`)")
        return 2
    }
    let spec = command.spec
    do {
        var parsed = try ArgumentParser.parse(Array(args.dropFirst()), spec: spec)
        if let leadingStore, parsed.values["store"] == nil { parsed.values["store"] = [leadingStore] }
        try command.run(parsed)
        return 0
    } catch CLIError.help(let text) {
        Console.out(text)
        return 0
    } catch CLIError.usage(let message) {
        Console.err("hubledger \(name): \(message)")
        return 2
    } catch CLIError.failure(let message) {
        Console.err("hubledger \(name): \(message)")
        return 1
    } catch CLIError.silentFailure {
        return 1
    } catch let error as EventStoreError {
        Console.err("hubledger \(name): \(error.description)")
        return 1
    } catch {
        Console.err("hubledger \(name): \(error)")
        return 1
    }
}

exit(runMain())
