import EventStore

/// Where in an input a problem was found: file, line and field.
public struct InputProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var field: String?
    public var reason: String

    public init(file: String, line: Int, field: String?, reason: String) {
        self.file = file; self.line = line; self.field = field; self.reason = reason
    }

    public var description: String {
        // Line 0: about the input as a whole (a register's --session), not one of its lines; a command's own
        // options are not a file, and have no lines.
        let place = file == EventDraft.commandLine ? "" : line > 0 ? "\(file):\(line): " : "\(file): "
        return place + (field.map { "field \($0): " } ?? "") + reason
    }
}

/// Everything the domain refuses, with messages a member of staff can act on.
public enum DomainError: Error, Sendable, CustomStringConvertible {
    /// One or more input lines broke the rules; nothing was written.
    case rejected([InputProblem])
    case unknownEvent(String)
    case unreadableFile(path: String, reason: String)
    case store(EventStoreError)
    case conflictPersisted

    public var description: String {
        switch self {
        case .rejected(let problems):
            return "\(problems.count) problem(s); nothing was written:\n" + problems.map(\.description).joined(separator: "\n")
        case .unknownEvent(let id): return "no event with id \(id) in the log"
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .store(let error): return error.description
        case .conflictPersisted:
            return "other writers kept changing the same records; nothing was written — try again"
        }
    }
}
