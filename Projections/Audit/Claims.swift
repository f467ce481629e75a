import EventStore
import HubDomain

/// A published claim checked against a computed figure: `{"metric", "op", "value"}`.
public struct Claim: Sendable {
    public enum Operator: String, Sendable, CaseIterable { case atLeast = ">=", atMost = "<=", equal = "==", above = ">", below = "<" }

    public var metric: String
    public var op: Operator
    public var value: Double

    public init(metric: String, op: Operator, value: Double) { self.metric = metric; self.op = op; self.value = value }

    /// Reads a claims file; every problem names the claim, its line and field, all of them at once — a
    /// claim about a figure the audit does not compute (`AuditTally.figureNames`) among them: a typo in the
    /// file is a mistake to fix, not a claim found false.
    public static func parse(_ bytes: [UInt8], file: String) throws -> [Claim] {
        // A byte-order mark (an editor's "UTF-8 with BOM") is skipped, as in imports and registers.
        let bytes = Array(ImportFile.withoutByteOrderMark(bytes))
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch let failure as JSONParser.Failure {
            let line = 1 + bytes.prefix(failure.offset).count { $0 == UInt8(ascii: "\n") }
            throw DomainError.rejected([InputProblem(file: file, line: line, field: nil, reason: failure.description)])
        }
        guard case .array(let items)? = root.objectValue?["claims"] else {
            throw DomainError.rejected([InputProblem(file: file, line: 1, field: "claims", reason: "expected {\"claims\": [{\"metric\", \"op\", \"value\"}, …]}")])
        }
        var claims: [Claim] = [], problems: [InputProblem] = []
        let lines = ClaimLines.lines(ofElementsOf: "claims", in: bytes)
        let metrics = AuditTally.figureNames
        for (i, item) in items.enumerated() {
            func problem(_ field: String, _ reason: String) {
                problems.append(InputProblem(file: file, line: i < lines.count ? lines[i] : 1, field: "claims[\(i)]" + (field.isEmpty ? "" : ".\(field)"), reason: reason))
            }
            guard let o = item.objectValue else { problem("", "each claim must be an object"); continue }
            // Every problem of the claim at once, as an import tells every problem of a line.
            for key in o.keys where !["metric", "op", "value"].contains(key) { problem(key, "unknown field (a claim has metric, op and value)") }
            let metric = o["metric"]?.stringValue
            if metric == nil { problem("metric", "missing or not a string") }
            else if let metric, !metrics.contains(metric) { problem("metric", "unknown metric '\(metric)' (metrics: \(metrics.joined(separator: ", ")))") }
            let op = o["op"]?.stringValue.flatMap(Operator.init(rawValue:))
            if op == nil { problem("op", "must be one of \(Operator.allCases.map(\.rawValue).joined(separator: " "))") }
            let value = o["value"]?.doubleValue
            if value == nil { problem("value", "missing or not a number") }
            if let metric, let op, let value, metrics.contains(metric) { claims.append(Claim(metric: metric, op: op, value: value)) }
        }
        if !problems.isEmpty { throw DomainError.rejected(problems) }
        return claims
    }

    /// The claim as written (`happierRate >= 0.9`, `sessions == 240`), for reports.
    public var text: String { "\(metric) \(op.rawValue) \(Claim.number(value))" }

    /// A value in full, as a claim is judged on it: a whole number without decimals, any other in its
    /// shortest exact form (0.9133058113686885, not 0.9133: a claim `== 0.9133` is judged on the former).
    public static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Whether the computed value supports the claim (an absent value supports nothing).
    public func isSupported(by computed: Double?) -> Bool {
        guard let c = computed else { return false }
        switch op {
        case .atLeast: return c >= value
        case .atMost: return c <= value
        case .equal: return abs(c - value) <= 1e-9 * max(1, abs(value))
        case .above: return c > value
        case .below: return c < value
        }
    }
}

/// Where each claim starts in the file, for messages: the parsed JSON keeps no lines.
enum ClaimLines {
    /// The line each element of the array under the root object's `key` starts on, for text that
    /// parsed as JSON (for any other, what it finds is of no use, and no harm).
    static func lines(ofElementsOf key: String, in bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        var line = 1, depth = 0
        var inString = false, escaped = false, stringStart = 0
        var lastKey: ArraySlice<UInt8> = [], keyIsWanted = false, inArray = false, awaitingElement = false
        let wanted = Array(key.utf8)
        func element() { if inArray && depth == 2 && awaitingElement { out.append(line); awaitingElement = false } }
        for (i, b) in bytes.enumerated() {
            if b == UInt8(ascii: "\n") { line += 1 }
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1 { lastKey = bytes[stringStart..<i] }
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): element(); inString = true; stringStart = i + 1
            case UInt8(ascii: ":"): if depth == 1 { keyIsWanted = Array(lastKey) == wanted }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                element()
                depth += 1
                if depth == 2 && b == UInt8(ascii: "[") && keyIsWanted { inArray = true; awaitingElement = true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if inArray && depth == 1 { return out }
            case UInt8(ascii: ","): if inArray && depth == 2 { awaitingElement = true }
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): break
            default: element()
            }
        }
        return out
    }
}
