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
        details: """
        Active flags come first (flag, raised, by whom, review date, note), OVERDUE when the review date has passed.
        Retracted entries are shown struck out with the reason; entries recorded more than a day after they happened are marked LATE.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let participant = arguments.positionals[0]
        let (folded, log) = try ReadSupport.fold(ChronologyProjection.self, arguments)
        guard folded.model.knows(participant) else {
            throw CLIError.failure("unknown participant \(participant): nothing in the log concerns them\(arguments.value("as-of") != nil ? " as of \(arguments.value("as-of") ?? "")" : "")")
        }
        let entries = try folded.model.chronology(of: participant) { try log.events(inStreamsEndingAt: $0) }
        let flags = FlagSummary.active(in: entries)
        let now = try ReadSupport.now(arguments)
        if let path = arguments.value("html") {
            try ReportFile.write(ChronologyReport.html(participant: participant, flags: flags, entries: entries, head: folded.head,
                                                       generated: .now, now: now), to: path)
            Console.err("wrote the chronology of \(participant) to \(path)")
        }
        if arguments.has("json") {
            Console.out(JSONValue.object(["participant": .string(participant), "head": HeadJSON.value(folded.head),
                                          "flags": .array(flags.map(\.json)), "entries": .array(entries.map(\.json))]).jsonText)
            return
        }
        printFlags(flags, now: now)
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

    /// The ACTIVE FLAGS block that opens the text chronology, so nobody reads past a flag.
    static func printFlags(_ flags: [FlagSummary], now: Timestamp) {
        guard !flags.isEmpty else {
            Console.out("ACTIVE FLAGS: none\n")
            return
        }
        Console.out("ACTIVE FLAGS (\(flags.count))")
        for f in flags {
            var line = "  \(f.flag)  raised \(f.raisedAt.rfc3339) by \(f.raisedBy)"
            if let at = f.renewedAt { line += ", renewed \(at.rfc3339) by \(f.renewedBy ?? "?")" }
            if let review = f.reviewBy { line += ", review by \(review.text)\(f.isReviewOverdue(at: now) ? " OVERDUE" : "")" }
            Console.out(line)
            Console.out("    note: \(f.note ?? "(not available)")")
        }
        Console.out("")
    }
}
