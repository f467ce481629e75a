import EventStore
import HubDomain
import Projections

enum ReviewCommand: Command {
    static let spec = CommandSpec(
        name: "review", summary: "the safeguarding review: open concerns, unescalated high concerns, consent flags, repeated concerns",
        usage: "review [--as-of T] [--now T] [--json]",
        options: [ReadSupport.asOfOption, ReadSupport.nowOption, ReadSupport.jsonOption])

    static func run(_ arguments: ParsedArguments) throws {
        let (folded, _, _) = try ReadSupport.fold(ReviewProjection.self, arguments, permission: .readReview, command: spec.name)
        let review = folded.model.review(now: try ReadSupport.now(arguments))
        if arguments.has("json") { Console.out(review.json(head: folded.head).jsonText); return }
        Console.out("Safeguarding review (log head \(folded.head?.description ?? "empty"))\n")
        Console.out("Open concerns: \(review.openConcerns.count)")
        for c in review.openConcerns {
            Console.out("  \(c.concern)  \(c.participant)  \(c.severity.rawValue.uppercased())  \(c.category.rawValue)  raised \(c.raisedAt.dayString), \(c.ageDays) days  \(c.escalated ? "escalated" : "NOT ESCALATED")")
        }
        Console.out("\nHigh or critical concerns open over 24 hours without escalation: \(review.unescalatedHighConcerns.count)")
        for c in review.unescalatedHighConcerns { Console.out("  \(c.concern)  \(c.participant)  \(c.severity.rawValue)  \(c.ageDays) days") }
        Console.out("\nAttendances flagged by the consent rules: \(review.flaggedAttendances.count)")
        for f in review.flaggedAttendances { Console.out("  \(f.participant)  session \(f.session)  \(f.rule.rawValue)  event \(f.event.uuidString.lowercased())\(f.isRetracted ? " (since retracted)" : "")") }
        Console.out("\nSurveys flagged by the consent rules: \(review.flaggedSurveys.count)")
        for f in review.flaggedSurveys { Console.out("  \(f.participant)  session \(f.session)  \(f.rule.rawValue)  event \(f.event.uuidString.lowercased())\(f.isRetracted ? " (since retracted)" : "")") }
        Console.out("\nParticipants with more than one concern within 90 days: \(review.repeatedConcerns.count)")
        for r in review.repeatedConcerns { Console.out("  \(r.participant): \(r.concerns.joined(separator: ", "))") }
    }
}
