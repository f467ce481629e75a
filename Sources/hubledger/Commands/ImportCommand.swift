import EventStore
import Foundation
import HubDomain

enum ImportCommand: Command {
    static let spec = CommandSpec(
        name: "import", summary: "import events from JSON-lines files (or an attendance register), all or nothing",
        usage: "import FILE… | import - | import --register FILE.csv --session S  [--dry-run]",
        options: [
            .init(name: "register", valueName: "FILE.csv", help: "a facilitator's register: header participant[,happier,more_connected]"),
            .init(name: "session", valueName: "S", help: "the session the register is for (with --register)"),
            .init(name: "dry-run", valueName: nil, help: "check every line; write nothing"),
        ],
        positionals: 0...1000,
        details: """
        Each line: {"type", "occurredAt", "data", "id"?}. Every line of every file is checked first and
        every problem is reported with file, line and field; only if there are none is everything
        appended, as one atomic batch. Lines whose id is already in the log with the same content are
        skipped, so re-importing a file changes nothing.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        var drafts: [EventDraft] = []
        var problems: [InputProblem] = []
        if let register = arguments.value("register") {
            guard let session = arguments.value("session") else { throw CLIError.usage("--register needs --session S") }
            guard arguments.positionals.isEmpty else { throw CLIError.usage("give either files or --register, not both") }
            let log = try Environment.openLog(arguments)
            let parsed = try Register.drafts(from: try read(register), file: register, session: session, log: log)
            drafts = parsed.drafts; problems = parsed.problems
        } else {
            guard !arguments.positionals.isEmpty else { throw CLIError.usage("name at least one FILE (or - for stdin)") }
            if arguments.value("session") != nil { throw CLIError.usage("--session goes with --register") }
            for path in arguments.positionals {
                let parsed = ImportFile.drafts(from: try read(path), file: path == "-" ? "stdin" : path)
                drafts += parsed.drafts; problems += parsed.problems
            }
        }
        if !problems.isEmpty {
            for problem in problems { Console.err(problem.description) }
            throw CLIError.failure("\(problems.count) problem(s) found; nothing was written")
        }
        let outcome = try Submission.submit(drafts, arguments: arguments)
        let present = outcome.alreadyPresent > 0 ? ", \(outcome.alreadyPresent) already in the log" : ""
        if arguments.has("dry-run") {
            Console.out("ok: \(drafts.count - outcome.alreadyPresent) event(s) would be imported\(present) (dry run, nothing written)")
        } else {
            Console.out("imported \(outcome.appended.count) event(s)\(present); head \(outcome.head.map { $0.description } ?? "(empty)")")
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError.failure("cannot read \(path): no such file or not readable")
        }
        return [UInt8](data)
    }
}
