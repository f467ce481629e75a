import EventStore
import Foundation
import HubDomain

enum RetractCommand: Command {
    static let spec = CommandSpec(
        name: "retract", summary: "correct the record: mark one event as retracted, with the reason",
        usage: "retract EVENT_ID --reason TEXT",
        options: [.init(name: "reason", valueName: "TEXT", help: "why the event was wrong (required; kept as sensitive text)")],
        positionals: 1...1,
        details: "Nothing is edited or deleted: an EventRetracted is appended to the event's stream, every read model ignores the event, and the chronology shows it struck through with the reason.")

    static func run(_ arguments: ParsedArguments) throws {
        // A blank reason is no reason: refused as a missing one is, as history's --purpose and erase's --reason are.
        guard let reason = arguments.value("reason"), !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CLIError.usage("--reason TEXT is required: a retraction is recorded with why the event was wrong (e.g. --reason \"entered for the wrong person\")")
        }
        let target = arguments.positionals[0]
        guard UUID(uuidString: target) != nil else { throw CLIError.usage("EVENT_ID must be an event id (a UUID), not '\(target)'") }
        let draft = EventDraft(type: EventType.eventRetracted.rawValue, occurredAt: Timestamp.now.rfc3339,
                               data: ["event": .string(target), "reason": .string(reason)], file: EventDraft.commandLine, line: 1)
        let outcome = try Submission.submit([draft], arguments: arguments, command: spec.name, subject: target.lowercased(), permissions: [.retract])
        if let event = outcome.appended.first {
            Console.out("retracted \(target.lowercased()) (retraction at position \(event.position), id \(event.id.lowercasedString))")
        }
    }
}
