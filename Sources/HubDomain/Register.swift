import EventStore
import Foundation

/// A facilitator's attendance register: CSV with a `participant` column and
/// optional `happier` and `more_connected` (yes/no) survey answers.
///
/// Each row becomes an `AttendanceRecorded` (and a `SurveyCompleted` when both
/// answers are given) at the session's own time, with ids derived from the
/// session and participant — so importing the same register twice changes nothing.
/// A survey answer retracted since and given otherwise on the row is the correction:
/// it is recorded under the next derived id (`SurveyIDs`).
public enum Register {
    public static func drafts(from bytes: [UInt8], file: String, session: String, log: EventLog) throws -> (drafts: [EventDraft], problems: [InputProblem]) {
        var problems: [InputProblem] = []
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return ([], [InputProblem(file: file, line: 1, field: nil, reason: "the register is not UTF-8 text")])
        }
        guard let held = try log.timeHeld(ofSession: session) else {
            // Not a line of the file: the --session option (no line number is given).
            let wasHeld = try log.events(in: StreamID(EntityKind.session.stream(session))).contains { $0.type == EventType.sessionHeld.rawValue }
            let reason = wasHeld ? "session \(session) was held and then retracted; record its SessionHeld again first if it should stand"
                                 : "unknown session \(session) (record its SessionHeld first)"
            return ([], [InputProblem(file: file, line: 0, field: "session", reason: reason)])
        }
        // Split on bytes: "\r\n" is one Character in Swift, and registers saved on Windows use it.
        var lines = ImportFile.withoutByteOrderMark(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line[...], as: UTF8.self)
        }
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first else {
            return ([], [InputProblem(file: file, line: 1, field: nil, reason: "the register is empty (expected a header: participant[,happier,more_connected])")])
        }
        guard let headerCells = CSVLine.cells(headerLine) else {
            return ([], [InputProblem(file: file, line: 1, field: nil, reason: "a quote opened in the header is never closed")])
        }
        let header = headerCells.map { $0.lowercased() }
        let known = ["participant", "happier", "more_connected"]
        // Named as written (a register with no header has a person's id here, and it is theirs as written).
        for (column, written) in zip(header, headerCells) where !known.contains(column) {
            problems.append(InputProblem(file: file, line: 1, field: written, reason: "unknown column (columns: participant, happier, more_connected; is the header line missing?)"))
        }
        // A second column of the same name would be read past: a row's second participant, or an answer contradicting the first.
        for column in known.sorted() where header.filter({ $0 == column }).count > 1 {
            problems.append(InputProblem(file: file, line: 1, field: column, reason: "the header names this column \(header.filter { $0 == column }.count) times; each column once"))
        }
        guard let pCol = header.firstIndex(of: "participant") else {
            problems.append(InputProblem(file: file, line: 1, field: "participant", reason: "the header has no participant column"))
            return ([], problems)
        }
        let hCol = header.firstIndex(of: "happier"), cCol = header.firstIndex(of: "more_connected")
        // A survey is both answers: a header with one survey column is told once, not on every row.
        if (hCol == nil) != (cCol == nil) {
            let missing = hCol == nil ? "happier" : "more_connected"
            problems.append(InputProblem(file: file, line: 1, field: missing, reason: "the header has \(hCol == nil ? "more_connected" : "happier") but no \(missing) column: give both survey columns or neither"))
            return ([], problems)
        }
        var drafts: [EventDraft] = []
        var listed: [String: Int] = [:]
        let surveyIDs = SurveyIDs(session: session, log: log)
        for (i, line) in lines.enumerated().dropFirst() {
            let n = i + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let cells = CSVLine.cells(line) else {
                problems.append(InputProblem(file: file, line: n, field: nil, reason: "a quote opened on this line is never closed"))
                continue
            }
            guard cells.count == header.count else {
                problems.append(InputProblem(file: file, line: n, field: nil, reason: "\(cells.count) \(cells.count == 1 ? "cell" : "cells") where the header has \(header.count)"))
                continue
            }
            let participant = cells[pCol]
            if let earlier = listed[participant] {
                problems.append(InputProblem(file: file, line: n, field: "participant", reason: "\(participant) is listed twice (also on line \(earlier))"))
                continue
            }
            listed[participant] = n
            // Every problem of the row is told (the rules check the participant on the attendance below).
            func answer(_ col: Int?, _ name: String) -> Bool?? {
                guard let col else { return .some(nil) }
                switch cells[col].lowercased() {
                case "": return .some(nil)
                case "yes", "y", "true": return .some(true)
                case "no", "n", "false": return .some(false)
                default:
                    problems.append(InputProblem(file: file, line: n, field: name, reason: "'\(cells[col])' is not yes or no"))
                    return nil
                }
            }
            let happier = answer(hCol, "happier"), connected = answer(cCol, "more_connected")
            drafts.append(EventDraft(type: EventType.attendanceRecorded.rawValue, occurredAt: held.rfc3339,
                                     data: ["participant": .string(participant), "session": .string(session)],
                                     id: DerivedID.make("register", session, participant, "attendance"), file: file, line: n))
            guard let happier, let connected else { continue }
            if (happier == nil) != (connected == nil) {
                problems.append(InputProblem(file: file, line: n, field: happier == nil ? "happier" : "more_connected",
                                             reason: "give both survey answers or neither"))
                continue
            }
            guard let happier, let connected else { continue }
            switch try surveyIDs.id(for: participant, happier: happier, moreConnected: connected) {
            case .success(let id):
                drafts.append(EventDraft(type: EventType.surveyCompleted.rawValue, occurredAt: held.rfc3339,
                                         data: ["participant": .string(participant), "session": .string(session),
                                                "happier": .bool(happier), "moreConnected": .bool(connected)],
                                         id: id, file: file, line: n))
            case .failure(let reason):
                problems.append(InputProblem(file: file, line: n, field: "happier", reason: reason.text))
            }
        }
        // A row already in the log keeps the time it was recorded with: the session's date corrected since
        // (retracted, held again) must not make the same row read as a different event on a re-import.
        let recorded = try log.events(withIDs: Set(drafts.compactMap(\.id)))
        for i in drafts.indices { if let id = drafts[i].id, let event = recorded[id] { drafts[i].occurredAt = event.occurredAt.rfc3339 } }
        return (drafts, problems)
    }
}

/// Stable event ids derived from names (a name-based UUID over SHA-256), so
/// generated and re-imported events are recognised as the same event.
public enum DerivedID {
    public static func make(_ parts: String...) -> UUID {
        var bytes = Array(SHA256.hash(Array(parts.joined(separator: "\u{1F}").utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
