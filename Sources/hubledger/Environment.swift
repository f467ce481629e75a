import EventStore
import Foundation

/// Settings that come from the environment: the store's path and the actor.
enum Environment {
    static func storePath(_ parsed: ParsedArguments) -> String {
        if let explicit = parsed.value("store") { return explicit }
        let env = ProcessInfo.processInfo.environment
        if let s = env["HUBLEDGER_STORE"], !s.isEmpty { return s }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/hubledger" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.local/share/hubledger"
    }

    /// The operating-system user running the command: the real user, also when hubledger is installed
    /// set-user-ID to the store's account (`InvokingUser`).
    static var osUser: String { userName(getuid()) }

    static func userName(_ uid: uid_t) -> String { EventLog.accountName(uid) }

    /// The actor named by `HUBLEDGER_ACTOR`, if any (`AccessGate` decides whether it is allowed).
    static var requestedActor: String? {
        guard let a = ProcessInfo.processInfo.environment["HUBLEDGER_ACTOR"], !a.isEmpty else { return nil }
        return a
    }

    static func openLog(_ parsed: ParsedArguments) throws -> EventLog {
        do { return try EventLog(path: storePath(parsed)) } catch let error as EventStoreError {
            throw CLIError.failure(error.description)
        }
    }
}
