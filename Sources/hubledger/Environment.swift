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

    /// The operating-system user running the command.
    static var osUser: String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid-\(geteuid())"
    }

    static func actor(_ explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let a = ProcessInfo.processInfo.environment["HUBLEDGER_ACTOR"], !a.isEmpty { return a }
        return osUser
    }

    /// Whether the OS user is the store's admin: until roles are recorded in the log, the user who
    /// created the store (its directory's owner) is its one admin.
    static func isAdmin(of log: EventLog) -> Bool {
        var st = stat()
        guard stat(log.path, &st) == 0 else { return false }
        return st.st_uid == geteuid()
    }

    static func openLog(_ parsed: ParsedArguments) throws -> EventLog {
        do { return try EventLog(path: storePath(parsed)) } catch let error as EventStoreError {
            throw CLIError.failure(error.description)
        }
    }
}
