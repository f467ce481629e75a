import EventStore
import Foundation
import HubDomain
import Projections

/// Who is running a command, and whether they may: every command that touches a store passes
/// through here before it reads or writes anything else.
///
/// The actor is the operating-system user; `HUBLEDGER_ACTOR` names another actor only when
/// that user is an admin (service accounts, scripted imports). A refusal exits 1, names the
/// roles that would do, and is itself appended as `AccessDenied`, so attempts are on the record.
enum AccessGate {
    /// The actor, once `permissions` are all granted; otherwise records the refusal and throws.
    @discardableResult
    static func authorize(_ permissions: [Permission], command: String, subject: String? = nil, log: EventLog) throws -> String {
        let state = roles(log)
        let owner = storeOwner(log)
        let osUser = Environment.osUser
        let requested = Environment.requestedActor
        if let requested, requested != osUser, !state.roles(of: osUser, fallbackAdmin: owner).contains(.admin) {
            try refuse(actor: osUser, command: command, subject: "HUBLEDGER_ACTOR=\(requested)", reason: "impersonation", log: log,
                       message: "HUBLEDGER_ACTOR=\(requested) is refused: only an admin may act as another actor, and \(osUser) is not an admin (unset HUBLEDGER_ACTOR to act as yourself)")
        }
        let actor = requested ?? osUser
        let roles = state.roles(of: actor, fallbackAdmin: owner)
        for permission in permissions where !roles.contains(where: { $0.allows(permission) }) {
            let needed = permission.roles.map(\.rawValue).joined(separator: " or ")
            let held = roles.isEmpty ? "no role" : "only " + roles.sorted().map(\.rawValue).joined(separator: ", ")
            try refuse(actor: actor, command: command, subject: subject, reason: "needs \(needed)", log: log,
                       message: "refused: \(permission) needs the \(needed) role, and \(actor) has \(held); nothing was done (ask an admin: `hubledger access grant \(actor) ROLE`)")
        }
        return actor
    }

    @discardableResult
    static func authorize(_ permission: Permission, command: String, subject: String? = nil, log: EventLog) throws -> String {
        try authorize([permission], command: command, subject: subject, log: log)
    }

    /// The roles as the log records them. A log damaged somewhere is read up to the damage, so that
    /// `verify` can still be run on it to say where: a grant lost past the damage only refuses more.
    static func roles(_ log: EventLog) -> AccessState {
        if let folded = try? ProjectionRunner(log: log).run(AccessProjection.self) { return folded.model.state }
        var readable = AccessProjection()
        try? log.forEach { event in
            if let domain = DomainEvent(event) { readable.apply(domain) }
            return true
        }
        return readable.state
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
    static func storeOwner(_ log: EventLog) -> String? {
        var st = stat()
        guard stat(log.path, &st) == 0 else { return nil }
        return Environment.userName(st.st_uid)
    }
}
