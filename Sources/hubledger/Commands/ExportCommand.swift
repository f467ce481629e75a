import EventStore
import Foundation
import HubDomain

enum ExportCommand: Command {
    static let spec = CommandSpec(
        name: "export", summary: "the log as CloudEvents 1.0 JSON lines (for Kafka, EventStoreDB, a warehouse)",
        usage: "export --format cloudevents [--from N] [--follow] [--source URI] [--include-sensitive]",
        options: [
            .init(name: "format", valueName: "cloudevents", help: "the output format (cloudevents)"),
            .init(name: "from", valueName: "N", help: "start at position N (resume after the last position a consumer stored)"),
            .init(name: "follow", valueName: nil, help: "keep streaming new events as they are appended, until SIGTERM"),
            .init(name: "source", valueName: "URI", help: "the CloudEvents source for this hub (default urn:hubledger:<store directory name>)"),
            .init(name: "include-sensitive", valueName: nil, help: "export sealed free text as written (default: its salted SHA-256 as the log holds it; an erased value leaves so either way)"),
        ],
        details: """
        One event per line, in log order, each with the extension attributes position, streamversion,
        recordedat, actor, hash, previoushash and schemaversion; correlationid and causationid on an event that
        has them, and sealedfields (comma-separated) on an event with sealed fields. Order is the log's; a consumer that stores the last position it
        processed resumes with --from (that position + 1) and can drop any event whose position it has seen.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        guard (arguments.value("format") ?? "cloudevents") == "cloudevents" else {
            throw CLIError.usage("--format must be cloudevents, not '\(arguments.value("format") ?? "")'")
        }
        var from: LogPosition = 0
        if let text = arguments.value("from") {
            guard let n = LogPosition(text), n >= 0 else { throw CLIError.usage("--from must be a position (0 or more), not '\(text)'") }
            from = n
        }
        let log = try Environment.openLog(arguments)
        let source = arguments.value("source") ?? "urn:hubledger:" + ((log.path as NSString).lastPathComponent)
        let sensitive = arguments.has("include-sensitive")
        try AccessGate.authorize(.administer, command: spec.name, about: [.wholeStore], log: log)
        var next = from
        var failed = false
        var values = sensitive ? try log.sealedValues() : .none
        func emit(_ event: RecordedEvent) -> Bool {
            guard Console.out(CloudEvents.encode(event, source: source, values: sensitive ? values : nil).jsonText) else { failed = true; return false }
            next = event.position + 1
            return true
        }
        func emitNew() throws {
            try log.forEach(from: next, emit)
            if failed { throw CLIError.failure("stdout closed after position \(next - 1)") }
        }
        try emitNew()
        guard arguments.has("follow") else { return }
        try StopSignal.poll(every: 0.2) {
            if sensitive { values = try log.sealedValues() }
            try emitNew()
        }
    }
}
