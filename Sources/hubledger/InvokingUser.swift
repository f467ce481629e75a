import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The person running the command, and their own rights over the files they name.
///
/// Staff share a store through a `hubledger` installed set-user-ID to the account that owns it
/// (README, "Sharing a store"): the process then runs with that account's rights, and the actor is
/// the real user. The files a person names — an import, a register, a claims file, a report to
/// write — are opened with the person's own rights, never the store account's: `--html` would
/// otherwise let anyone allowed to run hubledger overwrite that account's files, the store's among them.
enum InvokingUser {
    /// Whether the binary runs set-user-ID (the real user is not the effective one).
    static var isSetUID: Bool { getuid() != geteuid() }

    /// Runs `body` with the real user's rights when set-user-ID, then takes the store account's back.
    static func withOwnRights<T>(_ body: () throws -> T) throws -> T {
        guard isSetUID else { return try body() }
        let storeAccount = geteuid()
        guard seteuid(getuid()) == 0 else {
            throw CLIError.failure("cannot take \(Environment.userName(getuid()))'s own rights to open a file: \(String(cString: strerror(errno)))")
        }
        defer {
            // The saved set-user-ID makes this possible; without it nothing more may be written as the wrong user.
            if seteuid(storeAccount) != 0 {
                Console.err("hubledger: cannot take back the store account's rights: \(String(cString: strerror(errno)))")
                exit(1)
            }
        }
        return try body()
    }
}
