import EventStore
import Foundation
import HubDomain

enum DemoCommand: Command {
    static let spec = CommandSpec(
        name: "demo", summary: "fill a store with a realistic synthetic history (no real people)",
        usage: "demo [--participants N] [--seed S]",
        options: [
            .init(name: "participants", valueName: "N", help: "how many synthetic participants (default 1200)"),
            .init(name: "seed", valueName: "S", help: "the random seed (default 1); the same seed gives the same history"),
        ],
        details: """
        Creates the store if it does not exist. A store that already holds events is refused (exit 1,
        nothing written), so synthetic people never mix with a real record; the one exception is a store
        that holds this very demo already (the same seed and size), where running it again changes nothing.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        var participants = 1200
        if let text = arguments.value("participants") {
            guard let n = Int(text), (1...1_000_000).contains(n) else { throw CLIError.usage("--participants must be 1…1000000, not '\(text)'") }
            participants = n
        }
        var seed: UInt64 = 1
        if let text = arguments.value("seed") {
            guard let s = UInt64(text) else { throw CLIError.usage("--seed must be a whole number, not '\(text)'") }
            seed = s
        }
        let path = Environment.storePath(arguments)
        if (try? EventLog(path: path)) == nil {
            _ = try EventLog.create(at: path)
        }
        let drafts = Demo(participants: participants, seed: seed).drafts()
        try refuseUnlessEmptyOrDemo(drafts, arguments: arguments, path: path)
        let outcome = try Submission.submit(drafts, arguments: arguments, command: spec.name, permissions: [.administer], warnFlags: false)
        var counts: [String: Int] = [:]
        for draft in drafts { counts[draft.type, default: 0] += 1 }
        if outcome.appended.isEmpty {
            Console.out("The demo history (seed \(seed)) is already in \(path); nothing written.")
        } else {
            Console.out("Wrote \(outcome.appended.count) synthetic events to \(path):")
        }
        for (type, n) in counts.sorted(by: { $0.key < $1.key }) { Console.out("  \(type.padding(toLength: 22, withPad: " ", startingAt: 0)) \(n)") }
        Console.out("""

        Next, try:
          hubledger verify                      prove the log was not altered
          hubledger audit                       recompute the published figures
          hubledger referrals --status awaiting-first-attendance
          hubledger review                      the safeguarding review
          hubledger history P-0001 --purpose "trying the demo"   one participant's chronology (the view is recorded)
        (add --store \(path) if it is not your default store)
        """)
    }

    /// Refuses a store holding any hub event that is not one of this demo's own (by id), or not all of them,
    /// before anything is written. A demo of another size shares ids with this one but not their events.
    static func refuseUnlessEmptyOrDemo(_ drafts: [EventDraft], arguments: ParsedArguments, path: String) throws {
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.administer, command: spec.name, log: log)
        guard try log.head() != nil else { return }
        let ids = Set(drafts.compactMap(\.id))
        var hubEvents = 0
        try log.forEachRecord({ view in
            if EventType(rawValue: view.type) != nil { hubEvents += 1 }
            return true
        }, batchEnded: { true })
        guard try hubEvents != ids.count || log.events(withIDs: ids).count < ids.count else { return }
        throw CLIError.failure("\(path) already holds events: the demo writes its synthetic people only into a new or empty store, so that they never mix with a real record; give it another --store")
    }
}
