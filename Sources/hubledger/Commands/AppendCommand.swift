import EventStore
import Foundation
import HubDomain

enum AppendCommand: Command {
    static let spec = CommandSpec(
        name: "append", summary: "append raw events (JSON lines on stdin) to one stream atomically",
        usage: "append --stream S [--expected-version any|no-stream|exists|N] [--actor A] < events.jsonl",
        options: [
            .init(name: "stream", valueName: "S", help: "the stream to append to (e.g. participant-P-0001)"),
            .init(name: "expected-version", valueName: "V", help: "any (default), no-stream, exists, or a version number"),
            .init(name: "actor", valueName: "A", help: "who records it (default: you, or $HUBLEDGER_ACTOR); admin only like the whole command"),
        ],
        details: """
        Each stdin line is {"id"?, "type", "occurredAt", "data"}; all lines land as one batch or none do.
        This is the store's raw interface: it checks framing, not meaning. The types HubLedger itself
        interprets — the hub's events, access grants and revocations, refusals, recorded views, alerts
        and erasures — are refused here: staff record facts with `hubledger record` and `hubledger import`,
        which apply the hub's rules and seal free text, and each other type has its own command.
        Prints the position of each event.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        guard let stream = arguments.value("stream"), !stream.isEmpty else { throw CLIError.usage("--stream is required") }
        var expected = ExpectedVersion.any
        if let text = arguments.value("expected-version") {
            guard let v = ExpectedVersion(text) else { throw CLIError.usage("--expected-version must be any, no-stream, exists or a number, not '\(text)'") }
            expected = v
        }
        let log = try Environment.openLog(arguments)
        var actor = try AccessGate.authorize(.administer, command: spec.name, subject: stream, about: [.wholeStore], log: log).actor
        if let explicit = arguments.value("actor"), !explicit.isEmpty { actor = explicit }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var events: [ProposedEvent] = []
        var errors: [String] = []
        for (n, line) in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                events.append(try RawEventLine.parse(Array(line), stream: StreamID(stream), actor: actor))
            } catch let error as RawEventLine.Problem {
                errors.append("stdin:\(n + 1): \(error.field.map { "field \($0): " } ?? "")\(error.reason)")
            }
        }
        if !errors.isEmpty {
            errors.forEach(Console.err)
            throw CLIError.failure("\(errors.count) line(s) refused; nothing was written")
        }
        guard !events.isEmpty else { throw CLIError.usage("no events on stdin") }
        let result = try log.append(events, to: StreamID(stream), expecting: expected)
        if let recovery = result.recovery { Console.err("recovered: \(recovery)") }
        for position in result.positions { Console.out(String(position)) }
    }
}

/// One `{"id"?, "type", "occurredAt", "data"}` line of raw input.
enum RawEventLine {
    struct Problem: Error { var field: String?; var reason: String }

    static func parse(_ bytes: [UInt8], stream: StreamID, actor: String) throws -> ProposedEvent {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch let failure as JSONParser.Failure {
            throw Problem(field: nil, reason: failure.description)
        }
        guard case .object(let object) = value else { throw Problem(field: nil, reason: "each line must be a JSON object") }
        for key in object.keys where !["id", "type", "occurredAt", "data"].contains(key) {
            throw Problem(field: key, reason: "unknown field")
        }
        guard case .string(let type)? = object["type"], !type.isEmpty else { throw Problem(field: "type", reason: "missing or not a non-empty string") }
        if let writer = ReservedEventTypes.writer(of: type) {
            throw Problem(field: "type", reason: "\(type) is written by \(writer), never by a raw append (another store's whole log comes in with `hubledger import --format cloudevents`)")
        }
        guard case .string(let occurred)? = object["occurredAt"] else { throw Problem(field: "occurredAt", reason: "missing or not a string") }
        guard let occurredAt = Timestamp(rfc3339: occurred) else { throw Problem(field: "occurredAt", reason: "'\(occurred)' is not an RFC 3339 date-time") }
        guard case .object(let data)? = object["data"] else { throw Problem(field: "data", reason: "missing or not a JSON object") }
        var id: UUID?   // none given: a fresh one, which the store need not look up
        if let raw = object["id"] {
            guard case .string(let text) = raw, let parsed = UUID(uuidString: text) else { throw Problem(field: "id", reason: "not a UUID") }
            id = parsed
        }
        let event = ProposedEvent(id: id, stream: stream, type: type, occurredAt: occurredAt, actor: actor, data: data)
        guard event.storedSize <= ProposedEvent.largestStoredSize else {
            throw Problem(field: "data", reason: "the event would take \(event.storedSize) bytes stored, more than the \(ProposedEvent.largestStoredSize) (16 MiB) a record may hold")
        }
        return event
    }
}
