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
        details: "First attendance = the earliest non-retracted attendance of the referred person at a session held on or after the referral.")

    static func run(_ arguments: ParsedArguments) throws {
        var wanted: ReferralStatus.Status?
        if let text = arguments.value("status") {
            guard let s = ReferralStatus.Status(rawValue: text) else {
                throw CLIError.usage("--status must be one of \(ReferralStatus.Status.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
            wanted = s
        }
        let now = try ReadSupport.now(arguments)
        let (folded, _, _) = try ReadSupport.fold(ReferralProjection.self, arguments, permission: .readReferrals, command: spec.name)
        let all = folded.model.pipeline(now: now)
        let shown = all.filter { wanted == nil || $0.status == wanted }
        var bySource: [String: Int] = [:], byStatus: [String: Int] = [:]
        for r in all { bySource[r.source.rawValue, default: 0] += 1; byStatus[r.status.rawValue, default: 0] += 1 }
        let toContact = median(all.compactMap(\.daysToFirstContact))
        let toAttend = median(all.compactMap(\.daysToFirstAttendance))
        if arguments.has("json") {
            func table(_ t: [String: Int]) -> JSONValue { .object(JSONObject(t.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int(Int64($0.value))) })) }
            Console.out(JSONValue.object([
                "head": HeadJSON.value(folded.head), "now": .string(now.rfc3339),
                "referrals": .array(shown.map(\.json)),
                "kpis": ["bySource": table(bySource), "byStatus": table(byStatus),
                         "medianDaysToFirstContact": toContact.map { .double($0) } ?? .null,
                         "medianDaysToFirstAttendance": toAttend.map { .double($0) } ?? .null],
            ]).jsonText)
            return
        }
        Console.out("Referral pipeline as of \(now.rfc3339) (log head \(folded.head?.description ?? "empty"))")
        for r in shown {
            var line = "  \(r.referral)  \(r.participant)  \(r.source.rawValue)\(r.urgent ? " URGENT" : "")  received \(r.receivedAt.dayString)  \(r.status.rawValue)"
            if let d = r.daysWaiting { line += ", waiting \(d) days" }
            if let f = r.firstAttendedAt { line += ", first attended \(f.dayString)" }
            Console.out(line)
        }
        Console.out("\nBy status: " + byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        Console.out("By source: " + bySource.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        Console.out("Median days to first contact: \(ReadSupport.days(toContact)); to first attendance: \(ReadSupport.days(toAttend))")
    }
}
