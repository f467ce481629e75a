#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What the test targets that run the real `hubledger` share: finding the binary, and starting a
/// child with its standard streams in files, default signal handling and an empty signal mask.
public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
}

/// The `hubledger` binary: `HUBLEDGER_BIN`, else next to the test products (the directory holding
/// the test bundle or runner, or one of its parents).
public func locateHubledgerBinary() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["HUBLEDGER_BIN"], !explicit.isEmpty { return explicit }
    var starts: [URL] = [Bundle.main.bundleURL]
    if let executable = Bundle.main.executableURL { starts.append(executable.deletingLastPathComponent()) }
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        starts.append(bundle.bundleURL.deletingLastPathComponent())
    }
    starts.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
    if let first = CommandLine.arguments.first {
        starts.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    var searched: [String] = []
    for start in starts {
        var directory = start.standardizedFileURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("hubledger").path
            searched.append(candidate)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
    }
    throw SpawnError(description: "the hubledger binary was not found (set HUBLEDGER_BIN, or build it: swift build --build-tests); searched: \(searched.joined(separator: ", "))")
}

private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
/// `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29; not in Swift's Glibc module).
private let addChdir: AddChdir? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
    return unsafeBitCast(symbol, to: AddChdir.self)
}()

/// Whether a spawned child can be started in a working directory of the caller's choosing.
public var canSpawnInAWorkingDirectory: Bool { addChdir != nil }


/// Spawns a child with its standard streams redirected to files, default signal handling and an
/// empty signal mask (whatever the test runner set up for itself). `searchPath` looks the
/// executable up in PATH; `workingDirectory`, where supported, is where it starts. The caller
/// reaps it, so signals sent to the pid reach only this child.
public func spawnChild(_ executable: String, _ arguments: [String], environment: [String: String],
                       stdin: String, stdout: String, stderr: String, searchPath: Bool = false,
                       workingDirectory: String? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if let workingDirectory, let addChdir { _ = addChdir(&actions, workingDirectory) }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = sigset_t(), defaults = sigset_t()
    sigemptyset(&mask)
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv { free(p) }; for p in envp { free(p) } }

    var pid: pid_t = 0
    let rc = searchPath ? posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
                        : posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw SpawnError(description: "posix_spawn failed: \(String(cString: strerror(rc)))") }
    return pid
}
