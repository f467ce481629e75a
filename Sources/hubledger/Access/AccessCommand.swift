import EventStore
import Foundation
import HubDomain
import Projections

enum AccessCommand: Command {
    static let spec = CommandSpec(
        name: "access", summary: "grant, revoke and list roles (admin only)",
        usage: "access grant ACTOR ROLE [--hub H]… [--region R]…  |  access revoke ACTOR ROLE  |  access list [--json]",
        options: [.init(name: "hub", valueName: "H", help: "limit the grant to this hub (repeatable)", repeats: true),
                  .init(name: "region", valueName: "R", help: "limit the grant to this region (repeatable): \(PlaceOptions.spellings)", repeats: true),
                  ReadSupport.jsonOption],
        positionals: 1...3,
        details: """
        Roles: \(Role.spellings.joined(separator: ", ")).
          facilitator           record sessions, attendance, registers, surveys, signposts, registrations, moves
                                and consents; raise a concern (but not read concerns back)
          referral-coordinator  record and read referrals (every step), registrations and moves
          safeguarding-lead     all of the above, plus history, review, escalating and closing concerns, retractions
          auditor               audit and verify only
          admin                 init, access, erase, rebuild, and everything else
        ACTOR is the name of an operating-system user (or a service account an admin acts as through
        HUBLEDGER_ACTOR). Grants and revocations are AccessGranted / AccessRevoked events in the stream
        `access`; the last admin cannot be revoked.
        With --hub or --region the role covers only participants (and their referrals and concerns) who
        belong there, and sessions held there; without either it covers every hub. Grants of the same role
        add up; revoking a role removes all of its grants. `audit` is aggregate-only and is not limited.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        let verb = arguments.positionals[0]
        switch verb {
        case "grant", "revoke":
            guard arguments.positionals.count == 3 else { throw CLIError.usage("usage: hubledger access \(verb) ACTOR ROLE") }
        case "list":
            guard arguments.positionals.count == 1 else { throw CLIError.usage("usage: hubledger access list [--json]") }
        default:
            throw CLIError.usage("unknown access action '\(verb)': grant, revoke or list")
        }
        var target: (actor: String, role: Role)?
        let scope = Scope(hubs: Set(arguments.all("hub")), regions: Set(try arguments.all("region").map { try PlaceOptions.region($0).rawValue }))
        if let blank = scope.hubs.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw CLIError.usage("--hub needs a hub name, not '\(blank)'")
        }
        if verb != "grant" && !scope.isEverywhere { throw CLIError.usage("--hub and --region go with `access grant`") }
        if verb != "list" {
            let actor = arguments.positionals[1]
            guard isValidActor(actor) else {
                throw CLIError.usage("'\(actor)' is not an actor name (1–64 letters, digits, '-', '_', '.' or '@')")
            }
            guard let role = Role(rawValue: arguments.positionals[2]) else {
                throw CLIError.usage("'\(arguments.positionals[2])' is not a role (\(Role.spellings.joined(separator: " | ")))")
            }
            target = (actor, role)
        }
        let log = try Environment.openLog(arguments)
        // The gate has just folded the roles: they are the state to change or list.
        // Changing roles changes who sees every hub: only an admin for every hub may (listing is open to any admin).
        let authorization = try AccessGate.authorize(.administer, command: spec.name,
                                                     subject: target.map { "\(verb) \($0.actor) \($0.role.rawValue)" },
                                                     about: target == nil ? [] : [.wholeStore], log: log)
        let admin = authorization.actor, state = authorization.state, owner = authorization.fallbackAdmin
        guard let target else { return list(state, owner: owner, head: try log.head(), json: arguments.has("json")) }

        // Hub names are free text: one no participant or session has (a typo, another case) would limit the grant
        // to nothing. Granted all the same (a new hub's staff come before its first session), with a warning.
        if verb == "grant", !scope.hubs.isEmpty {
            let known = Set(AccessGate.places(log).placesInUse.map(\.hub)).sorted()
            for hub in scope.hubs.sorted() where !known.contains(hub) {
                let close = known.filter { $0.lowercased() == hub.lowercased() }
                let hint = close.isEmpty ? "hubs in the log: \(known.isEmpty ? "none yet" : known.joined(separator: ", "))" : "did you mean \(close.joined(separator: ", "))?"
                Console.err("warning: no participant or session is at hub '\(hub)' yet (\(hint)); the grant covers only what will be recorded there")
            }
        }
        let held = state.roles(of: target.actor, fallbackAdmin: owner)
        let change: ProposedEvent
        if verb == "grant" {
            let existing = held.contains(target.role) ? (state.grants[target.actor]?[target.role] ?? .everywhere) : nil
            if let existing, existing.union(scope) == existing {
                Console.out("\(target.actor) already has the \(target.role.rawValue) role for \(AccessGate.describe(existing)); nothing written")
                return
            }
            change = AccessRecords.grantEvent(target.actor, target.role, scope: scope, by: admin)
        } else {
            guard held.contains(target.role) else {
                throw CLIError.failure("\(target.actor) does not hold the \(target.role.rawValue) role; nothing written")
            }
            if target.role == .admin, state.holders(of: .admin).filter({ $0 != target.actor }).isEmpty {
                throw CLIError.failure("\(target.actor) is the last admin: grant another admin first, so the store is never left without one; nothing written")
            }
            // An admin for one region cannot change roles: one for every hub must remain.
            let everywhere = state.holders(of: .admin).filter { $0 != target.actor && state.grants[$0]?[.admin]?.isEverywhere ?? true }
            if target.role == .admin, everywhere.isEmpty {
                throw CLIError.failure("\(target.actor) is the last admin for every hub (the others are limited to some hubs, and cannot change roles): grant another admin without --hub or --region first; nothing written")
            }
            change = AccessRecords.revokeEvent(target.actor, target.role, by: admin)
        }
        var events: [ProposedEvent] = []
        if !state.hasRecordedGrants, let owner {
            // A store from before roles: its implicit admin is written down first, so it stays one.
            // Dated with the change it comes before (it was made a moment earlier, after the change).
            var implicit = AccessRecords.grantEvent(owner, .admin, by: admin)
            implicit.occurredAt = change.occurredAt
            events.append(implicit)
        }
        events.append(change)
        let result = try log.append(events, to: AccessRecords.accessStream)
        let done = verb == "grant" ? "granted \(target.actor) the \(target.role.rawValue) role for \(AccessGate.describe(scope))"
            : "revoked the \(target.role.rawValue) role of \(target.actor)"
        Console.out("\(done) (position \(result.positions.last ?? -1))")
    }

    static func list(_ state: AccessState, owner: String?, head: LogHead?, json: Bool) {
        var grants = state.grants
        if !state.hasRecordedGrants, let owner { grants[owner] = [.admin: .everywhere] }
        if json {
            let actors: [JSONValue] = grants.sorted { $0.key < $1.key }.map { actor, roles in
                .object(["actor": .string(actor), "roles": .array(roles.sorted { $0.key < $1.key }.map { role, scope in
                    var o: JSONObject = ["role": .string(role.rawValue)]
                    if !scope.hubs.isEmpty { o["hubs"] = .array(scope.hubs.sorted().map(JSONValue.string)) }
                    if !scope.regions.isEmpty { o["regions"] = .array(scope.regions.sorted().map(JSONValue.string)) }
                    return .object(o)
                })])
            }
            Console.out(JSONValue.object(["head": HeadJSON.value(head), "actors": .array(actors)]).jsonText)
            return
        }
        if grants.isEmpty { Console.out("no roles granted"); return }
        for (actor, roles) in grants.sorted(by: { $0.key < $1.key }) {
            let names = roles.sorted { $0.key < $1.key }.map { role, scope in
                role.rawValue + (scope.isEverywhere ? "" : " (" + (scope.hubs.sorted() + scope.regions.sorted()).joined(separator: ", ") + ")")
            }
            Console.out("\(actor.padding(toLength: max(actor.count + 2, 24), withPad: " ", startingAt: 0))\(names.joined(separator: ", "))")
        }
        if !state.hasRecordedGrants { Console.out("(no grants recorded: the owner of the store directory is its admin)") }
    }

    static func isValidActor(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || "-_.@".utf8.contains($0) }
    }
}
