import EventStore
import Foundation
import HubDomain
import Projections

enum HistoryCommand: Command {
    static let spec = CommandSpec(
        name: "history", summary: "one participant's chronology, from every stream, in the order things happened",
        usage: "history PARTICIPANT --purpose TEXT [--as-of T] [--json] [--html FILE]  |  history PARTICIPANT --views [--json]",
        options: [.init(name: "purpose", valueName: "TEXT", help: "why you are looking (required; recorded with your name before anything is shown)"),
                  ReadSupport.asOfOption, ReadSupport.jsonOption,
                  .init(name: "html", valueName: "FILE", help: "also write the chronology as one self-contained HTML page (printable on A4)"),
                  .init(name: "views", valueName: nil, help: "list who viewed this participant's record, when and why, instead")],
        positionals: 1...1,
        details: """
        Needs the safeguarding-lead (or admin) role. Every run appends RecordViewed {participant, viewer,
        purpose} to the stream views-PARTICIPANT before it prints, so the record of who looked is complete.
        Active flags come first (flag, raised, by whom, review date, note), OVERDUE when the review date has passed.
        Retracted entries are shown struck out with the reason; entries recorded more than a day after they
        happened are marked LATE; sensitive text erased by `hubledger erase` shows as [erased].
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let participant = arguments.positionals[0]
        if arguments.has("views") {
            // The list is every view as the log stands now, as text or --json; it records no view of its own.
            let unhonoured = ["purpose", "as-of", "html"].filter { arguments.value($0) != nil }
            guard unhonoured.isEmpty else {
                throw CLIError.usage("--views lists every view as the log stands now and takes only --json, not \(unhonoured.map { "--" + $0 }.joined(separator: " or "))")
            }
            return try listViews(of: participant, arguments)
        }
        guard let purpose = arguments.value("purpose")?.trimmingCharacters(in: .whitespacesAndNewlines), !purpose.isEmpty else {
            throw CLIError.usage("--purpose TEXT is required: every view of a record is recorded with its reason (e.g. --purpose \"planning a strategy meeting\")")
        }
        let (folded, log, authorization) = try ReadSupport.fold(ChronologyProjection.self, arguments, permission: .readHistory,
                                                                command: spec.name, about: [.participant(participant)])
        let viewer = authorization.actor
        guard folded.model.knows(participant) else {
            throw CLIError.failure("unknown participant \(participant): nothing in the log concerns them\(arguments.value("as-of") != nil ? " as of \(arguments.value("as-of") ?? "")" : "")")
        }
        let entries = try folded.model.chronology(of: participant) { try SensitiveText.revealed(log.events(inStreamsEndingAt: $0), from: log) }
        let flags = FlagSummary.active(in: entries)
        let now = try ReadSupport.now(arguments)
        if let path = arguments.value("html") { try ReportFile.prepare(path) }
        // The view is on the record before anything is shown; if it cannot be recorded, nothing is shown.
        // The purpose is free text about the person: sealed like every other, so `erase` can remove it too.
        try log.append([AccessRecords.viewEvent(participant: participant, viewer: viewer, purpose: purpose, asOf: arguments.value("as-of"))],
                       to: AccessRecords.viewsStream(of: participant))

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
        Console.out("Chronology of \(participant) — \(entries.count) \(entries.count == 1 ? "entry" : "entries") (log head \(folded.head?.description ?? "empty"))")
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

    /// `--views`: who viewed the record, when and why, oldest first.
    static func listViews(of participant: String, _ arguments: ParsedArguments) throws {
        let (folded, log, _) = try ReadSupport.fold(ChronologyProjection.self, arguments, permission: .readViews,
                                                    command: spec.name, about: [.participant(participant)])
        let views = try SensitiveText.revealed(log.events(in: AccessRecords.viewsStream(of: participant)).filter { $0.type == AccessRecords.viewed },
                                               from: log)
        guard folded.model.knows(participant) || !views.isEmpty else {
            throw CLIError.failure("unknown participant \(participant): nothing in the log concerns them")
        }
        func field(_ e: RecordedEvent, _ key: String) -> String { e.data[key]?.stringValue ?? "" }
        if arguments.has("json") {
            let items: [JSONValue] = views.map { e in
                var o: JSONObject = ["position": .int(e.position), "viewer": .string(field(e, "viewer")),
                                     "purpose": .string(field(e, "purpose")), "viewedAt": .string(e.recordedAt.rfc3339)]
                if let asOf = e.data["asOf"] { o["asOf"] = asOf }
                return .object(o)
            }
            Console.out(JSONValue.object(["participant": .string(participant), "head": HeadJSON.value(try log.head()),
                                          "views": .array(items)]).jsonText)
            return
        }
        Console.out("Views of the record of \(participant) — \(views.count)")
        for e in views {
            Console.out("\(e.recordedAt.rfc3339)  \(field(e, "viewer"))  purpose: \(field(e, "purpose"))\(e.data["asOf"].map { "  (as of \($0.stringValue ?? ""))" } ?? "")")
        }
    }
}
