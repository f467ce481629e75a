import EventStore
import Foundation
import HubDomain
import Projections

enum AuditCommand: Command {
    static let spec = CommandSpec(
        name: "audit", summary: "recompute every published figure from the log, with its definition and working",
        usage: "audit [--from D] [--to D] [--hub H]… [--region R]… [--as-of T] [--claims FILE] [--json] [--html FILE]",
        options: [
            .init(name: "from", valueName: "D", help: "period start (session date), inclusive"),
            .init(name: "to", valueName: "D", help: "period end (session date), inclusive; a bare date includes the whole day"),
            PlaceOptions.hubOption,
            PlaceOptions.regionOption,
            ReadSupport.asOfOption,
            .init(name: "claims", valueName: "FILE", help: "check claims {\"claims\": [{\"metric\", \"op\", \"value\"}]} (op >= <= == > <; judged on the exact figure, so claim a rounded figure with >= or <=); exit 1 if any is not supported"),
            ReadSupport.jsonOption,
            .init(name: "html", valueName: "FILE", help: "also write the audit as one self-contained HTML page with charts (printable on A4)"),
        ],
        details: """
        Retracted events never count. The audit prints no participant id, name or free text.
        With --hub and --region (each repeatable) an item counts if it matches any hub or any region given:
        sessions, attendances, participants, surveys and the rates go by where the session was held;
        referrals, signposts and concerns by where the participant belonged when the event was recorded
        (their registration or last move before it in the log; a retracted move does not count).
        """)

    static func run(_ arguments: ParsedArguments) throws {
        func date(_ name: String, endOfDay: Bool) throws -> Timestamp? {
            guard let text = arguments.value(name) else { return nil }
            guard let t = endOfDay ? Timestamp(dateTimeOrEndOfDay: text) : Timestamp(rfc3339: text) else {
                throw CLIError.usage("--\(name) must be a date (YYYY-MM-DD) or RFC 3339 time, not '\(text)'")
            }
            return t
        }
        let period = AuditPeriod(from: try date("from", endOfDay: false), to: try date("to", endOfDay: true))
        if let from = period.from, let to = period.to, from > to {
            throw CLIError.usage("--from \(arguments.value("from") ?? "") is after --to \(arguments.value("to") ?? ""): the period would be empty")
        }
        let filter = try PlaceOptions.auditFilter(arguments)
        var claims: [Claim] = []
        if let path = arguments.value("claims") {
            guard let data = try InvokingUser.withOwnRights({ FileManager.default.contents(atPath: path) }) else {
                throw CLIError.failure("cannot read claims file \(path)")
            }
            do { claims = try Claim.parse([UInt8](data), file: path) } catch DomainError.rejected(let problems) {
                problems.forEach { Console.err($0.description) }
                throw CLIError.failure("the claims file has \(problems.count) problem(s)")
            }
        }
        let (folded, log, _) = try ReadSupport.fold(AuditProjection.self, arguments, permission: .readAudit, command: spec.name)
        let tally = try folded.model.tally(period: period, filter: filter, replaying: ProjectionRunner(log: log).replay(through: folded.head))
        let figures = tally.figures()
        let checked = claims.map { claim -> (Claim, Double?, Bool) in
            let computed = figures.first { $0.name == claim.metric }?.numericValue
            return (claim, computed, claim.isSupported(by: computed))
        }
        if let path = arguments.value("html") {
            let rows = checked.map { AuditReport.ClaimRow(claim: $0.0, computed: $0.1, supported: $0.2) }
            let html = AuditReport.html(tally: tally, figures: figures, claims: rows, head: folded.head,
                                        verified: try log.verify(), asOf: arguments.value("as-of"), generated: .now)
            try ReportFile.write(html, to: path)
            Console.err("wrote the audit to \(path)")
        }
        if arguments.has("json") {
            var o: JSONObject = ["head": HeadJSON.value(folded.head), "asOf": arguments.value("as-of").map { .string($0) } ?? .null,
                                 "period": ["from": period.from.map { .string($0.rfc3339) } ?? .null, "to": period.to.map { .string($0.rfc3339) } ?? .null]]
            if !filter.isEverything {
                o["filter"] = ["hubs": .array(filter.sortedHubs.map { .string($0) }), "regions": .array(filter.sortedRegions.map { .string($0) })]
            }
            o["metrics"] = .object(JSONObject(figures.map { (key: $0.name, value: $0.json) }))
            if !claims.isEmpty {
                o["claims"] = .array(checked.map { claim, computed, ok in
                    ["metric": .string(claim.metric), "op": .string(claim.op.rawValue), "value": .double(claim.value),
                     "computed": computed.map { .double($0) } ?? .null, "supported": .bool(ok)]
                })
            }
            Console.out(JSONValue.object(o).jsonText)
        } else {
            Console.out("Outcome audit (log head \(folded.head?.description ?? "empty")\(arguments.value("as-of").map { ", as of \($0)" } ?? ""))")
            if period.from != nil || period.to != nil { Console.out("  Sessions from \(AuditReport.periodText(period))") }
            if !filter.isEverything {
                Console.out("  Covering \(filter.summary): an item counts if it matches any of them (sessions where held; referrals,")
                Console.out("  signposts and concerns where the participant belonged when recorded)")
            }
            for f in figures {
                var line = "  \(f.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(format(f.value))"
                if let n = f.numerator, let d = f.denominator { line += "  (\(n) / \(d))" }
                Console.out(line)
                for (key, table) in f.breakdowns where !table.isEmpty {
                    Console.out("      \(key): " + table.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                }
                Console.out("      = \(f.definition)")
            }
            if !checked.isEmpty { Console.out("\nClaims:") }
            for (claim, computed, ok) in checked {
                Console.out("  \(claim.text): computed \(computed.map(Claim.number) ?? "no value")  \(ok ? "SUPPORTED" : "NOT SUPPORTED")")
            }
        }
        if checked.contains(where: { !$0.2 }) { throw CLIError.silentFailure }
    }

    static func format(_ value: JSONValue) -> String {
        switch value {
        case .double(let d): return String(format: "%.4f", d)
        case .null: return "— (no data)"
        default: return value.jsonText
        }
    }
}
