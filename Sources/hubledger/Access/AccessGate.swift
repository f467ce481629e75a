import EventStore
import Foundation
import HubDomain
import Projections

/// Who is running a command, and whether they may: every command that touches a store passes
/// through here before it reads or writes anything else.
///
/// The actor is the operating-system user; `HUBLEDGER_ACTOR` names another actor only when
/// that user is an admin (service accounts, scripted imports). A role may be limited to hubs
/// or regions: what a command is about must lie within the scope of a role that permits it.
/// A refusal exits 1, names the rule, and is itself appended as `AccessDenied`, so attempts
/// are on the record.
enum AccessGate {
    /// One thing a command needs: a permission, for everything it is about.
    struct Requirement {
        var permission: Permission
        var subjects: [Subject] = []
    }

    /// Who was let through, and where they may look: for filtering lists to the actor's scope.
    struct Authorization {
        let actor: String
        let state: AccessState
        let fallbackAdmin: String?

        /// Where the actor may do `permission`, or nil when no role of theirs allows it.
        func scope(for permission: Permission) -> Scope? {
            state.scope(of: actor, for: permission, fallbackAdmin: fallbackAdmin)
        }

        /// For a list of people (`review`, `referrals`): nil when the actor's roles for `permission` reach
        /// every hub, else whether a participant is within their scope (and a note on stderr saying so).
        func participantFilter(for permission: Permission, log: EventLog, listing what: String) -> ((String) -> Bool)? {
            guard let scope = scope(for: permission), !scope.isEverywhere else { return nil }
            let locations = AccessGate.places(log)
            Console.err("showing only \(what) in \(AccessGate.describe(scope)) (the scope of \(actor)'s roles)")
            return { covers(locations.place(ofParticipant: $0), for: permission) }
        }

        /// Whether something at `place` is within scope; something with no known place only for an unlimited scope.
        func covers(_ place: Place?, for permission: Permission) -> Bool {
            guard let scope = scope(for: permission) else { return false }
            guard let place else { return scope.isEverywhere }
            return scope.covers(place)
        }
    }

    /// The actor, once every requirement is met; otherwise records the refusal and throws.
    @discardableResult
    static func authorize(_ requirements: [Requirement], command: String, subject: String? = nil, log: EventLog) throws -> Authorization {
        let state = roles(log)
        let owner = storeOwner(log)
        let osUser = Environment.osUser
        let requested = Environment.requestedActor
        if let requested, requested != osUser, !state.roles(of: osUser, fallbackAdmin: owner).contains(.admin) {
            try refuse(actor: osUser, command: command, subject: "HUBLEDGER_ACTOR=\(requested)", reason: "impersonation", log: log,
                       message: "HUBLEDGER_ACTOR=\(requested) is refused: only an admin may act as another actor, and \(osUser) is not an admin (unset HUBLEDGER_ACTOR to act as yourself)")
        }
        let authorization = Authorization(actor: requested ?? osUser, state: state, fallbackAdmin: owner)
        let actor = authorization.actor
        let roles = state.roles(of: actor, fallbackAdmin: owner)
        for requirement in requirements where !roles.contains(where: { $0.allows(requirement.permission) }) {
            let needed = requirement.permission.roles.map(\.rawValue).joined(separator: " or ")
            let held = roles.isEmpty ? "no role" : "only " + roles.sorted().map(\.rawValue).joined(separator: ", ")
            // What was attempted goes on the record even when no role would do: the command's subject, else what it was about.
            let about = requirement.subjects.prefix(3).map(\.description).joined(separator: ", ") + (requirement.subjects.count > 3 ? ", …" : "")
            try refuse(actor: actor, command: command, subject: subject ?? (about.isEmpty ? nil : about), reason: "needs \(needed)", log: log,
                       message: "refused: \(requirement.permission) needs the \(needed) role, and \(actor) has \(held); nothing was done (ask an admin: `hubledger access grant \(actor) ROLE`)")
        }
        // Only a role limited to some hubs needs to know where things are.
        guard requirements.contains(where: { !$0.subjects.isEmpty && authorization.scope(for: $0.permission)?.isEverywhere == false }) else {
            return authorization
        }
        let locations = places(log)
        for requirement in requirements {
            guard let scope = authorization.scope(for: requirement.permission) else { continue }
            for about in requirement.subjects {
                if about == .wholeStore, !scope.isEverywhere {
                    try refuse(actor: actor, command: command, subject: subject ?? about.description, reason: "out of scope: every hub", log: log,
                               message: "refused: \(requirement.permission) reaches every hub's records, outside the scope of \(actor), whose roles for it cover \(describe(scope)); only a role for every hub covers it; nothing was done")
                }
                guard let place = about.place(in: locations), !scope.covers(place) else { continue }
                // Where they are is recorded for the admins (the AccessDenied reason), not told to the actor
                // who may not see them: it would say where a person outside their hubs now is.
                // The subject recorded is what lay out of scope (a register's one person), not the whole command's.
                try refuse(actor: actor, command: command, subject: about.description, reason: "out of scope: \(place)", log: log,
                           message: "refused: \(requirement.permission) for \(about) is outside the scope of \(actor), whose roles for it cover \(describe(scope)); nothing was done")
            }
        }
        return authorization
    }

    @discardableResult
    static func authorize(_ permission: Permission, command: String, subject: String? = nil, about subjects: [Subject] = [],
                          log: EventLog) throws -> Authorization {
        try authorize([Requirement(permission: permission, subjects: subjects)], command: command, subject: subject, log: log)
    }

    static func describe(_ scope: Scope) -> String {
        if scope.isEverywhere { return "every hub" }
        return (scope.hubs.sorted().map { "hub \($0)" } + scope.regions.sorted().map { "region \($0)" }).joined(separator: ", ")
    }

    /// The roles as the log records them.
    static func roles(_ log: EventLog) -> AccessState { readable(AccessProjection.self, log).state }

    /// Where everyone belongs.
    static func places(_ log: EventLog) -> Locations { readable(LocationProjection.self, log).locations }

    /// A small projection folded from its checkpoint — or, in a log damaged somewhere, folded up to the
    /// damage, so that `verify` can still be run on it to say where: a grant lost past the damage only
    /// refuses more.
    static func readable<P: Projection>(_ type: P.Type, _ log: EventLog) -> P {
        if let folded = try? ProjectionRunner(log: log, minimumEventsToSave: ProjectionRunner.readerSaveThreshold).run(type) {
            return folded.model
        }
        var model = P()
        try? log.forEach { event in
            if let domain = DomainEvent(event) { model.apply(domain) }
            return true
        }
        return model
    }

    /// Appends the refusal, then throws it; a refusal that cannot be recorded is still a refusal.
    static func refuse(actor: String, command: String, subject: String?, reason: String, log: EventLog, message: String) throws -> Never {
        let denial = ProposedEvent(stream: AccessRecords.deniedStream, type: AccessRecords.denied, occurredAt: .now, actor: actor,
                                   data: AccessRecords.denial(actor: actor, command: command, subject: subject, reason: reason))
        do {
            try log.append([denial], to: AccessRecords.deniedStream)
            throw CLIError.failure(message + "; the refusal was recorded")
        } catch let error as EventStoreError {
            throw CLIError.failure(message + "; the refusal could not be recorded: \(error.description)")
        }
    }

    /// The user owning the store's directory: the one admin of a store that records no grants.
    static func storeOwner(_ log: EventLog) -> String? { log.ownerName }
}
