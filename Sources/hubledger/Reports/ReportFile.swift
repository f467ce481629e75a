import Foundation

/// Writes a report file (mode 0600: reports hold special-category data), with the rights of the
/// person who asked for it (`InvokingUser`).
enum ReportFile {
    static func write(_ text: String, to path: String) throws {
        let written = try InvokingUser.withOwnRights {
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }
        guard written else { throw CLIError.failure("cannot write \(path)") }
    }
}
