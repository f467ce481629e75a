import EventStore

/// The audit's period: session dates (and, for referrals, signposts and concerns, their own dates) within it count.
public struct AuditPeriod: Sendable {
    public var from: Timestamp?
    public var to: Timestamp?
    public init(from: Timestamp? = nil, to: Timestamp? = nil) { self.from = from; self.to = to }
    func contains(_ t: Timestamp) -> Bool { (from.map { t >= $0 } ?? true) && (to.map { t <= $0 } ?? true) }
}

/// One published figure with its definition and working.
public struct AuditFigure: Sendable {
    public var name: String
    public var value: JSONValue
    public var numerator: Int?
    public var denominator: Int?
    public var definition: String
    public var breakdowns: [(String, [String: Int])] = []
    /// For medians: how many values it was taken over.
    public var count: Int?

    init(name: String, value: JSONValue, numerator: Int? = nil, denominator: Int? = nil, definition: String,
         breakdowns: [(String, [String: Int])] = [], count: Int? = nil) {
        self.name = name; self.value = value; self.numerator = numerator; self.denominator = denominator
        self.definition = definition; self.breakdowns = breakdowns; self.count = count
    }

    static func rate(_ name: String, _ numerator: Int, _ denominator: Int, _ definition: String) -> AuditFigure {
        AuditFigure(name: name, value: denominator == 0 ? .null : .double(Double(numerator) / Double(denominator)),
                    numerator: numerator, denominator: denominator, definition: definition)
    }

    public var numericValue: Double? { value.doubleValue }

    public var json: JSONValue {
        var o: JSONObject = ["value": value]
        if let numerator { o["numerator"] = .int(Int64(numerator)) }
        if let denominator { o["denominator"] = .int(Int64(denominator)) }
        if let count { o["count"] = .int(Int64(count)) }
        o["definition"] = .string(definition)
        for (key, table) in breakdowns {
            o[key] = .object(JSONObject(table.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int(Int64($0.value))) }))
        }
        return .object(o)
    }
}
