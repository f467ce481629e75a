import EventStore
import Foundation
import HubDomain
import Projections

/// The outcome audit as a funder reads it: every figure with its working, charts, and the claims.
enum AuditReport {
    struct ClaimRow { var claim: Claim; var computed: Double?; var supported: Bool }

    /// "2025-01-01 to 2025-03-31": the sessions a period covers, as a reader says it.
    static func periodText(_ period: AuditPeriod) -> String {
        "\(period.from.map { bound($0) } ?? "the first session") to \(period.to.map { bound($0, endOfDay: true) } ?? "the last")"
    }

    /// The options that give the period back (` --from D --to D`, or nothing), so a printed command reproduces
    /// the figures beside it: a bare date where the bound is a whole day, as `--from` and `--to` read one.
    static func periodArguments(_ period: AuditPeriod) -> String {
        (period.from.map { " --from \(bound($0))" } ?? "") + (period.to.map { " --to \(bound($0, endOfDay: true))" } ?? "")
    }

    /// A day where the time is that day's start (or, for an end, its last microsecond), else the exact time.
    private static func bound(_ t: Timestamp, endOfDay: Bool = false) -> String {
        let day: Int64 = 86_400_000_000
        return (t.microseconds + (endOfDay ? 1 : 0)) % day == 0 ? t.dayString : t.rfc3339
    }

    static func html(tally: AuditTally, figures: [AuditFigure], claims: [ClaimRow],
                     head: LogHead?, verified: VerificationReport?, asOf: String?, generated: Timestamp) -> String {
        let period = tally.period, filter = tally.filter
        var body = "<h1>Outcome audit</h1>"
        let range = periodText(period)
        body += "<p class=\"sub\">Sessions from \(HTMLPage.escape(range))\(asOf.map { ", as the log stood at \(HTMLPage.escape($0))" } ?? ""). Retracted events never count; no participant is named.</p>"
        if !filter.isEverything {
            body += "<p class=\"sub\">Covering \(HTMLPage.escape(filter.summary)) only: an item counts if it matches any of them. Sessions, attendances,"
                + " surveys and their rates go by where the session was held; referrals, signposts and concerns by where the participant"
                + " belonged when the event was recorded.</p>"
        }
        body += "<h2>Figures</h2><table><tr><th>figure</th><th>value</th><th>numerator</th><th>denominator</th><th>definition</th></tr>"
        for f in figures {
            body += "<tr><td>\(HTMLPage.escape(f.name))</td><td class=\"num\">\(HTMLPage.escape(format(f.value)))</td>"
            body += "<td class=\"num\">\(f.numerator.map(String.init) ?? "")</td><td class=\"num\">\(f.denominator.map(String.init) ?? (f.count.map { "n = \($0)" } ?? ""))</td>"
            var definition = HTMLPage.escape(f.definition)
            for (key, table) in f.breakdowns where !table.isEmpty {
                definition += "<br><small>\(HTMLPage.escape(key)): " + table.sorted { $0.key < $1.key }.map { HTMLPage.escape("\($0.key) \($0.value)") }.joined(separator: ", ") + "</small>"
            }
            body += "<td>\(definition)</td></tr>"
        }
        body += "</table>"

        body += "<h2>Charts</h2><div class=\"charts\">"
        let months = tally.sessionsByMonth()
        let colours: [Region: String] = [.surrey: "#2f5d8a", .london: "#d9541e", .greaterManchester: "#4d9a5b"]
        let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let spansYears = Set(months.map { $0.month.prefix(4) }).count > 1
        let labels = months.map { m -> String in
            let name = Int(m.month.suffix(2)).flatMap { (1...12).contains($0) ? monthNames[$0 - 1] : nil } ?? m.month
            return spansYears && m.month.hasSuffix("-01") ? name + " " + String(m.month.prefix(4).suffix(2)) : name
        }
        body += "<figure>" + HTMLPage.barChart(labels: labels,
                                               series: Region.allCases.map { r in (r.rawValue, colours[r] ?? "#888", months.map { Double($0.byRegion[r] ?? 0) }) })
            + "<figcaption>Sessions per month, by region</figcaption></figure>"
        let generations = figures.first { $0.name == "participants" }?.breakdowns.first?.1 ?? [:]
        body += "<figure>" + HTMLPage.barChart(labels: Generation.allCases.map { $0.rawValue },
                                               series: [("participants", "#2f5d8a", Generation.allCases.map { Double(generations[$0.rawValue] ?? 0) })])
            + "<figcaption>Participants by generation</figcaption></figure>"
        let curve = tally.weeklyReturnCurve()
        body += "<figure>" + HTMLPage.lineChart(labels: curve.map { "\($0.week - 1)→\($0.week)" },
                                                values: curve.map { $0.before == 0 ? nil : Double($0.returned) / Double($0.before) },
                                                format: { String(format: "%.0f%%", $0 * 100) })
            + "<figcaption>Weekly return: share of week w−1's attendees who came back in week w</figcaption></figure>"
        func rate(_ name: String) -> (Double, Double) {
            let f = figures.first { $0.name == name }
            return (Double(f?.numerator ?? 0), Double((f?.denominator ?? 0) - (f?.numerator ?? 0)))
        }
        let happier = rate("happierRate"), connected = rate("connectedRate")
        body += "<figure>" + HTMLPage.barChart(labels: ["happier", "more connected"],
                                               series: [("yes", "#4d9a5b", [happier.0, connected.0]), ("no", "#c9cfd8", [happier.1, connected.1])])
            + "<figcaption>Exit survey answers</figcaption></figure></div>"

        if !claims.isEmpty {
            body += "<h2>Claims</h2><table><tr><th>claim</th><th>computed</th><th>verdict</th></tr>"
            for row in claims {
                body += "<tr><td>\(HTMLPage.escape(row.claim.text))</td>"
                body += "<td class=\"num\">\(row.computed.map(Claim.number) ?? "no value")</td>"
                body += row.supported ? "<td class=\"supported\">SUPPORTED</td></tr>" : "<td class=\"unsupported\">NOT SUPPORTED</td></tr>"
            }
            body += "</table>"
        }
        var footer = "Computed from the log head \(HTMLPage.escape(head?.description ?? "(empty)")) on \(HTMLPage.escape(generated.rfc3339)). "
        if let v = verified {
            footer += v.isOK ? "verify: ok, \(v.events) events, head \(HTMLPage.escape(v.head?.description ?? ""))."
                : "verify: FAILED at position \(v.error?.position ?? -1): \(HTMLPage.escape(v.error?.reason ?? ""))."
        }
        let options = periodArguments(period) + PlaceOptions.arguments(for: filter)
        footer += " Reproduce with <code>hubledger audit --as-of \(head.map { String($0.position) } ?? "0")\(HTMLPage.escape(options))</code>; check with <code>hubledger verify --expect-head \(HTMLPage.escape(head?.description ?? ""))</code>."
        return HTMLPage.page(title: "Outcome audit", body: body, footer: footer)
    }

    static func format(_ value: JSONValue) -> String {
        switch value {
        case .double(let d): return String(format: "%.4f", d)
        case .null: return "— (no data)"
        default: return value.jsonText
        }
    }
}
