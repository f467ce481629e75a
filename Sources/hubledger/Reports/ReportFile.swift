import Foundation

/// Writes a report file (mode 0600: reports hold special-category data), with the rights of the
/// person who asked for it (`InvokingUser`).
enum ReportFile {
    /// Makes sure the report can be written before anything is recorded about it (an empty file for now):
    /// a view is recorded only of a chronology that will be shown.
    static func prepare(_ path: String) throws { try write("", to: path) }

    static func write(_ text: String, to path: String) throws {
        let written = try InvokingUser.withOwnRights {
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }
        guard written else { throw CLIError.failure("cannot write \(path)") }
    }
}
