import EventStore
import Foundation

/// The shared frame of HubLedger's HTML reports: one self-contained file (inline CSS and
/// SVG, no scripts, nothing fetched), readable on screen and printed on A4.
enum HTMLPage {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func page(title: String, body: String, footer: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en-GB">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        @page { size: A4; margin: 14mm 12mm; }
        :root { --ink: #1d2430; --muted: #5b6573; --line: #d6dbe3; --accent: #2f5d8a; }
        * { box-sizing: border-box; }
        body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
               color: var(--ink); max-width: 190mm; margin: 0 auto; padding: 12px; }
        h1 { font-size: 18pt; margin: 0 0 2px; } h2 { font-size: 13pt; margin: 22px 0 6px; border-bottom: 2px solid var(--accent); padding-bottom: 2px; }
        .sub { color: var(--muted); margin: 0 0 14px; }
        table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
        th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
        th { background: #f1f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .month { break-after: avoid; }
        .timeline { border-left: 3px solid var(--line); margin-left: 6px; padding-left: 14px; }
        .entry { position: relative; margin: 0 0 9px; padding: 5px 8px; border-radius: 4px; background: #f8f9fb; break-inside: avoid; }
        .entry::before { content: ""; position: absolute; left: -21px; top: 10px; width: 9px; height: 9px; border-radius: 50%; background: var(--accent); }
        .when { color: var(--muted); font-size: 9pt; }
        .what { font-weight: 600; }
        .detail { font-size: 9.5pt; color: #2c3644; }
        .late { display: inline-block; font-size: 8pt; font-weight: 700; color: #7a4b00; background: #ffe8b3; border-radius: 3px; padding: 0 4px; margin-left: 6px; }
        .retracted .what, .retracted .detail { text-decoration: line-through; color: var(--muted); }
        .why { font-size: 9pt; color: #8a1f11; }
        .concern-low { background: #eef6ee; } .concern-medium { background: #fff6dc; }
        .concern-high { background: #ffe3d6; border-left: 4px solid #d9541e; } .concern-critical { background: #ffd6d6; border-left: 4px solid #b00020; }
        .flags { border: 2px solid #b00020; border-radius: 4px; background: #fff3f3; padding: 4px 12px 8px; margin: 10px 0 16px; break-inside: avoid; }
        .flags.none { border-color: var(--line); background: #f8f9fb; }
        .flags h2 { border: none; margin: 4px 0; color: #8a1f11; } .flags.none h2 { color: var(--muted); }
        .flags ul { margin: 0; padding-left: 18px; } .flag { font-weight: 700; }
        .overdue { font-size: 8pt; font-weight: 700; color: #fff; background: #b00020; border-radius: 3px; padding: 0 4px; }
        .flag-entry { border-left: 4px solid #b00020; }
        .supported { color: #1d6b2c; font-weight: 700; } .unsupported { color: #b00020; font-weight: 700; }
        .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
        figure { margin: 0; break-inside: avoid; } figcaption { font-size: 9.5pt; color: var(--muted); }
        svg text { font: 8pt system-ui, sans-serif; fill: #2c3644; }
        footer { margin-top: 24px; padding-top: 6px; border-top: 1px solid var(--line); font-size: 8.5pt; color: var(--muted); word-break: break-all; }
        @media print { body { padding: 0; } .entry { background: none; border: 1px solid var(--line); } }
        </style>
        </head>
        <body>
        \(body)
        <footer>\(footer)</footer>
        </body>
        </html>

        """
    }

    /// A bar chart as inline SVG: `series` values per label, stacked when there is more than one series.
    static func barChart(labels: [String], series: [(name: String, colour: String, values: [Double])], width: Int = 350, height: Int = 190,
                         maximum: Double? = nil, format: (Double) -> String = { String(Int($0)) }) -> String {
        let left = 34.0, bottom = 36.0, top = 14.0
        let plotWidth = Double(width) - left - 8, plotHeight = Double(height) - bottom - top
        let totals = labels.indices.map { i in series.reduce(0) { $0 + ($1.values.indices.contains(i) ? $1.values[i] : 0) } }
        let top1 = max(maximum ?? (totals.max() ?? 0), 1)
        let slot = plotWidth / Double(max(labels.count, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(Double(width) - 8)\" y2=\"\(top + plotHeight)\" stroke=\"#9aa4b2\"/>"
        svg += "<text x=\"2\" y=\"\(top + 4)\">\(escape(format(top1)))</text><text x=\"2\" y=\"\(top + plotHeight)\">0</text>"
        for (i, label) in labels.enumerated() {
            var y = top + plotHeight
            for s in series {
                let v = s.values.indices.contains(i) ? s.values[i] : 0
                let h = plotHeight * v / top1
                y -= h
                svg += "<rect x=\(q(left + Double(i) * slot + slot * 0.15)) y=\(q(y)) width=\(q(slot * 0.7)) height=\(q(h)) fill=\"\(s.colour)\"><title>\(escape(label)) \(escape(s.name)): \(escape(format(v)))</title></rect>"
            }
            if labels.count <= 14 || i % 2 == 0 {
                svg += "<text x=\(q(left + Double(i) * slot + slot / 2)) y=\(q(top + plotHeight + 12)) text-anchor=\"middle\">\(escape(label))</text>"
            }
        }
        if series.count > 1 {
            for (k, s) in series.enumerated() {
                let x = left + Double(k) * 95
                svg += "<rect x=\(q(x)) y=\(q(Double(height) - 12)) width=\"9\" height=\"9\" fill=\"\(s.colour)\"/><text x=\(q(x + 12)) y=\(q(Double(height) - 4))>\(escape(s.name))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// A line chart as inline SVG (values between 0 and `maximum`).
    static func lineChart(labels: [String], values: [Double?], maximum: Double = 1, width: Int = 340, height: Int = 190,
                          format: (Double) -> String) -> String {
        let left = 34.0, bottom = 24.0, top = 14.0
        let plotWidth = Double(width) - left - 10, plotHeight = Double(height) - bottom - top
        let step = plotWidth / Double(max(labels.count - 1, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(Double(width) - 10)\" y2=\"\(top + plotHeight)\" stroke=\"#9aa4b2\"/>"
        svg += "<text x=\"2\" y=\"\(top + 4)\">\(escape(format(maximum)))</text><text x=\"2\" y=\"\(top + plotHeight)\">\(escape(format(0)))</text>"
        var points: [String] = []
        for (i, label) in labels.enumerated() {
            let x = left + Double(i) * step
            svg += "<text x=\(q(x)) y=\(q(top + plotHeight + 13)) text-anchor=\"middle\">\(escape(label))</text>"
            guard let v = values[i] else { continue }
            let y = top + plotHeight * (1 - min(v, maximum) / maximum)
            points.append("\(q(x).replacingOccurrences(of: "\"", with: "")),\(q(y).replacingOccurrences(of: "\"", with: ""))")
            svg += "<circle cx=\(q(x)) cy=\(q(y)) r=\"3\" fill=\"#2f5d8a\"><title>\(escape(label)): \(escape(format(v)))</title></circle>"
        }
        if points.count > 1 { svg += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#2f5d8a\" stroke-width=\"2\"/>" }
        return svg + "</svg>"
    }

    /// A number as a quoted SVG attribute value.
    static func q(_ v: Double) -> String { "\"" + String(format: "%.1f", v) + "\"" }
}
