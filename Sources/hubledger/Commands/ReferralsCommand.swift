import EventStore
import HubDomain
import Projections

enum ReferralsCommand: Command {
    static let spec = CommandSpec(
        name: "referrals", summary: "the referral pipeline: each referral's status, days waiting, and the KPIs",
        usage: "referrals [--status S] [--now T] [--as-of T] [--json]",
        options: [
            .init(name: "status", valueName: "S", help: "only awaiting-first-attendance | attended | declined | closed"),
            ReadSupport.nowOption, ReadSupport.asOfOption, ReadSupport.jsonOption,
        ],
        details: """
        Steps: received → contacted → accepted → first attendance (or declined / closed). Acceptance is a step, not a
        status: an accepted referral stays awaiting-first-attendance until the person comes. Days per step count from receipt.
        First attendance = the earliest non-retracted attendance of the referred person at a session held on or after the referral.
        With --now T, each referral is shown as it stood at T: one received after T is left out, and a step or first attendance
        after T is not yet taken (corrections hold whenever recorded). --as-of T shows the log as it stood: what was recorded by T.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        var wanted: ReferralStatus.Status?
        if let text = arguments.value("status") {
            guard let s = ReferralStatus.Status(rawValue: text) else {
                throw CLIError.usage("--status must be one of \(ReferralStatus.Status.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
            wanted = s
        }
        let now = try ReadSupport.now(arguments)
        let (folded, log, authorization) = try ReadSupport.fold(ReferralProjection.self, arguments, permission: .readReferrals, command: spec.name)
        var all = try folded.model.pipeline(now: now, reading: ProjectionRunner(log: log).streamReader)
        // Need-to-know by hub: a scoped role sees, and counts in the KPIs, only its own hubs' referrals.
        if let inScope = authorization.participantFilter(for: .readReferrals, log: log, listing: "referrals of participants") {
            all = all.filter { inScope($0.participant) }
        }
        let shown = all.filter { wanted == nil || $0.status == wanted }
        var bySource: [String: Int] = [:], byStatus: [String: Int] = [:]
        for r in all { bySource[r.source.rawValue, default: 0] += 1; byStatus[r.status.rawValue, default: 0] += 1 }
        let toContact = median(all.compactMap(\.daysToFirstContact))
        let toAccept = median(all.compactMap(\.daysToAcceptance))
        let toAttend = median(all.compactMap(\.daysToFirstAttendance))
        if arguments.has("json") {
            func table(_ t: [String: Int]) -> JSONValue { .object(JSONObject(t.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int(Int64($0.value))) })) }
            Console.out(JSONValue.object([
                "head": HeadJSON.value(folded.head), "now": .string(now.rfc3339),
                "referrals": .array(shown.map(\.json)),
                "kpis": ["bySource": table(bySource), "byStatus": table(byStatus),
                         "medianDaysToFirstContact": toContact.map { .double($0) } ?? .null,
                         "medianDaysToAcceptance": toAccept.map { .double($0) } ?? .null,
                         "medianDaysToFirstAttendance": toAttend.map { .double($0) } ?? .null],
            ]).jsonText)
            return
        }
        Console.out("Referral pipeline at \(now.rfc3339) (log head \(folded.head?.description ?? "empty"))")
        for r in shown {
            var line = "  \(r.referral)  \(r.participant)  \(r.source.rawValue)\(r.urgent ? " URGENT" : "")  received \(r.receivedAt.dayString)  \(r.status.rawValue)"
            if let d = r.daysWaiting { line += ", waiting \(d) \(d == 1 ? "day" : "days")" }
            Console.out(line)
            var steps: [String] = []
            if let at = r.contactedAt { steps.append("contacted \(at.dayString) (day \(ReadSupport.days(r.daysToFirstContact)))") }
            if let at = r.acceptedAt { steps.append("accepted \(at.dayString) (day \(ReadSupport.days(r.daysToAcceptance)))") }
            if let at = r.firstAttendedAt { steps.append("first attended \(at.dayString) (day \(ReadSupport.days(r.daysToFirstAttendance)))") }
            if !steps.isEmpty { Console.out("      " + steps.joined(separator: " → ")) }
        }
        Console.out("\nBy status: " + byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        Console.out("By source: " + bySource.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        Console.out("Median days to first contact: \(ReadSupport.days(toContact)); to acceptance: \(ReadSupport.days(toAccept)); to first attendance: \(ReadSupport.days(toAttend))")
    }
}
