import EventStore
import Foundation
import HubDomain
import Projections

enum ImportCommand: Command {
    static let spec = CommandSpec(
        name: "import", summary: "import events from JSON-lines files (or an attendance register), all or nothing",
        usage: "import FILE… | import - | import --register FILE.csv --session S | import --format cloudevents FILE  [--dry-run]",
        options: [
            .init(name: "format", valueName: "F", help: "jsonl (default) or cloudevents (an export of another store, into an empty one)"),
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
        --format cloudevents: an export (`hubledger export --format cloudevents`) into an empty store, checked as
        a whole (links, versions, order, times) and its domain events by the same rules; every event keeps its id,
        stream, actor and recorded time.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        switch arguments.value("format") ?? "jsonl" {
        case "jsonl": break
        case "cloudevents": return try importCloudEvents(arguments)
        case let other: throw CLIError.usage("--format must be jsonl or cloudevents, not '\(other)'")
        }
        var drafts: [EventDraft] = []
        var problems: [InputProblem] = []
        var registerLog: EventLog?
        if let register = arguments.value("register") {
            guard let session = arguments.value("session") else { throw CLIError.usage("--register needs --session S") }
            guard arguments.positionals.isEmpty else { throw CLIError.usage("give either files or --register, not both") }
            let log = try Environment.openLog(arguments)
            registerLog = log
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
        // Lines that are not events are reported with the rules' problems on the lines that are: every
        // problem at once (a rule's complaint may then be about what an unreadable line would have created).
        let registerSession = arguments.value("register") != nil ? arguments.value("session") : nil
        let files = registerSession != nil ? [arguments.value("register") ?? ""] : arguments.positionals.map { $0 == "-" ? "stdin" : $0 }
        let outcome = try Submission.submit(drafts, arguments: arguments, command: spec.name,
                                            subject: registerSession.map { "session \($0)" } ?? arguments.positionals.joined(separator: " "),
                                            permissions: registerSession != nil ? [.importRegister] : nil,
                                            unreadable: problems, files: files)
        // A register is a session's rows, typed in by whoever knows the consents: each flagged row is said now.
        if let registerLog { try ConsentWarning.warn(drafts, log: registerLog, dryRun: arguments.has("dry-run")) }
        let retracted = outcome.alreadyRetracted > 0
            ? " (\(outcome.alreadyRetracted) of them retracted, so not counted: a retraction stands until a new event is recorded)" : ""
        let present = outcome.alreadyPresent > 0 ? ", \(outcome.alreadyPresent) already in the log\(retracted)" : ""
        if arguments.has("dry-run") {
            Console.out("ok: \(drafts.count - outcome.alreadyPresent) event(s) would be imported\(present) (dry run, nothing written)")
        } else {
            Console.out("imported \(outcome.appended.count) event(s)\(present); head \(outcome.head.map { $0.description } ?? "(empty)")")
        }
    }

    /// A CloudEvents export replayed into an empty store: same ids, streams, versions, order, actors and
    /// recorded times, the fields sealed in the source sealed again, as one atomic batch, so every
    /// projection comes out the same (as of any time, too).
    static func importCloudEvents(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1, let path = arguments.positionals.first else {
            throw CLIError.usage("--format cloudevents takes exactly one FILE")
        }
        let file = path == "-" ? "stdin" : path
        let export = CloudEvents.decode(try read(path), file: file)
        let problems = export.problems.isEmpty ? CloudEvents.problems(in: export, file: file, now: .now) : export.problems
        if !problems.isEmpty {
            for problem in problems { Console.err(problem.description) }
            throw CLIError.failure("\(problems.count) problem(s) found; nothing was written")
        }
        let log = try Environment.openLog(arguments)
        let importer = try AccessGate.authorize(.administer, command: spec.name, subject: path, about: [.wholeStore], log: log).actor
        guard try log.head() == nil else {
            throw CLIError.failure("a CloudEvents export is imported into an empty store only (one made by `hubledger init`); this one already holds events")
        }
        if arguments.has("dry-run") { Console.out("ok: \(export.events.count) event(s) would be imported (dry run, nothing written)"); return }
        var expectations: [StreamID: ExpectedVersion] = [:]
        for event in export.events where expectations[event.stream] == nil { expectations[event.stream] = .noStream }
        let result = try log.append(AppendBatch(events: export.events, expectations: expectations))
        Console.out("imported \(result.appendedCount) event(s) from the export; head \(result.head?.description ?? "(empty)")")
        if export.valuesWithoutText > 0 {
            Console.err("warning: \(export.valuesWithoutText) sealed value(s) came as digests without their text (exported without --include-sensitive, or erased in the source): this store holds their digests and shows them as [erased]")
        }
        // The export's grants now count; whoever imported it must not be locked out of their own store.
        let access = try ProjectionRunner(log: log).run(AccessProjection.self).model.state
        if access.hasRecordedGrants, !access.roles(of: importer).contains(.admin) {
            try log.append([AccessRecords.grantEvent(importer, .admin, by: importer)], to: AccessRecords.accessStream)
            Console.out("granted \(importer), who imported it, the admin role (the export's grants did not include them)")
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = try InvokingUser.withOwnRights({ FileManager.default.contents(atPath: path) }) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CLIError.failure("cannot read \(path): it is a directory; name the file(s) to import")
            }
            throw CLIError.failure("cannot read \(path): no such file or not readable")
        }
        return [UInt8](data)
    }
}
