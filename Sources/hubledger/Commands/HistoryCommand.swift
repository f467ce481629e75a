import EventStore
import Foundation
import HubDomain
import Projections

enum HistoryCommand: Command {
    static let spec = CommandSpec(
        name: "history", summary: "one participant's chronology, from every stream, in the order things happened",
        usage: "history PARTICIPANT [--as-of T] [--json]",
        options: [ReadSupport.asOfOption, ReadSupport.jsonOption,
                  .init(name: "html", valueName: "FILE", help: "also write the chronology as one self-contained HTML page (printable on A4)")],
        positionals: 1...1,
        details: "Retracted entries are shown struck out with the reason; entries recorded more than a day after they happened are marked LATE.")

    static func run(_ arguments: ParsedArguments) throws {
        let participant = arguments.positionals[0]
        let (folded, log) = try ReadSupport.fold(ChronologyProjection.self, arguments)
        guard folded.model.knows(participant) else {
            throw CLIError.failure("unknown participant \(participant): nothing in the log concerns them\(arguments.value("as-of") != nil ? " as of \(arguments.value("as-of") ?? "")" : "")")
        }
        let entries = try folded.model.chronology(of: participant) { try log.events(inStreamsEndingAt: $0) }
        if let path = arguments.value("html") {
            try ReportFile.write(ChronologyReport.html(participant: participant, entries: entries, head: folded.head, generated: .now), to: path)
            Console.err("wrote the chronology of \(participant) to \(path)")
        }
        if arguments.has("json") {
            Console.out(JSONValue.object(["participant": .string(participant), "head": HeadJSON.value(folded.head),
                                          "entries": .array(entries.map(\.json))]).jsonText)
            return
        }
        Console.out("Chronology of \(participant) — \(entries.count) entries (log head \(folded.head?.description ?? "empty"))")
        for entry in entries {
            let e = entry.event
            var line = "\(e.occurredAt.rfc3339)  \(e.type)"
            line += "  " + JSONValue.object(e.data).jsonText
            line += "  [by \(e.actor)"
            if entry.isRecordedLate { line += "; LATE: recorded \(e.recordedAt.rfc3339)" }
            line += "; #\(e.position)]"
            if let r = entry.retraction {
                line = "~~ " + line + " ~~  RETRACTED \(r.recordedAt.rfc3339) by \(r.actor): \(r.reason)"
            }
            Console.out(line)
        }
    }
}
