import EventStore
import HubDomain

/// A published claim checked against a computed figure: `{"metric", "op", "value"}`.
public struct Claim: Sendable {
    public enum Operator: String, Sendable, CaseIterable { case atLeast = ">=", atMost = "<=", equal = "==", above = ">", below = "<" }

    public var metric: String
    public var op: Operator
    public var value: Double

    /// Reads a claims file; every problem names the claim and field.
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
        for (i, item) in items.enumerated() {
            func problem(_ field: String, _ reason: String) { problems.append(InputProblem(file: file, line: 1, field: "claims[\(i)].\(field)", reason: reason)) }
            guard let o = item.objectValue else { problem("", "each claim must be an object"); continue }
            guard let metric = o["metric"]?.stringValue else { problem("metric", "missing or not a string"); continue }
            guard let opText = o["op"]?.stringValue, let op = Operator(rawValue: opText) else {
                problem("op", "must be one of \(Operator.allCases.map(\.rawValue).joined(separator: " "))"); continue
            }
            guard let value = o["value"]?.doubleValue else { problem("value", "missing or not a number"); continue }
            claims.append(Claim(metric: metric, op: op, value: value))
        }
        if !problems.isEmpty { throw DomainError.rejected(problems) }
        return claims
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
