import EventStore
import HubDomain
import Projections

enum ReviewCommand: Command {
    static let spec = CommandSpec(
        name: "review", summary: "the safeguarding review: active flags, open concerns, unescalated high concerns, consent flags, repeated concerns",
        usage: "review [--as-of T] [--now T] [--json]",
        options: [ReadSupport.asOfOption, ReadSupport.nowOption, ReadSupport.jsonOption],
        details: """
        With --now T, the review as it stood at T: ages and the 24-hour escalation rule count to T, and what happened after T
        is left out (a concern raised, escalated or closed, a flag raised or removed, an attendance or survey). Corrections
        hold whenever recorded. --as-of T shows the log as it stood: what was recorded by T.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let (folded, log, authorization) = try ReadSupport.fold(ReviewProjection.self, arguments, permission: .readReview, command: spec.name)
        let now = try ReadSupport.now(arguments)
        var review = try folded.model.review(now: now, reading: ProjectionRunner(log: log).streamReader)
        if let inScope = authorization.participantFilter(for: .readReview, log: log, listing: "participants") {
            review = review.limited(to: inScope)
        }
        if arguments.has("json") {
            guard case .object(var o) = review.json(head: folded.head) else { return }
            o["now"] = .string(now.rfc3339)
            Console.out(JSONValue.object(o).jsonText)
            return
        }
        printFlags(review.activeFlags)
        Console.out("Safeguarding review at \(now.rfc3339) (log head \(folded.head?.description ?? "empty"))\n")
        Console.out("Open concerns: \(review.openConcerns.count)")
        for c in review.openConcerns {
            Console.out("  \(c.concern)  \(c.participant)  \(c.severity.rawValue.uppercased())  \(c.category.rawValue)  raised \(c.raisedAt.dayString), \(c.ageDays) \(c.ageDays == 1 ? "day" : "days")  \(c.escalated ? "escalated" : "NOT ESCALATED")")
        }
        Console.out("\nHigh or critical concerns open over 24 hours without escalation: \(review.unescalatedHighConcerns.count)")
        for c in review.unescalatedHighConcerns { Console.out("  \(c.concern)  \(c.participant)  \(c.severity.rawValue)  \(c.ageDays) \(c.ageDays == 1 ? "day" : "days")") }
        Console.out("\nAttendances flagged by the consent rules: \(review.flaggedAttendances.count)")
        for f in review.flaggedAttendances { Console.out("  \(f.participant)  session \(f.session)  \(f.rule.rawValue)  event \(f.event.lowercasedString)\(f.isRetracted ? " (since retracted)" : "")") }
        Console.out("\nSurveys flagged by the consent rules: \(review.flaggedSurveys.count)")
        for f in review.flaggedSurveys { Console.out("  \(f.participant)  session \(f.session)  \(f.rule.rawValue)  event \(f.event.lowercasedString)\(f.isRetracted ? " (since retracted)" : "")") }
        Console.out("\nParticipants with more than one concern within 90 days: \(review.repeatedConcerns.count)")
        for r in review.repeatedConcerns { Console.out("  \(r.participant): \(r.concerns.joined(separator: ", "))") }
    }

    /// Active flags, one line per participant, first: they change how everyone works with that person.
    static func printFlags(_ rows: [SafeguardingReview.FlagRow]) {
        let people = Dictionary(grouping: rows, by: \.participant)
        let overdue = rows.filter(\.reviewOverdue).count
        Console.out("Active flags: \(rows.count) on \(people.count) participant(s)" + (overdue > 0 ? ", \(overdue) OVERDUE for review" : ""))
        for p in people.keys.sorted() {
            let names = (people[p] ?? []).map { f in
                f.flag + (f.reviewBy.map { " (review by \($0.text)\(f.reviewOverdue ? ", OVERDUE" : ""))" } ?? "")
            }
            Console.out("  \(p): \(names.joined(separator: ", "))")
        }
        Console.out("")
    }
}
