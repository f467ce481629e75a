#if canImport(Glibc)
import Glibc
#endif
import EventStore
import Foundation
import TestSupport
import Testing

// Several people on one store (README, "Sharing a store"): the store is opened only by the account
// that owns it, `hubledger` runs set-user-ID to that account, the actor is the real user, and the
// files a person names are opened with their own rights. Needs root to make the accounts' files;
// without it the tests say so and check nothing.

/// The two system accounts every Debian-like machine has: the store's owner and a member of staff.
private let storeAccount: (uid: uid_t, name: String) = (1, "daemon")
private let staffAccount: (uid: uid_t, name: String) = (65534, "nobody")

private var canSwitchUsers: Bool {
    geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        && getpwuid(storeAccount.uid) != nil && getpwuid(staffAccount.uid) != nil
}

/// Runs `binary args…` as `uid` (through setpriv), or as whoever runs the tests when nil.
private func run(_ binary: String, _ arguments: [String], as uid: uid_t?, in cli: CLIHarness) throws -> CLIResult {
    let id = UUID().uuidString
    let io = cli.root.appendingPathComponent(".shared-\(id)").path
    _ = FileManager.default.createFile(atPath: io + ".in", contents: Data())
    defer { for suffix in [".in", ".out", ".err"] { unlink(io + suffix) } }
    let (executable, argv) = uid.map { ("/usr/bin/setpriv", ["--reuid=\($0)", "--regid=\($0)", "--clear-groups", binary] + arguments) }
        ?? (binary, arguments)
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "HUBLEDGER_ACTOR")
    environment.removeValue(forKey: "HUBLEDGER_STORE")
    let pid = try spawnChild(executable, argv, environment: environment, stdin: io + ".in", stdout: io + ".out", stderr: io + ".err")
    return try RunningProcess(pid: pid, arguments: arguments, stdoutPath: io + ".out", stderrPath: io + ".err").wait(timeout: 60)
}

private func owner(of path: String) -> uid_t? {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_uid : nil
}

@Test func aStoreIsOpenedOnlyByTheAccountThatOwnsIt() throws {
    guard canSwitchUsers else { print("[shared store] skipped: needs root and setpriv to act as other accounts"); return }
    try withCLI { cli in
        let store = cli.storePath()
        #expect(try cli.run(["init"], store: store).status == 0)
        guard chown(store, storeAccount.uid, storeAccount.uid) == 0 else { Issue.record("chown failed"); return }
        // Root, or anyone with access, would leave files behind that the owner cannot read: refused, naming both.
        let asRoot = try cli.run(["verify"], store: store)
        #expect(asRoot.status == 1, "\(asRoot)")
        #expect(asRoot.stderr.contains("\(store) belongs to \(storeAccount.name), and this runs as \(osUserName())"), "\(asRoot)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: store)
        #expect(files.allSatisfy { owner(of: store + "/" + $0) == 0 }, "the refused run wrote into the store")
        // Someone who cannot even read the directory is told whose it is, not that it is no store.
        chmod(cli.root.path, 0o755)
        let stranger = try run(cli.binary, ["--store", store, "audit"], as: staffAccount.uid, in: cli)
        #expect(stranger.status == 1, "\(stranger)")
        #expect(stranger.stderr.contains("belongs to \(storeAccount.name)"), "\(stranger)")
    }
}

@Test func setUserIDToTheStoresAccountTheActorIsTheRealUserAndTheirFilesTheirOwn() throws {
    guard canSwitchUsers else { print("[shared store] skipped: needs root and setpriv to act as other accounts"); return }
    try withCLI { cli in
        chmod(cli.root.path, 0o755)
        // The installed binary: a copy owned by the store's account, set-user-ID.
        let installed = cli.root.appendingPathComponent("bin/hubledger").path
        try FileManager.default.createDirectory(atPath: cli.root.appendingPathComponent("bin").path, withIntermediateDirectories: true)
        // Copied by cp, not in this process: a child spawned meanwhile by a test running beside this one would
        // inherit the copy's open descriptor, and the exec of the copy would then fail ("text file busy").
        let copy = try run("/bin/cp", [cli.binary, installed], as: nil, in: cli)
        #expect(copy.status == 0, "\(copy)")
        #expect(chown(installed, storeAccount.uid, storeAccount.uid) == 0 && chmod(installed, 0o4755) == 0)
        chmod(cli.root.appendingPathComponent("bin").path, 0o755)
        let store = cli.storePath()
        #expect(mkdir(store, 0o700) == 0 && chown(store, storeAccount.uid, storeAccount.uid) == 0)
        let staffHome = cli.root.appendingPathComponent("staff").path
        #expect(mkdir(staffHome, 0o700) == 0 && chown(staffHome, staffAccount.uid, staffAccount.uid) == 0)

        // Only the account itself makes its store: a member of staff running init through the install is refused.
        let byStaff = try run(installed, ["init", "--store", cli.root.appendingPathComponent("other").path], as: staffAccount.uid, in: cli)
        #expect(byStaff.status == 1 && byStaff.stderr.contains("run it as \(storeAccount.name) itself"), "\(byStaff)")
        #expect(!FileManager.default.fileExists(atPath: cli.root.appendingPathComponent("other").path))
        let initialised = try run(installed, ["init", "--store", store], as: storeAccount.uid, in: cli)
        #expect(initialised.status == 0, "\(initialised)")
        #expect(try run(installed, ["--store", store, "access", "grant", staffAccount.name, "auditor"], as: storeAccount.uid, in: cli).status == 0)

        // The member of staff runs it: the store account's rights, their own name on the record.
        let audit = try run(installed, ["--store", store, "audit", "--html", staffHome + "/audit.html"], as: staffAccount.uid, in: cli)
        #expect(audit.status == 0, "\(audit)")
        #expect(owner(of: staffHome + "/audit.html") == staffAccount.uid, "the report must be the person's own file")
        // A path only the store's account could write is refused: --html does not write with its rights.
        let intoStore = try run(installed, ["--store", store, "audit", "--html", store + "/segments/report.html"], as: staffAccount.uid, in: cli)
        #expect(intoStore.status == 1, "\(intoStore)")
        #expect(!FileManager.default.fileExists(atPath: store + "/segments/report.html"))
        // Refused for want of a role, the refusal is recorded under their name.
        let refused = try run(installed, ["--store", store, "referrals"], as: staffAccount.uid, in: cli)
        #expect(refused.status == 1, "\(refused)")
        let log = try run(installed, ["--store", store, "log", "--json"], as: storeAccount.uid, in: cli)
        let denial = log.lines.compactMap { try? JSONParser.parse($0).objectValue }.first { $0["type"] == "AccessDenied" }
        #expect(denial?["actor"] == .string(staffAccount.name), "\(log)")
        // Every file of the store still belongs to its account.
        let files = try FileManager.default.subpathsOfDirectory(atPath: store)
        #expect(files.allSatisfy { owner(of: store + "/" + $0) == storeAccount.uid }, "\(files)")
    }
}
