import EventStore
import Foundation
import HubDomain
import Projections

enum EraseCommand: Command {
    static let spec = CommandSpec(
        name: "erase", summary: "erase a participant's sensitive text from the vault (admin only); the chain stays intact",
        usage: "erase PARTICIPANT --reason TEXT [--override-retention [WHY]]",
        options: [
            .init(name: "reason", valueName: "TEXT", help: "why the data is erased (required; kept in the log in clear for good: a reference, not a person's details)"),
            .init(name: "override-retention", valueName: "WHY", help: "erase although concerns put the participant under a retention hold; WHY is recorded (default: --reason)",
                  valueIsOptional: true),
        ],
        positionals: 1...1,
        details: """
        Deletes the vault values of every sensitive field in the participant's own record (their stream,
        their referrals and concerns, and the purposes given for viewing it) and appends ParticipantErased. Events, counts and hashes stay:
        every output shows [erased] for those fields, `verify` still passes and `audit` is unchanged.
        A participant with any concern is under a retention hold (safeguarding records are kept):
        erase refuses unless --override-retention is given.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let participant = arguments.positionals[0]
        guard let reason = arguments.value("reason")?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw CLIError.usage("--reason TEXT is required: an erasure is recorded with its reason")
        }
        let override = arguments.value("override-retention").map { $0.isEmpty ? reason : $0 }
        let log = try Environment.openLog(arguments)
        let admin = try AccessGate.authorize(.administer, command: spec.name, subject: participant, about: [.participant(participant)], log: log).actor
        let chronology = try ProjectionRunner(log: log).run(ChronologyProjection.self).model
        guard chronology.knows(participant) else {
            throw CLIError.failure("unknown participant \(participant): nothing in the log concerns them; nothing erased")
        }
        let concerns = chronology.concernStreams(of: participant)
        if !concerns.isEmpty && override == nil {
            throw CLIError.failure("""
                \(participant) is under a retention hold: \(concerns.count) concern(s) are recorded about them \
                (\(concerns.joined(separator: ", "))), and safeguarding records are kept. Nothing was erased. \
                To erase anyway, add --override-retention "WHY" (the reason is recorded).
                """)
        }
        // Their own record, and the purposes given for viewing it (who viewed it, and when, stay).
        let events = try (log.events(inStreamsEndingAt: chronology.recordStreams(of: participant))
                          + log.events(in: AccessRecords.viewsStream(of: participant))).filter(\.hasSealedValues)
        let values = try log.sealedValues(of: events)
        let remaining = events.filter { e in e.sealedDigests.keys.contains { values.value(of: $0, in: e) != .erased } }
        guard !remaining.isEmpty else {
            Console.out("nothing left to erase for \(participant): no sensitive values of theirs remain in the vault; nothing written")
            return
        }
        let count = remaining.reduce(0) { n, e in n + e.sealedDigests.keys.filter { values.value(of: $0, in: e) != .erased }.count }
        // The erasure is on the record first; if the vault rewrite is interrupted, running erase again finishes it.
        let stream = EntityKind.participant.stream(participant)
        let record = ProposedEvent(stream: StreamID(stream), type: AccessRecords.erased, occurredAt: .now, actor: admin,
                                   data: AccessRecords.erasure(participant: participant, reason: reason, events: remaining.map(\.id),
                                                               values: count, retentionOverride: concerns.isEmpty ? nil : override))
        let result = try log.append([record], to: StreamID(stream))
        let erased = try log.eraseSealedValues(of: Set(remaining.map(\.id)))
        Console.out("erased \(erased) sensitive value(s) of \(participant) from \(remaining.count) event(s); ParticipantErased at position \(result.positions.first ?? -1)")
        if !concerns.isEmpty { Console.out("retention hold overridden: \(override ?? reason)") }
    }
}
