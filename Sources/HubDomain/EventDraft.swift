import EventStore
import Foundation

/// An event as staff or a file propose it, before the rules have checked it.
public struct EventDraft: Sendable {
    public var type: String
    public var occurredAt: String
    public var data: JSONObject
    public var id: UUID?
    /// Where it came from, for error messages: a file name (or "stdin", "command line") and line.
    public var file: String
    public var line: Int
    /// The `file` of a draft made from a command's options (`record`, `retract`).
    public static let commandLine = "command line"

    public init(type: String, occurredAt: String, data: JSONObject, id: UUID? = nil, file: String, line: Int) {
        self.type = type; self.occurredAt = occurredAt; self.data = data; self.id = id; self.file = file; self.line = line
    }

    func problem(_ field: String?, _ reason: String) -> InputProblem {
        InputProblem(file: file, line: line, field: field, reason: reason)
    }
}
