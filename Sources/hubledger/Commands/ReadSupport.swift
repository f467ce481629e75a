import EventStore
import Foundation
import HubDomain
import Projections

/// What every read command shares: `--as-of`, `--now`, and folding a projection.
enum ReadSupport {
    static let asOfOption = CommandSpec.Option(name: "as-of", valueName: "T",
        help: "as the log stood at time T (events recorded by then; a bare date = end of that day) or at position T")
    static let jsonOption = CommandSpec.Option(name: "json", valueName: nil, help: "machine-readable output, with the log head it was computed from")
    static let nowOption = CommandSpec.Option(name: "now", valueName: "T",
                                              help: "evaluate as if the clock read T (RFC 3339; a bare date = the end of that day, UTC, as for --as-of); default: now")

    static func limit(_ arguments: ParsedArguments) throws -> ReadLimit? {
        guard let text = arguments.value("as-of") else { return nil }
        guard let limit = ReadLimit(text) else {
            throw CLIError.usage("--as-of must be an RFC 3339 time, a date (YYYY-MM-DD) or a log position, not '\(text)'")
        }
        // The log as it will stand is not known: a time past tomorrow is a slip (today's date, the end of today, is fine).
        if case .recordedBy(let t) = limit, t > Timestamp.now.adding(seconds: 86_400) {
            throw CLIError.usage("--as-of \(text) is in the future: the log is only known as it stands now (leave out --as-of for that)")
        }
        return limit
    }

    static func now(_ arguments: ParsedArguments) throws -> Timestamp {
        guard let text = arguments.value("now") else {
            // As of a past time, that time is "now" (a figure reproduced as it was); as of later today, the clock.
            if case .recordedBy(let t)? = try limit(arguments) { return min(t, .now) }
            return .now
        }
        guard let t = Timestamp(dateTimeOrEndOfDay: text) else { throw CLIError.usage("--now must be an RFC 3339 time or a date, not '\(text)'") }
        return t
    }

    /// The read model, once the actor is allowed `permission` (see `AccessGate`).
    static func fold<P: Projection>(_ type: P.Type, _ arguments: ParsedArguments, permission: Permission, command: String,
                                    about subjects: [Subject] = []) throws -> (Folded<P>, EventLog, AccessGate.Authorization) {
        let log = try Environment.openLog(arguments)
        let limit = try limit(arguments)
        let authorization = try AccessGate.authorize(permission, command: command, about: subjects, log: log)
        if case .position(let p)? = limit, let head = try log.head(), p > head.position {
            throw CLIError.usage("--as-of \(p) is beyond the log's last position, \(head.position): the log holds \(head.position + 1) events")
        }
        let runner = ProjectionRunner(log: log, minimumEventsToSave: ProjectionRunner.readerSaveThreshold)
        return (try runner.run(type, limit: limit), log, authorization)
    }

    static func days(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "—" }
}
