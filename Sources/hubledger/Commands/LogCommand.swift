import EventStore
import Foundation

enum LogCommand: Command {
    static let spec = CommandSpec(
        name: "log", summary: "print events from the log", usage: "log [--from N] [--stream S] [--follow] [--json]",
        options: [
            .init(name: "from", valueName: "N", help: "start at position N (default 0)"),
            .init(name: "stream", valueName: "S", help: "only this stream's events"),
            .init(name: "follow", valueName: nil, help: "keep printing new events as they are appended, until SIGTERM or Ctrl-C (exit 0)"),
            .init(name: "json", valueName: nil, help: "one JSON object per line, every field plus hash and previousHash"),
        ])

    static func run(_ arguments: ParsedArguments) throws {
        var from: LogPosition = 0
        if let text = arguments.value("from") {
            guard let n = LogPosition(text), n >= 0 else { throw CLIError.usage("--from must be a position (0 or more), not '\(text)'") }
            from = n
        }
        let stream = arguments.value("stream").map { StreamID($0) }
        let json = arguments.has("json")
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, about: [.wholeStore], log: log)
        func show(_ event: RecordedEvent) {
            if let stream, event.stream != stream { return }
            if json { Console.out(event.json.jsonText) } else {
                Console.out("\(event.position)\t\(event.occurredAt.rfc3339)\t\(event.stream)#\(event.streamVersion)\t\(event.type)\t\(event.actor)\t\(JSONValue.object(event.data).jsonText)")
            }
        }
        var next = from
        if let stream, !arguments.has("follow") {
            for event in try log.events(in: stream) where event.position >= from { show(event) }
            return
        }
        func showNew() throws { try log.forEach(from: next) { event in show(event); next = event.position + 1; return true } }
        try showNew()
        guard arguments.has("follow") else { return }
        try StopSignal.poll(every: 0.2, showNew)
    }
}
