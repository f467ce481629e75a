import EventStore
import Foundation
import HubDomain

enum RecordCommand: Command {
    static let spec = CommandSpec(
        name: "record", summary: "record one event, checked against the hub's rules",
        usage: "record <Type> --<field> <value> … [--occurred-at T] [--id UUID] [--dry-run]",
        options: [
            .init(name: "occurred-at", valueName: "T", help: "when it happened, RFC 3339 (default: now; for an attendance or survey, when its session was held)"),
            .init(name: "id", valueName: "UUID", help: "the event's id (default: a new one); retrying the same command with the same id is safe (without --occurred-at it keeps the first try's time)"),
            .init(name: "dry-run", valueName: nil, help: "check only; write nothing"),
            .init(name: "json", valueName: nil, help: "print {position, id, type, head} ({dryRun} or {alreadyRecorded} and head when nothing was written)"),
        ],
        positionals: 1...1, acceptsFieldOptions: true,
        details: """
        Types and their fields:
        \(EventType.allCases.map { "  \($0.rawValue): " + Schema.fields(of: $0).map { $0.isRequired ? $0.name : $0.name + "?" }.joined(separator: ", ") }.joined(separator: "\n"))
        Booleans are true/false (or yes/no); numbers are whole numbers.
        Example: hubledger record AttendanceRecorded --participant P-0001 --session S-0003
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let typeName = arguments.positionals[0]
        guard let type = EventType(rawValue: typeName) else {
            throw CLIError.usage("unknown event type '\(typeName)' (see `hubledger record --help`)")
        }
        var data = JSONObject()
        let specs = Schema.fields(of: type)
        for (name, text) in arguments.fields {
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw CLIError.usage("\(type.rawValue) has no field --\(name) (fields: \(specs.map(\.name).joined(separator: ", ")))")
            }
            data[name] = try value(text, for: spec)
        }
        var id: UUID?
        if let raw = arguments.value("id") {
            guard let parsed = UUID(uuidString: raw) else { throw CLIError.usage("--id must be a UUID, not '\(raw)'") }
            id = parsed
        }
        let log = try Environment.openLog(arguments)
        var occurredAt = arguments.value("occurred-at") ?? Timestamp.now.rfc3339
        // A retry with the same id and no --occurred-at means the time of the event it retries, not a new "now".
        if let id, arguments.value("occurred-at") == nil, let earlier = try log.events(withIDs: [id])[id] {
            occurredAt = earlier.occurredAt.rfc3339
        } else if arguments.value("occurred-at") == nil, [.attendanceRecorded, .surveyCompleted].contains(type),
                  let session = data["session"]?.stringValue, let held = try log.timeHeld(ofSession: session) {
            // An attendance or survey happened at its session, as a register dates it. Dated when typed in, it would
            // be judged against the consents of that later time: a child's attendance before the parent's consent
            // would pass unflagged. A session recorded ahead (within a day) has not happened yet: what is typed in
            // before it is dated now, and the rules refuse it if the session is still more than 12 hours away.
            occurredAt = min(held, .now).rfc3339
        }
        let draft = EventDraft(type: type.rawValue, occurredAt: occurredAt, data: data, id: id, file: EventDraft.commandLine, line: 1)
        let outcome = try Submission.submit([draft], arguments: arguments, command: spec.name, subject: Schema.streamField(of: type).flatMap { field in data[field]?.stringValue.map { "\(field) \($0)" } })
        if arguments.has("json") {
            var o: JSONObject
            if let event = outcome.appended.first {
                o = ["position": .int(event.position), "id": .string(event.id.lowercasedString), "type": .string(event.type)]
            } else {
                o = [arguments.has("dry-run") ? "dryRun" : "alreadyRecorded": true]
            }
            o["head"] = HeadJSON.value(outcome.head)
            Console.out(JSONValue.object(o).jsonText)
        } else if let event = outcome.appended.first {
            Console.out("recorded \(event.type) at position \(event.position), id \(event.id.lowercasedString)")
        } else if arguments.has("dry-run") {
            Console.out("ok: the event passes every rule (dry run, nothing written)")
        } else {
            Console.out("already recorded (same id and content); nothing written")
        }
        // What review will flag, said now (a retry too: the first run's warning may have been lost).
        try ConsentWarning.warn([draft], log: log, dryRun: arguments.has("dry-run"))
    }

    /// Turns command-line text into the JSON type the field expects.
    static func value(_ text: String, for spec: FieldSpec) throws -> JSONValue {
        switch spec.kind {
        case .bool:
            switch text.lowercased() {
            case "true", "yes": return .bool(true)
            case "false", "no": return .bool(false)
            default: throw CLIError.usage("--\(spec.name) must be true or false, not '\(text)'")
            }
        case .integer:
            guard let n = Int64(text) else { throw CLIError.usage("--\(spec.name) must be a whole number, not '\(text)'") }
            return .int(n)
        default:
            return .string(text)
        }
    }
}

/// Runs a submission through the recorder and turns its refusals into CLI errors.
enum Submission {
    /// - Parameters:
    ///   - permissions: what the actor must be allowed; by default, recording each type the drafts hold.
    ///   - warnFlags: warn on stderr about attendances of flagged people (flag names only, never notes);
    ///     off for the synthetic demo.
    ///   - unreadable: problems found reading the input (lines that are not events): reported together with
    ///     the rules' problems on the lines that are, in file and line order, and nothing is written.
    ///   - files: the input files in the order given, for that order.
    static func submit(_ drafts: [EventDraft], arguments: ParsedArguments, command: String, subject: String? = nil,
                       permissions: [Permission]? = nil, warnFlags: Bool = true,
                       unreadable: [InputProblem] = [], files: [String] = []) throws -> Recorder.Outcome {
        let log = try Environment.openLog(arguments)
        let actor = try authorize(drafts, log: log, command: command, subject: subject, permissions: permissions)
        let recorder = Recorder(log: log, actor: actor)
        func refuse(_ problems: [InputProblem]) -> CLIError {
            let rank = Dictionary(files.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            // A register row becomes an attendance and a survey: the same problem on both is told once.
            var seen = Set<String>()
            let distinct = (unreadable + problems).filter { seen.insert($0.description).inserted }
            let ordered = distinct.enumerated().sorted { a, b in
                let (ra, rb) = (rank[a.element.file] ?? files.count, rank[b.element.file] ?? files.count)
                return (ra, a.element.line, a.offset) < (rb, b.element.line, b.offset)
            }
            for (_, problem) in ordered { Console.err(problem.description) }
            return CLIError.failure("\(ordered.count) problem(s) found; nothing was written")
        }
        do {
            let outcome = try recorder.submit(drafts, dryRun: arguments.has("dry-run") || !unreadable.isEmpty)
            if !unreadable.isEmpty { throw refuse([]) }
            if let recovery = outcome.recovery { Console.err("recovered: \(recovery)") }
            if warnFlags {
                for (participant, flags) in outcome.attendeeFlags {
                    Console.err("warning: \(participant) has active flags: \(flags.joined(separator: ", "))")
                }
            }
            return outcome
        } catch DomainError.rejected(let problems) {
            throw refuse(problems)
        } catch let error as DomainError {
            throw CLIError.failure(error.description)
        }
    }

    /// The actor, once each draft's permission (or the command's) is held within scope for everything
    /// the draft is about. Its own function so that the requirements, one or more per line of an import,
    /// are freed before the rules run.
    private static func authorize(_ drafts: [EventDraft], log: EventLog, command: String, subject: String?,
                                  permissions: [Permission]?) throws -> String {
        let targets = try Subject.retractionTargets(of: drafts, in: log)
        var requirements: [AccessGate.Requirement] = []
        for draft in drafts {
            let about = Subject.of(draft, targets: targets)
            if let permissions {
                requirements += permissions.map { AccessGate.Requirement(permission: $0, subjects: about) }
            } else if let type = EventType(rawValue: draft.type) {
                requirements.append(AccessGate.Requirement(permission: .record(type), subjects: about))
            }
        }
        if let permissions, drafts.isEmpty { requirements = permissions.map { AccessGate.Requirement(permission: $0) } }
        return try AccessGate.authorize(requirements, command: command, subject: subject, log: log).actor
    }
}
