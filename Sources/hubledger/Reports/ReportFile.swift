import Foundation

/// Writes a report file (mode 0600: reports hold special-category data).
enum ReportFile {
    static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CLIError.failure("cannot write \(path)")
        }
    }
}
