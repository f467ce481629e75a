import EventStore
import Foundation

/// Reads the import format: JSON lines of `{"type", "occurredAt", "data", "id"?}`.
public enum ImportFile {
    /// Parses every line, collecting every problem rather than stopping at the first.
    public static func drafts(from bytes: [UInt8], file: String) -> (drafts: [EventDraft], problems: [InputProblem]) {
        var drafts: [EventDraft] = []
        var problems: [InputProblem] = []
        var lineNumber = 0
        for line in withoutByteOrderMark(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var content = Array(line)
            if content.last == 0x0D { content.removeLast() }
            if content.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            func problem(_ field: String?, _ reason: String) { problems.append(InputProblem(file: file, line: lineNumber, field: field, reason: reason)) }
            if content.count > 1_000_000 { problem(nil, "line is longer than 1,000,000 bytes"); continue }
            let value: JSONValue
            do { value = try JSONParser.parse(content) } catch let failure as JSONParser.Failure {
                problem(nil, failure.description); continue
            } catch { problem(nil, "\(error)"); continue }
            guard case .object(let object) = value else { problem(nil, "each line must be a JSON object, not a \(value.typeName)"); continue }
            var ok = true
            for key in object.keys where !["type", "occurredAt", "data", "id"].contains(key) {
                problem(key, "unknown field (a line has type, occurredAt, data and optionally id)"); ok = false
            }
            guard case .string(let type)? = object["type"] else { problem("type", "missing or not a string"); continue }
            guard case .string(let occurredAt)? = object["occurredAt"] else { problem("occurredAt", "missing or not a string"); continue }
            guard case .object(let data)? = object["data"] else { problem("data", "missing or not a JSON object"); continue }
            var id: UUID?
            if let raw = object["id"] {
                guard case .string(let text) = raw, let parsed = UUID(uuidString: text) else { problem("id", "not a UUID"); continue }
                id = parsed
            }
            if ok { drafts.append(EventDraft(type: type, occurredAt: occurredAt, data: data, id: id, file: file, line: lineNumber)) }
        }
        return (drafts, problems)
    }

    /// The bytes after a UTF-8 byte-order mark (EF BB BF), which spreadsheet programs write at the start
    /// of a "CSV UTF-8" or text file: it is not part of the first line.
    public static func withoutByteOrderMark(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
    }
}
