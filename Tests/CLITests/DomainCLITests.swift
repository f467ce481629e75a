import EventStore
import Foundation
import Testing

// The domain and projection commands through the real `hubledger` binary: record, import
// (JSON lines and registers), retract, demo, history, referrals, audit, rebuild, verify.
// Only synthetic people.

// MARK: - Running the binary

private struct DomainCLIRun: Sendable, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "hubledger \(arguments.joined(separator: " ")) → exit \(status)\nstdout: \(stdout.prefix(1500))\nstderr: \(stderr.prefix(1500))" }

    /// stdout parsed as one JSON object.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONObject {
        let value = try JSONParser.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        return try #require(value.objectValue, "stdout is not a JSON object: \(self)", sourceLocation: sourceLocation)
    }
}

/// A scratch directory with a store path inside it; `hubledger` runs against that store.
private struct DomainCLIScratch {
    let root: String
    var store: String { root + "/store" }

    /// Writes a scratch file and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = root + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `hubledger --store STORE args…` to completion.
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil) throws -> DomainCLIRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLIHarness.locateBinary())
        process.arguments = ["--store", store] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "HUBLEDGER_ACTOR")
        environment.removeValue(forKey: "HUBLEDGER_STORE")
        process.environment = environment
        let id = UUID().uuidString
        let outPath = root + "/.\(id).out", errPath = root + "/.\(id).err", inPath = root + "/.\(id).in"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))
        defer { for p in [outPath, errPath, inPath] { try? FileManager.default.removeItem(atPath: p) } }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        defer { try? out.close(); try? err.close(); try? input.close() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        process.waitUntilExit()
        return DomainCLIRun(arguments: arguments, status: process.terminationStatus,
                            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// `verify --json`, which must succeed.
    func verifyJSON(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(["verify", "--json"])
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result.stdout
    }
}

private func withDomainCLI(_ body: (DomainCLIScratch) throws -> Void) throws {
    let root = NSTemporaryDirectory() + "hubledger-cli-domain-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try body(DomainCLIScratch(root: root))
}

/// One JSON line of the import format.
private func cliLine(_ type: String, _ occurredAt: String, _ data: String, id: String? = nil) -> String {
    let idPart = id.map { #""id":"\#($0)","# } ?? ""
    return #"{\#(idPart)"type":"\#(type)","occurredAt":"\#(occurredAt)","data":{\#(data)}}"#
}

private func cliID(_ n: Int) -> String { "00000000-0000-4000-8000-" + String(format: "%012d", n) }

/// Two adults and a child, two sessions of one programme, attendances and surveys, a referral and a concern.
private let cliBaseLines = [
    cliLine("ParticipantRegistered", "2025-03-01T09:00:00Z", #""participant":"P-1","generation":"adult","hub":"woking","region":"surrey""#, id: cliID(1)),
    cliLine("ParticipantRegistered", "2025-03-01T09:05:00Z", #""participant":"P-2","generation":"adult","hub":"woking","region":"surrey""#, id: cliID(2)),
    cliLine("ParticipantRegistered", "2025-03-01T09:10:00Z", #""participant":"P-3","generation":"child","hub":"woking","region":"surrey""#, id: cliID(3)),
    cliLine("ConsentGiven", "2025-03-01T09:11:00Z", #""participant":"P-1","scope":"surveys","givenBy":"self""#, id: cliID(4)),
    cliLine("SessionHeld", "2025-03-03T10:00:00Z", #""session":"S-1","hub":"woking","region":"surrey","programme":"woking-2025-1","week":1,"funder":"tnlcf""#, id: cliID(5)),
    cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-1","session":"S-1""#, id: cliID(6)),
    cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-2","session":"S-1""#, id: cliID(7)),
    cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-3","session":"S-1""#, id: cliID(8)),
    cliLine("SurveyCompleted", "2025-03-03T11:00:00Z", #""participant":"P-1","session":"S-1","happier":true,"moreConnected":true"#, id: cliID(9)),
    cliLine("SurveyCompleted", "2025-03-03T11:00:00Z", #""participant":"P-2","session":"S-1","happier":false,"moreConnected":true"#, id: cliID(10)),
    cliLine("ReferralReceived", "2025-03-02T08:00:00Z",
         #""referral":"R-1","participant":"P-2","source":"link-worker","referrer":"Synthetic link worker","reason":"Isolation","urgent":false"#, id: cliID(11)),
    cliLine("ConcernRaised", "2025-03-03T12:00:00Z",
         #""concern":"C-1","participant":"P-3","category":"neglect","severity":"high","account":"Synthetic account.","actionTaken":"Told the DSL.","dslInformed":true"#,
         id: cliID(12)),
]

private func cliImportBase(_ cli: DomainCLIScratch, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    #expect(try cli.run(["init"]).status == 0, sourceLocation: sourceLocation)
    let path = try cli.file("base.jsonl", cliBaseLines.joined(separator: "\n") + "\n")
    let result = try cli.run(["import", path])
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    return path
}

private func cliMetric(_ audit: JSONObject, _ name: String) -> JSONObject? { audit["metrics"]?.objectValue?[name]?.objectValue }

// MARK: - demo

@Test func demoThenVerifySucceedsAndTheAuditCounts240Sessions() throws {
    try withDomainCLI { cli in
        let demo = try cli.run(["demo"])
        #expect(demo.status == 0, "\(demo)")
        #expect(demo.stdout.contains("hubledger history"))
        let verify = try cli.run(["verify"])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.hasPrefix("ok"))
        let audit = try cli.run(["audit", "--json"])
        #expect(audit.status == 0, "\(audit)")
        #expect(cliMetric(try audit.json(), "sessions")?["value"]?.intValue == 240)
        // Its referrals take their steps in order: contacted before accepted (most were accepted first,
        // found by acceptance testing), accepted before the first attendance.
        let referrals = try cli.run(["referrals", "--json"]).json()["referrals"]?.arrayValue?.compactMap(\.objectValue) ?? []
        func day(_ r: JSONObject, _ key: String) -> Double? { r[key]?.doubleValue }
        let both = referrals.filter { day($0, "daysToFirstContact") != nil && day($0, "daysToAcceptance") != nil }
        #expect(both.count > 50, "\(referrals.count) referrals")
        let outOfOrder = both.filter { (day($0, "daysToFirstContact") ?? 0) > (day($0, "daysToAcceptance") ?? 0) }
        #expect(outOfOrder.isEmpty, "accepted before contacted: \(outOfOrder.prefix(3))")
        let attendedBeforeAcceptance = referrals.filter { r in
            guard let accepted = day(r, "daysToAcceptance"), let attended = day(r, "daysToFirstAttendance") else { return false }
            return attended < accepted
        }
        #expect(attendedBeforeAcceptance.isEmpty, "\(attendedBeforeAcceptance.prefix(3))")
        // The same seed again writes nothing.
        let head = try cli.verifyJSON()
        let again = try cli.run(["demo"])
        #expect(again.status == 0, "\(again)")
        #expect(try cli.verifyJSON() == head)
    }
}

@Test func demoRefusesAStoreThatHoldsOtherEventsAndWritesNothing() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)   // a live record
        let head = try cli.verifyJSON()
        let demo = try cli.run(["demo", "--participants", "5"])
        #expect(demo.status == 1 && demo.stderr.contains("already holds events"), "\(demo)")
        #expect(try cli.verifyJSON() == head, "the demo wrote into a live record")
    }
    try withDomainCLI { cli in
        // A store holding a smaller demo is refused too: the bigger one would add people to it.
        #expect(try cli.run(["demo", "--participants", "5"]).status == 0)
        let head = try cli.verifyJSON()
        let bigger = try cli.run(["demo", "--participants", "6"])
        #expect(bigger.status == 1 && bigger.stderr.contains("already holds events"), "\(bigger)")
        #expect(try cli.verifyJSON() == head)
        // And a smaller one into it: it shares ids with the demo there, but not their events (it was refused
        // line by line, "already in the log for a different event", found by acceptance testing).
        let smaller = try cli.run(["demo", "--participants", "4"])
        #expect(smaller.status == 1 && smaller.stderr.contains("already holds events") && !smaller.stderr.contains("different event"), "\(smaller)")
        #expect(try cli.verifyJSON() == head)
        // The same demo again is still welcome.
        #expect(try cli.run(["demo", "--participants", "5"]).status == 0)
    }
}

@Test func recordJSONCarriesTheHeadItWasComputedFrom() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let arguments = ["record", "ParticipantRegistered", "--participant", "P-77", "--generation", "adult", "--hub", "woking",
                         "--region", "surrey", "--json"]
        let dryRun = try cli.run(arguments + ["--dry-run"]).json()
        let before = try JSONParser.parse(cli.verifyJSON()).objectValue?["head"]
        #expect(dryRun["dryRun"] == true && dryRun["head"] == before, "\(dryRun)")
        let recorded = try cli.run(arguments).json()
        let head = try #require(recorded["head"]?.objectValue, "\(recorded)")
        #expect(head["position"] == recorded["position"])
        #expect(JSONValue.object(head) == (try JSONParser.parse(cli.verifyJSON()).objectValue?["head"]))
    }
}

// MARK: - import

@Test func anImportWithThreeBadLinesNamesEachAndWritesNothing() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let path = try cli.file("day.jsonl", [
            cliLine("ConsentGiven", "2025-03-04T09:00:00Z", #""participant":"P-1","scope":"participation","givenBy":"self""#),
            cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-9","session":"S-1""#),
            cliLine("SignpostGiven", "2025-03-04T09:00:00Z", #""participant":"P-1","service":"Synthetic advice","category":"housing""#),
            cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", #""participant":"P-4","generation":"teenager","hub":"woking","region":"surrey""#),
            cliLine("SignpostGiven", "2024-02-30T10:00:00Z", #""participant":"P-2","service":"Synthetic advice","category":"housing""#),
        ].joined(separator: "\n") + "\n")
        let result = try cli.run(["import", path])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("\(path):2: field participant"), "\(result)")
        #expect(result.stderr.contains("\(path):4: field generation"), "\(result)")
        #expect(result.stderr.contains("\(path):5: field occurredAt"), "\(result)")
        #expect(result.stderr.contains("teenager"))
        #expect(!result.stderr.contains("\(path):1:"))
        #expect(!result.stderr.contains("\(path):3:"))
        #expect(try cli.verifyJSON() == before)
        // A dry run of a good file writes nothing either.
        let good = try cli.file("good.jsonl", cliLine("ConsentGiven", "2025-03-04T09:00:00Z", #""participant":"P-1","scope":"participation","givenBy":"self""#) + "\n")
        let dry = try cli.run(["import", "--dry-run", good])
        #expect(dry.status == 0, "\(dry)")
        #expect(try cli.verifyJSON() == before)
    }
}

/// "All errors are reported, not only the first": lines that are not events do not hide the rules'
/// problems on the lines that are, across files, in file and line order.
@Test func unreadableLinesAndRuleProblemsAreReportedTogetherInOrder() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let first = try cli.file("first.jsonl", [
            cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-9","session":"S-1""#),
            "not json",
        ].joined(separator: "\n") + "\n")
        let second = try cli.file("second.jsonl", [
            #"{"type":"SignpostGiven","occurredAt":"2025-03-04T09:00:00Z","data":{},"extra":1}"#,
            cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", #""participant":"P-4","generation":"teenager","hub":"woking","region":"surrey""#),
        ].joined(separator: "\n") + "\n")
        let result = try cli.run(["import", first, second])
        #expect(result.status == 1, "\(result)")
        let reported = result.stderr.split(separator: "\n").filter { $0.contains(".jsonl:") }.map { line in
            String(line.prefix { $0 != " " })
        }
        #expect(reported == ["\(first):1:", "\(first):2:", "\(second):1:", "\(second):2:"], "\(result.stderr)")
        #expect(result.stderr.contains("4 problem(s) found; nothing was written"), "\(result)")
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func anImportFromStandardInputNamesStdinInItsErrors() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let result = try cli.run(["import", "-"], stdin: cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"P-1","session":"S-404""#) + "\n")
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("stdin:1: field session"), "\(result)")
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func reimportingAFileWithIdsChangesNothing() throws {
    try withDomainCLI { cli in
        let path = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let again = try cli.run(["import", path])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("imported 0 event(s)"), "\(again)")
        #expect(again.stdout.contains("\(cliBaseLines.count) already in the log"), "\(again)")
        #expect(try cli.verifyJSON() == before)
        // The same file with one line changed under the same id is refused, naming the line and the id.
        var changed = cliBaseLines
        changed[1] = changed[1].replacingOccurrences(of: #""generation":"adult""#, with: #""generation":"older-adult""#)
        let edited = try cli.file("edited.jsonl", changed.joined(separator: "\n"))
        let refused = try cli.run(["import", edited])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("\(edited):2: field id"), "\(refused)")
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func aRegisterImportRecordsAttendancesAndSurveysOnce() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let session = try cli.file("s2.jsonl", cliLine("SessionHeld", "2025-03-10T10:00:00Z",
                                                     #""session":"S-2","hub":"woking","region":"surrey","programme":"woking-2025-1","week":2"#) + "\n")
        #expect(try cli.run(["import", session]).status == 0)
        let register = try cli.file("register.csv", "participant,happier,more_connected\nP-1,yes,no\nP-2,,\n")
        let first = try cli.run(["import", "--register", register, "--session", "S-2"])
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("imported 3 event(s)"), "\(first)")
        let head = try cli.verifyJSON()
        let second = try cli.run(["import", "--register", register, "--session", "S-2"])
        #expect(second.status == 0, "\(second)")
        #expect(second.stdout.contains("imported 0 event(s)"), "\(second)")
        #expect(try cli.verifyJSON() == head)
        // S-1: 3 attendances and 2 surveys; S-2: 2 attendances and 1 survey (happier yes, more connected no).
        let audit = try cli.run(["audit", "--json"]).json()
        #expect(cliMetric(audit, "attendances")?["value"]?.intValue == 5)
        #expect(cliMetric(audit, "happierRate")?["numerator"]?.intValue == 2)
        #expect(cliMetric(audit, "happierRate")?["denominator"]?.intValue == 3)
        #expect(cliMetric(audit, "connectedRate")?["numerator"]?.intValue == 2)
        // Weekly return S-1 {P-1,P-2,P-3} → S-2 {P-1,P-2}: 2 of 3.
        #expect(cliMetric(audit, "weeklyReturnRate")?["numerator"]?.intValue == 2)
        #expect(cliMetric(audit, "weeklyReturnRate")?["denominator"]?.intValue == 3)
    }
}

/// Excel's "CSV UTF-8" and some editors start a file with a byte-order mark: it is not part of the first line.
@Test func filesStartingWithAByteOrderMarkImportAsWithout() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let session = try cli.file("s3.jsonl", "\u{FEFF}" + cliLine("SessionHeld", "2025-03-10T10:00:00Z",
                                                                 #""session":"S-3","hub":"woking","region":"surrey","programme":"woking-2025-1","week":2"#) + "\n")
        let imported = try cli.run(["import", session])
        #expect(imported.status == 0, "\(imported)")
        let register = try cli.file("bom.csv", "\u{FEFF}participant,happier,more_connected\r\nP-1,yes,no\r\n")
        let registered = try cli.run(["import", "--register", register, "--session", "S-3"])
        #expect(registered.status == 0, "\(registered)")
        #expect(registered.stdout.contains("imported 2 event(s)"), "\(registered)")
    }
}

@Test func aBadRegisterIsRefusedWholeNamingLineAndColumn() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let badCell = try cli.file("bad.csv", "participant,happier,more_connected\nP-1,yes,no\nP-2,maybe,no\n")
        let cell = try cli.run(["import", "--register", badCell, "--session", "S-1"])
        #expect(cell.status == 1, "\(cell)")
        #expect(cell.stderr.contains("\(badCell):3: field happier"), "\(cell)")
        let unknown = try cli.file("unknown.csv", "participant\nP-9\n")
        let person = try cli.run(["import", "--register", unknown, "--session", "S-1"])
        #expect(person.status == 1, "\(person)")
        #expect(person.stderr.contains("\(unknown):2: field participant"), "\(person)")
        // An unknown person on a row with survey answers: one problem, told once (not once per event the row makes).
        let unknownAnswering = try cli.file("unknown-answering.csv", "participant,happier,more_connected\nP-9,yes,yes\n")
        let answering = try cli.run(["import", "--register", unknownAnswering, "--session", "S-1"])
        #expect(answering.stderr.components(separatedBy: "\(unknownAnswering):2: field participant").count == 2, "\(answering)")
        #expect(answering.stderr.contains("1 problem(s) found"), "\(answering)")
        // Someone listed twice is named as such, not as a clash of ids the facilitator never gave.
        let twice = try cli.file("twice.csv", "participant\nP-1\nP-1\n")
        let listedTwice = try cli.run(["import", "--register", twice, "--session", "S-1"])
        #expect(listedTwice.status == 1, "\(listedTwice)")
        #expect(listedTwice.stderr.contains("\(twice):3: field participant: P-1 is listed twice (also on line 2)"), "\(listedTwice)")
        // A column named twice was read past: the second participant of a row, or an answer contradicting the first.
        for (name, csv, column) in [("two-people.csv", "participant,participant\nP-1,P-2\n", "participant"),
                                    ("two-answers.csv", "participant,happier,more_connected,Happier\nP-1,yes,yes,no\n", "happier")] {
            let path = try cli.file(name, csv)
            let repeated = try cli.run(["import", "--register", path, "--session", "S-1"])
            #expect(repeated.status == 1, "\(repeated)")
            #expect(repeated.stderr.contains("\(path):1: field \(column): the header names this column 2 times"), "\(repeated)")
        }
        // One survey column in the header: told once, on the header, not on every row (found by acceptance testing).
        let half = try cli.file("half.csv", "participant,happier\nP-1,yes\nP-2,no\n")
        let halfSurvey = try cli.run(["import", "--register", half, "--session", "S-1"])
        #expect(halfSurvey.status == 1, "\(halfSurvey)")
        #expect(halfSurvey.stderr.contains("\(half):1: field more_connected: the header has happier but no more_connected column"), "\(halfSurvey)")
        #expect(!halfSurvey.stderr.contains("\(half):2:") && !halfSurvey.stderr.contains("\(half):3:"), "\(halfSurvey)")
        // A register with no header: its first id is named as written, and the likely slip said.
        let headerless = try cli.file("headerless.csv", "P-1\nP-2\n")
        let noHeader = try cli.run(["import", "--register", headerless, "--session", "S-1"])
        #expect(noHeader.status == 1 && noHeader.stderr.contains("\(headerless):1: field P-1: unknown column"), "\(noHeader)")
        #expect(noHeader.stderr.contains("is the header line missing?"), "\(noHeader)")
        let noSession = try cli.run(["import", "--register", unknown, "--session", "S-404"])
        #expect(noSession.status != 0, "\(noSession)")
        #expect(noSession.stderr.contains("\(unknown): field session: unknown session S-404"), "\(noSession)")
        #expect(try cli.verifyJSON() == before)
    }
}

/// A register imported again after one of its attendances was retracted does not bring it back, and says so
/// instead of counting it among those "already in the log" as if it stood.
@Test func aRegisterImportedAgainSaysWhichOfItsRowsWereRetractedSince() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        #expect(try cli.run(["record", "SessionHeld", "--session", "S-2", "--hub", "woking", "--region", "surrey", "--programme", "woking-2025-1",
                             "--week", "2", "--occurred-at", "2025-03-10T10:00:00Z"]).status == 0)
        let register = try cli.file("week2.csv", "participant\nP-1\nP-2\n")
        #expect(try cli.run(["import", "--register", register, "--session", "S-2"]).status == 0)
        let log = try cli.run(["log", "--json", "--stream", "participant-P-2"])
        let attendance = try #require(log.stdout.split(separator: "\n").last.flatMap { try? JSONParser.parse(String($0)).objectValue?["id"]?.stringValue })
        #expect(try cli.run(["retract", attendance, "--reason", "Not there"]).status == 0)
        let head = try cli.verifyJSON()
        let again = try cli.run(["import", "--register", register, "--session", "S-2"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("imported 0 event(s), 2 already in the log (1 of them retracted, so not counted"), "\(again)")
        #expect(try cli.verifyJSON() == head)
    }
}

/// One rule of the domain issue broken by the last line of a small file imported onto the base store.
struct DomainCLIRefusal: Sendable, CustomTestStringConvertible {
    var label: String
    var lines: [String]
    /// The field the error must name, on the file's last line.
    var field: String
    var testDescription: String { label }
}

private let cliAttendance = #""participant":"P-1","session":"S-1""#
private let cliNewParticipant = #""participant":"P-9","generation":"adult","hub":"woking","region":"surrey""#

private let cliRefusals: [DomainCLIRefusal] = [
    .init(label: "missing field", lines: [cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", #""participant":"P-9","hub":"woking","region":"surrey""#)], field: "generation"),
    .init(label: "unknown field", lines: [cliLine("ConsentGiven", "2025-03-04T09:00:00Z", #""participant":"P-1","scope":"photography","givenBy":"self","colour":"red""#)], field: "colour"),
    .init(label: "wrong type", lines: [cliLine("ReferralReceived", "2025-03-04T09:00:00Z",
                                               #""referral":"R-9","participant":"P-1","source":"gp","referrer":"Dr S","reason":"Low mood","urgent":"yes""#)], field: "urgent"),
    .init(label: "wrong enum value", lines: [cliLine("ConcernEscalated", "2025-03-04T09:00:00Z", #""concern":"C-1","to":"mash""#)], field: "to"),
    .init(label: "malformed date", lines: [cliLine("ConsentGiven", "4 March 2025", #""participant":"P-1","scope":"photography","givenBy":"self""#)], field: "occurredAt"),
    .init(label: "date without a time", lines: [cliLine("ConsentGiven", "2025-03-04", #""participant":"P-1","scope":"photography","givenBy":"self""#)], field: "occurredAt"),
    .init(label: "impossible date", lines: [cliLine("ConsentGiven", "2025-02-29T09:00:00Z", #""participant":"P-1","scope":"photography","givenBy":"self""#)], field: "occurredAt"),
    .init(label: "more than a day in the future", lines: [cliLine("ConsentGiven", "2099-03-04T09:00:00Z", #""participant":"P-1","scope":"photography","givenBy":"self""#)], field: "occurredAt"),
    .init(label: "unknown participant", lines: [cliLine("SignpostGiven", "2025-03-04T09:00:00Z", #""participant":"P-404","service":"Advice","category":"other""#)], field: "participant"),
    .init(label: "unknown referral", lines: [cliLine("ReferralContacted", "2025-03-04T09:00:00Z", #""referral":"R-404","channel":"letter""#)], field: "referral"),
    .init(label: "unknown session", lines: [cliLine("AttendanceRecorded", "2025-03-04T09:00:00Z", #""participant":"P-1","session":"S-404""#)], field: "session"),
    .init(label: "unknown concern", lines: [cliLine("ConcernClosed", "2025-03-04T09:00:00Z", #""concern":"C-404","outcome":"Done""#)], field: "concern"),
    .init(label: "unknown event", lines: [cliLine("EventRetracted", "2025-03-04T09:00:00Z", #""event":"\#(cliID(404))","reason":"Wrong""#)], field: "event"),
    .init(label: "second ParticipantRegistered", lines: [cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z",
                                                                 #""participant":"P-1","generation":"adult","hub":"woking","region":"surrey""#)], field: "participant"),
    .init(label: "second ReferralReceived", lines: [cliLine("ReferralReceived", "2025-03-04T09:00:00Z",
                                                            #""referral":"R-1","participant":"P-1","source":"gp","referrer":"Dr S","reason":"Low mood","urgent":false"#)], field: "referral"),
    .init(label: "second SessionHeld", lines: [cliLine("SessionHeld", "2025-03-04T09:00:00Z",
                                                       #""session":"S-1","hub":"woking","region":"surrey","programme":"woking-2025-1","week":1"#)], field: "session"),
    .init(label: "second ConcernRaised", lines: [cliLine("ConcernRaised", "2025-03-04T09:00:00Z",
                                                         #""concern":"C-1","participant":"P-1","category":"other","severity":"low","account":"A","actionTaken":"B","dslInformed":false"#)],
          field: "concern"),
    .init(label: "second registration in the same file", lines: [cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", cliNewParticipant),
                                                                 cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", cliNewParticipant)], field: "participant"),
    .init(label: "survey for a session not attended", lines: [
        cliLine("SessionHeld", "2025-03-10T10:00:00Z", #""session":"S-2","hub":"woking","region":"surrey","programme":"woking-2025-1","week":2"#),
        cliLine("SurveyCompleted", "2025-03-10T11:00:00Z", #""participant":"P-1","session":"S-2","happier":true,"moreConnected":true"#)], field: "session"),
    .init(label: "survey by a registered person who did not attend", lines: [
        cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", cliNewParticipant),
        cliLine("SurveyCompleted", "2025-03-04T10:00:00Z", #""participant":"P-9","session":"S-1","happier":true,"moreConnected":true"#)], field: "session"),
    .init(label: "retracting an event twice", lines: [
        cliLine("EventRetracted", "2025-03-04T09:00:00Z", #""event":"\#(cliID(6))","reason":"Wrong""#),
        cliLine("EventRetracted", "2025-03-04T09:00:00Z", #""event":"\#(cliID(6))","reason":"Wrong again""#)], field: "event"),
    .init(label: "retracting a retraction", lines: [
        cliLine("EventRetracted", "2025-03-04T09:00:00Z", #""event":"\#(cliID(6))","reason":"Wrong""#, id: cliID(900)),
        cliLine("EventRetracted", "2025-03-04T09:00:00Z", #""event":"\#(cliID(900))","reason":"Undo""#)], field: "event"),
]

@Test(arguments: cliRefusals)
func everyRuleIsRefusedThroughTheExecutable(_ c: DomainCLIRefusal) throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let before = try cli.verifyJSON()
        let path = try cli.file("case.jsonl", c.lines.joined(separator: "\n") + "\n")
        let result = try cli.run(["import", path])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("\(path):\(c.lines.count): field \(c.field)"), "\(result)")
        #expect(result.stderr.contains("nothing was written"), "\(result)")
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func everyEventTypeIsAcceptedThroughTheExecutable() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let lines = [
            cliLine("ParticipantRegistered", "2025-03-04T09:00:00Z", #""participant":"P-7","generation":"young-person","birthYear":2011,"hub":"hackney","region":"london""#),
            cliLine("ConsentGiven", "2025-03-04T09:01:00Z", #""participant":"P-7","scope":"participation","givenBy":"self","competenceNote":"Judged able (synthetic).""#),
            cliLine("ConsentWithdrawn", "2025-03-04T09:02:00Z", #""participant":"P-1","scope":"surveys""#),
            cliLine("SessionHeld", "2025-03-10T10:00:00Z", #""session":"S-2","hub":"woking","region":"surrey","programme":"woking-2025-1","week":2,"funder":"council""#),
            cliLine("AttendanceRecorded", "2025-03-10T10:05:00Z", #""participant":"P-7","session":"S-2""#),
            cliLine("SurveyCompleted", "2025-03-10T11:00:00Z", #""participant":"P-7","session":"S-2","happier":true,"moreConnected":false"#),
            cliLine("SignpostGiven", "2025-03-10T12:00:00Z", #""participant":"P-7","service":"Synthetic youth service","category":"education""#),
            cliLine("ReferralReceived", "2025-03-04T08:00:00Z",
                    #""referral":"R-7","participant":"P-7","source":"school","referrer":"Synthetic school","reason":"Isolation","urgent":true"#),
            cliLine("ReferralContacted", "2025-03-05T08:00:00Z", #""referral":"R-7","channel":"email""#),
            cliLine("ReferralAccepted", "2025-03-06T08:00:00Z", #""referral":"R-7""#),
            cliLine("FlagRaised", "2025-03-06T09:00:00Z", #""participant":"P-7","flag":"no-photography","note":"Synthetic note.","reviewBy":"2025-06-30""#),
            cliLine("FlagRaised", "2025-03-06T09:01:00Z", #""participant":"P-7","flag":"medical","note":"Synthetic note.""#),
            cliLine("FlagRemoved", "2025-03-20T09:00:00Z", #""participant":"P-7","flag":"medical","reason":"No longer needed.""#),
            cliLine("ReferralDeclined", "2025-03-05T09:00:00Z", #""referral":"R-1","reason":"Chose another service""#),
            cliLine("ReferralClosed", "2025-03-20T09:00:00Z", #""referral":"R-7","reason":"completed""#),
            cliLine("ConcernRaised", "2025-03-10T12:30:00Z",
                    #""concern":"C-7","participant":"P-7","category":"self-harm","severity":"critical","account":"Synthetic.","actionTaken":"Told the DSL.","dslInformed":true"#),
            cliLine("ConcernEscalated", "2025-03-10T13:00:00Z", #""concern":"C-7","to":"mental-health-team","reference":"MHT-1""#),
            cliLine("ConcernClosed", "2025-03-20T13:00:00Z", #""concern":"C-7","outcome":"Support in place.""#),
            cliLine("EventRetracted", "2025-03-20T14:00:00Z", #""event":"\#(cliID(9))","reason":"Survey entered twice""#),
        ]
        let path = try cli.file("all.jsonl", lines.joined(separator: "\n"))
        let result = try cli.run(["import", path])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("imported \(lines.count) event(s)"), "\(result)")
        #expect(try cli.run(["verify"]).status == 0)
    }
}

// MARK: - record and retract

@Test func recordPrintsThePositionAndTheNewEventsId() throws {
    try withDomainCLI { cli in
        #expect(try cli.run(["init"]).status == 0)
        let first = try cli.run(["record", "ParticipantRegistered", "--participant", "P-1", "--generation", "young-person",
                                 "--hub", "hackney", "--region", "london", "--birthYear", "2010", "--occurred-at", "2025-01-01T10:00:00Z"])
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("position 0"), "\(first)")
        let id = try #require(first.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
            .compactMap { UUID(uuidString: String($0)) }.first, "no event id in \(first)")
        let second = try cli.run(["record", "ConsentGiven", "--participant", "P-1", "--scope", "participation", "--givenBy", "self",
                                  "--competenceNote", "Judged able to decide (synthetic).", "--occurred-at", "2025-01-01T10:01:00Z", "--json"])
        #expect(second.status == 0, "\(second)")
        let json = try second.json()
        #expect(json["position"]?.intValue == 1)
        #expect(json["type"] == "ConsentGiven")
        let log = try cli.run(["log", "--json"])
        let events = try log.stdout.split(separator: "\n").map { try JSONParser.parse(String($0)).objectValue ?? [:] }
        #expect(events.count == 2)
        #expect(events.first?["id"]?.stringValue == id.uuidString.lowercased())
        #expect(events.first?["actor"]?.stringValue == osUserName())
        #expect(events.first?["data"]?.objectValue?["birthYear"]?.intValue == 2010)
        #expect(events.last?["id"] == json["id"])
    }
}

/// An attendance dated more than 12 hours before its session is refused (it was flagged before the session took
/// place, found by acceptance testing). A register imported again after its session's date was corrected (the
/// SessionHeld retracted and recorded again) changes nothing for the rows already in, and adds a late row at the
/// corrected time: the rows keep the time they were recorded with.
@Test func attendancesComeAtTheirSessionAndARegisterSurvivesTheSessionsCorrection() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let held = ["SessionHeld", "--session", "S-2", "--hub", "woking", "--region", "surrey", "--programme", "woking-2025-1", "--week", "2"]
        let first = try cli.run(["record"] + held + ["--occurred-at", "2025-03-10T10:00:00Z", "--json"])
        let sessionID = try #require(try first.json()["id"]?.stringValue, "\(first)")

        let before = try cli.verifyJSON()
        let early = try cli.run(["record", "AttendanceRecorded", "--participant", "P-2", "--session", "S-2", "--occurred-at", "2025-03-09T21:59:00Z"])
        #expect(early.status == 1 && early.stderr.contains("field occurredAt") && early.stderr.contains("more than 12 hours before session S-2 was held"), "\(early)")
        #expect(try cli.verifyJSON() == before)

        let register = try cli.file("s2.csv", "participant\nP-1\n")
        #expect(try cli.run(["import", "--register", register, "--session", "S-2"]).status == 0)
        #expect(try cli.run(["retract", sessionID, "--reason", "Held a day later"]).status == 0)
        let retracted = try cli.run(["import", "--register", register, "--session", "S-2"])
        #expect(retracted.status == 1 && retracted.stderr.contains("session S-2 was held and then retracted"), "\(retracted)")
        #expect(try cli.run(["record"] + held + ["--occurred-at", "2025-03-11T10:00:00Z"]).status == 0)
        let late = try cli.file("s2-late.csv", "participant\nP-1\nP-2\n")
        let again = try cli.run(["import", "--register", late, "--session", "S-2"])
        #expect(again.status == 0, "\(again)")
        let attended = { (p: String) throws -> String? in
            try cli.run(["log", "--json", "--stream", "participant-\(p)"]).stdout.split(separator: "\n")
                .compactMap { try JSONParser.parse(String($0)).objectValue }
                .last { $0["type"] == "AttendanceRecorded" && $0["data"]?.objectValue?["session"] == "S-2" }?["occurredAt"]?.stringValue
        }
        #expect(try attended("P-1") == "2025-03-10T10:00:00Z")
        #expect(try attended("P-2") == "2025-03-11T10:00:00Z")
    }
}

/// An attendance recorded without --occurred-at is dated when its session was held, as a register's rows are, so
/// the consent rules judge it against the consents of that time: a child who attended before the parent's consent
/// is flagged even when the attendance is typed in afterwards (dated "now" it passed unflagged, found by acceptance
/// testing). Other events are dated now.
@Test func anAttendanceTypedInLaterIsDatedAtItsSessionSoAConsentGapShows() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let now = Timestamp.now
        let sessionAt = now.adding(seconds: -3 * 86_400).rfc3339
        #expect(try cli.run(["record", "SessionHeld", "--session", "S-3", "--hub", "woking", "--region", "surrey", "--programme", "woking-2025-1",
                             "--week", "3", "--occurred-at", sessionAt]).status == 0)
        #expect(try cli.run(["record", "ConsentGiven", "--participant", "P-3", "--scope", "participation", "--givenBy", "parent-or-guardian",
                             "--occurred-at", now.adding(seconds: -2 * 86_400).rfc3339]).status == 0)
        let typedIn = try cli.run(["record", "AttendanceRecorded", "--participant", "P-3", "--session", "S-3"])
        #expect(typedIn.status == 0, "\(typedIn)")
        // Said at once, so the consent's real time can be put right.
        #expect(typedIn.stderr.contains("warning: P-3's AttendanceRecorded at session S-3, dated \(Timestamp(rfc3339: sessionAt)?.rfc3339 ?? "?"), is flagged participation-consent-missing (review lists it)"), "\(typedIn)")
        // A register says it for each flagged row: the facilitator's usual way in.
        #expect(try cli.run(["record", "SessionHeld", "--session", "S-4", "--hub", "woking", "--region", "surrey", "--programme", "woking-2025-1",
                             "--week", "4", "--occurred-at", now.adding(seconds: -86_400).rfc3339]).status == 0)
        #expect(try cli.run(["record", "ParticipantRegistered", "--participant", "P-9", "--generation", "child", "--hub", "woking", "--region", "surrey",
                             "--occurred-at", now.adding(seconds: -5 * 86_400).rfc3339]).status == 0)
        let register = try cli.file("s4.csv", "participant\nP-1\nP-3\nP-9\n")
        let rows = try cli.run(["import", "--register", register, "--session", "S-4"])
        #expect(rows.status == 0 && rows.stderr.contains("warning: P-9's AttendanceRecorded at session S-4"), "\(rows)")
        #expect(!rows.stderr.contains("P-1's") && !rows.stderr.contains("P-3's"), "P-1 is an adult, P-3's parent consented the day before: \(rows)")
        // Retried with nothing new written, it is said again (the first run's warning may have been lost).
        let retry = ["record", "AttendanceRecorded", "--participant", "P-9", "--session", "S-3", "--id", "6f1c2a4e-0000-4000-8000-000000000009"]
        #expect(try cli.run(retry).stderr.contains("warning: P-9's AttendanceRecorded at session S-3"))
        let again = try cli.run(retry)
        #expect(again.stdout.contains("already recorded") && again.stderr.contains("warning: P-9's AttendanceRecorded at session S-3"), "\(again)")
        // A session recorded ahead has not happened: an attendance typed in more than 12 hours before it is refused.
        #expect(try cli.run(["record", "SessionHeld", "--session", "S-5", "--hub", "woking", "--region", "surrey", "--programme", "woking-2025-1",
                             "--week", "5", "--occurred-at", now.adding(seconds: 20 * 3_600).rfc3339]).status == 0)
        let ahead = try cli.run(["record", "AttendanceRecorded", "--participant", "P-1", "--session", "S-5"])
        #expect(ahead.status == 1 && ahead.stderr.contains("more than 12 hours before session S-5"), "\(ahead)")
        let adult = try cli.run(["record", "AttendanceRecorded", "--participant", "P-1", "--session", "S-3"])
        #expect(adult.status == 0 && !adult.stderr.contains("flagged"), "\(adult)")
        #expect(try cli.run(["record", "SignpostGiven", "--participant", "P-3", "--service", "Synthetic advice", "--category", "other"]).status == 0)
        let events = try cli.run(["log", "--json", "--stream", "participant-P-3"]).stdout.split(separator: "\n")
            .compactMap { try JSONParser.parse(String($0)).objectValue }
        let attendance = events.last { $0["type"] == "AttendanceRecorded" && $0["data"]?.objectValue?["session"] == "S-3" }
        #expect(attendance?["occurredAt"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } == Timestamp(rfc3339: sessionAt), "\(events)")
        let signpost = events.last { $0["type"] == "SignpostGiven" }
        #expect((signpost?["occurredAt"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }).map { $0 > now.adding(seconds: -60) } == true, "a signpost is dated now")
        let review = try cli.run(["review", "--json"]).json()
        let flagged = review["flaggedAttendances"]?.arrayValue?.compactMap(\.objectValue) ?? []
        #expect(flagged.contains { $0["participant"] == "P-3" && $0["session"] == "S-3" }, "\(flagged)")
    }
}

@Test func recordRefusesAWrongEnumValueAndWritesNothing() throws {
    try withDomainCLI { cli in
        #expect(try cli.run(["init"]).status == 0)
        #expect(try cli.run(["record", "ParticipantRegistered", "--participant", "P-1", "--generation", "adult", "--hub", "woking",
                             "--region", "surrey", "--occurred-at", "2025-01-01T10:00:00Z"]).status == 0)
        let before = try cli.verifyJSON()
        let wrong = try cli.run(["record", "ParticipantRegistered", "--participant", "P-2", "--generation", "teenager", "--hub", "woking",
                                 "--region", "surrey", "--occurred-at", "2025-01-01T10:00:00Z"])
        #expect(wrong.status == 1, "\(wrong)")
        #expect(wrong.stderr.contains("field generation"), "\(wrong)")
        #expect(wrong.stderr.contains("teenager"), "\(wrong)")
        let duplicate = try cli.run(["record", "ParticipantRegistered", "--participant", "P-1", "--generation", "adult", "--hub", "woking",
                                     "--region", "surrey", "--occurred-at", "2025-01-01T10:00:00Z"])
        #expect(duplicate.status == 1, "\(duplicate)")
        #expect(duplicate.stderr.contains("field participant"), "\(duplicate)")
        let future = try cli.run(["record", "ConsentGiven", "--participant", "P-1", "--scope", "surveys", "--givenBy", "self",
                                  "--occurred-at", "2099-01-01T10:00:00Z"])
        #expect(future.status == 1, "\(future)")
        #expect(future.stderr.contains("field occurredAt"), "\(future)")
        let missing = try cli.run(["record", "ConsentGiven", "--participant", "P-1", "--scope", "surveys"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderr.contains("field givenBy"), "\(missing)")
        let badNumber = try cli.run(["record", "SessionHeld", "--session", "S-1", "--hub", "woking", "--region", "surrey",
                                     "--programme", "p", "--week", "three"])
        #expect(badNumber.status != 0, "\(badNumber)")
        #expect(badNumber.stderr.contains("week"), "\(badNumber)")
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func retractThenHistoryShowsTheEventRetractedWithTheReason() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let signpost = try cli.run(["record", "SignpostGiven", "--participant", "P-1", "--service", "Synthetic advice", "--category", "financial",
                                    "--occurred-at", "2025-03-03T12:00:00Z", "--json"])
        #expect(signpost.status == 0, "\(signpost)")
        let id = try #require(try signpost.json()["id"]?.stringValue)
        let retract = try cli.run(["retract", id, "--reason", "Entered against the wrong person"])
        #expect(retract.status == 0, "\(retract)")
        let history = try cli.run(["history", "P-1", "--purpose", "test", "--json"])
        #expect(history.status == 0, "\(history)")
        let json = try history.json()
        #expect(json["participant"] == "P-1")
        #expect(json["head"]?.objectValue?["position"]?.intValue != nil)
        let entries = (json["entries"]?.arrayValue ?? []).compactMap(\.objectValue)
        let entry = try #require(entries.first { $0["id"]?.stringValue == id })
        #expect(entry["retracted"] == .bool(true))
        #expect(entry["retraction"]?.objectValue?["reason"] == "Entered against the wrong person")
        #expect(entries.filter { $0["retracted"] == .bool(true) }.count == 1)
        // The text form shows it too.
        let text = try cli.run(["history", "P-1", "--purpose", "test"])
        #expect(text.stdout.contains("Entered against the wrong person"), "\(text)")
        // Retracting it again is refused.
        let before = try cli.verifyJSON()
        let twice = try cli.run(["retract", id, "--reason", "Again"])
        #expect(twice.status == 1, "\(twice)")
        #expect(twice.stderr.contains("field event"), "\(twice)")
        #expect(try cli.verifyJSON() == before)
        // A blank reason is a missing one: a usage error (exit 2), as for history's --purpose and erase's --reason.
        for blank in ["", "   "] {
            let noReason = try cli.run(["retract", id, "--reason", blank])
            #expect(noReason.status == 2 && noReason.stderr.contains("--reason TEXT is required"), "\(noReason)")
        }
        #expect(try cli.verifyJSON() == before)
    }
}

@Test func historyOfAnUnknownParticipantExits1() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let result = try cli.run(["history", "P-404", "--purpose", "test"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("P-404"), "\(result)")
        #expect(result.stdout.isEmpty)
    }
}

@Test func historyListsEntriesInTheOrderThingsHappened() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let json = try cli.run(["history", "P-2", "--purpose", "test", "--json"]).json()
        let entries = (json["entries"]?.arrayValue ?? []).compactMap(\.objectValue)
        // Registered 1 Mar 09:05; referral 2 Mar 08:00; S-1 3 Mar 10:00; attendance 10:05; survey 11:00.
        #expect(entries.map { $0["type"]?.stringValue ?? "" } == ["ParticipantRegistered", "ReferralReceived", "SessionHeld", "AttendanceRecorded", "SurveyCompleted"])
        #expect(entries.allSatisfy { $0["actor"]?.stringValue == osUserName() && $0["recordedAt"] != nil && $0["occurredAt"] != nil })
    }
}

// MARK: - audit, referrals, as-of, rebuild

@Test func auditClaimsExit1WhenAnyIsUnsupportedAnd0WhenAllAre() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        // One session; happier 1 of 2 surveys.
        let unsupported = try cli.file("claims.json", #"{"claims": [{"metric": "sessions", "op": ">=", "value": 1}, {"metric": "happierRate", "op": ">=", "value": 0.9}]}"#)
        let no = try cli.run(["audit", "--claims", unsupported])
        #expect(no.status == 1, "\(no)")
        #expect(no.stdout.contains("NOT SUPPORTED"), "\(no)")
        // The claim as written, and the figure in full: a whole number has no decimals (it read "1.0: computed 1.0000").
        #expect(no.stdout.contains("sessions >= 1: computed 1  SUPPORTED") && no.stdout.contains("happierRate >= 0.9: computed 0.5  NOT SUPPORTED"), "\(no)")
        let noJSON = try cli.run(["audit", "--claims", unsupported, "--json"])
        #expect(noJSON.status == 1)
        let verdicts = (try noJSON.json()["claims"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(verdicts.map { $0["supported"] } == [.bool(true), .bool(false)])
        #expect(verdicts.last?["computed"]?.doubleValue == 0.5)
        let supported = try cli.file("fine.json", #"{"claims": [{"metric": "sessions", "op": "==", "value": 1}, {"metric": "happierRate", "op": "<", "value": 0.6}]}"#)
        let yes = try cli.run(["audit", "--claims", supported])
        #expect(yes.status == 0, "\(yes)")
        #expect(yes.stdout.contains("SUPPORTED"))
        #expect(!yes.stdout.contains("NOT SUPPORTED"))
        // A claim about a figure the audit does not compute is a mistake in the file, named as such (not a verdict).
        let unknown = try cli.file("unknown.json", #"{"claims": [{"metric": "sessions", "op": ">=", "value": 0}, {"metric": "happierrate", "op": ">=", "value": 0}]}"#)
        let typo = try cli.run(["audit", "--claims", unknown])
        #expect(typo.status == 1, "\(typo)")
        #expect(typo.stderr.contains("\(unknown):1: field claims[1].metric: unknown metric 'happierrate' (metrics: sessions,"), "\(typo)")
        #expect(!typo.stdout.contains("SUPPORTED"), "\(typo)")
    }
}

@Test func anAuditPeriodThatEndsBeforeItStartsIsAUsageError() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let reversed = try cli.run(["audit", "--from", "2025-12-31", "--to", "2025-01-01"])
        #expect(reversed.status == 2, "\(reversed)")
        #expect(reversed.stderr.contains("--from 2025-12-31 is after --to 2025-01-01"), "\(reversed)")
        #expect(try cli.run(["audit", "--from", "2025-03-03", "--to", "2025-03-03"]).status == 0)
    }
}

/// `record --id` says a retry is safe: the same command run again (no --occurred-at, so "now" has moved on)
/// changes nothing and says so, instead of calling its own first try a different event.
@Test func recordRetriedWithTheSameIdAndNoTimeChangesNothing() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let id = "c0ffee00-0000-4000-8000-000000000001"
        let command = ["record", "SignpostGiven", "--participant", "P-1", "--service", "Synthetic advice", "--category", "financial", "--id", id]
        let first = try cli.run(command)
        #expect(first.status == 0, "\(first)")
        let head = try cli.verifyJSON()
        Thread.sleep(forTimeInterval: 0.05)
        let retry = try cli.run(command)
        #expect(retry.status == 0, "\(retry)")
        #expect(retry.stdout.contains("already recorded"), "\(retry)")
        #expect(try cli.verifyJSON() == head)
        // The same id with other content is still refused.
        let other = try cli.run(["record", "SignpostGiven", "--participant", "P-1", "--service", "Other advice", "--category", "financial", "--id", id])
        #expect(other.status == 1, "\(other)")
    }
}

@Test func theAuditPeriodIncludesBothEndDays() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        // S-1 was held on 2025-03-03 at 10:00.
        func sessions(_ extra: [String]) throws -> Int64? {
            let result = try cli.run(["audit", "--json"] + extra)
            #expect(result.status == 0, "\(result)")
            return cliMetric(try result.json(), "sessions")?["value"]?.intValue
        }
        #expect(try sessions(["--from", "2025-03-03", "--to", "2025-03-03"]) == 1)
        #expect(try sessions(["--to", "2025-03-02"]) == 0)
        #expect(try sessions(["--from", "2025-03-04"]) == 0)
        #expect(try sessions(["--from", "2025-03-03T10:00:00Z", "--to", "2025-03-03T10:00:00Z"]) == 1)
        let period = try cli.run(["audit", "--json", "--from", "2025-03-01", "--to", "2025-03-31"]).json()["period"]?.objectValue
        #expect(period?["from"] == "2025-03-01T00:00:00Z")
        #expect(period?["to"]?.stringValue?.hasPrefix("2025-03-31T23:59:59") == true)
    }
}

@Test func theAuditPrintsNoParticipantIdsOrFreeText() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        for output in [try cli.run(["audit"]).stdout, try cli.run(["audit", "--json"]).stdout] {
            #expect(!output.contains("P-1"))
            #expect(!output.contains("Synthetic"))
            #expect(!output.contains("Isolation"))
        }
    }
}

@Test func referralsAwaitingFirstAttendanceShowWholeDaysWaiting() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let more = try cli.file("more.jsonl", [
            cliLine("ParticipantRegistered", "2025-03-01T07:00:00Z", #""participant":"P-5","generation":"older-adult","hub":"woking","region":"surrey""#),
            cliLine("ReferralReceived", "2025-03-01T08:00:00Z",
                 #""referral":"R-2","participant":"P-5","source":"mental-health-team","referrer":"Synthetic team","reason":"Low mood","urgent":true"#),
        ].joined(separator: "\n"))
        #expect(try cli.run(["import", more]).status == 0)
        let result = try cli.run(["referrals", "--status", "awaiting-first-attendance", "--now", "2025-03-11T20:00:00Z", "--json"])
        #expect(result.status == 0, "\(result)")
        let json = try result.json()
        #expect(json["now"] == "2025-03-11T20:00:00Z")
        let referrals = (json["referrals"]?.arrayValue ?? []).compactMap(\.objectValue)
        // R-1: P-2 attended S-1 (3 Mar) after the referral (2 Mar): attended, so not listed. R-2: 1 Mar 08:00 → 11 Mar 20:00 = 10.5 days.
        #expect(referrals.map { $0["referral"]?.stringValue ?? "" } == ["R-2"])
        #expect(referrals.first?["daysWaiting"]?.intValue == 10)
        #expect(referrals.first?["status"] == "awaiting-first-attendance")
        #expect(referrals.first?["urgent"] == .bool(true))
        let byStatus = json["kpis"]?.objectValue?["byStatus"]?.objectValue
        #expect(byStatus?["attended"]?.intValue == 1)
        #expect(byStatus?["awaiting-first-attendance"]?.intValue == 1)
        #expect(json["head"]?.objectValue?["hash"]?.stringValue?.count == 64)
        let bad = try cli.run(["referrals", "--status", "lost"])
        #expect(bad.status != 0)
    }
}

/// As of a time to come, or a position past the log's end, is a slip: refused as a usage error rather than
/// answered with today's figures (and, for referrals, decades of waiting). As of today is fine.
@Test func asOfTheFutureOrBeyondTheLogsEndIsAUsageError() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let future = try cli.run(["audit", "--as-of", "2099-01-01"])
        #expect(future.status == 2 && future.stderr.contains("--as-of 2099-01-01 is in the future"), "\(future)")
        let head = try #require(try cli.run(["verify", "--json"]).json()["head"]?.objectValue?["position"]?.intValue)
        let beyond = try cli.run(["referrals", "--as-of", String(head + 1000)])
        #expect(beyond.status == 2 && beyond.stderr.contains("is beyond the log's last position, \(head)"), "\(beyond)")
        #expect(try cli.run(["audit", "--as-of", String(head)]).status == 0)
        // As of today (the end of today): answered, and days waiting counted to the clock, not to midnight.
        #expect(try cli.run(["record", "ReferralReceived", "--referral", "R-2", "--participant", "P-1", "--source", "gp", "--referrer", "Synthetic GP",
                             "--reason", "Synthetic", "--urgent", "false", "--occurred-at", "2025-03-05T08:00:00Z"]).status == 0)
        let today = String(Timestamp.now.rfc3339.prefix(10))
        let referrals = try cli.run(["referrals", "--as-of", today, "--json"])
        #expect(referrals.status == 0, "\(referrals)")
        let waiting = (try referrals.json()["referrals"]?.arrayValue ?? []).compactMap { $0.objectValue?["daysWaiting"]?.intValue }
        let received = try #require(Timestamp(rfc3339: "2025-03-05T08:00:00Z"))
        let expected = Int64((Timestamp.now.microseconds - received.microseconds) / 86_400_000_000)
        #expect(waiting == [expected], "\(waiting) vs \(expected)")
    }
}

@Test func asOfAPositionReproducesAnEarlierAuditAfterACorrection() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let earlier = try cli.run(["audit", "--json"])
        let earlierJSON = try earlier.json()
        let head = try #require(earlierJSON["head"]?.objectValue)
        let position = try #require(head["position"]?.intValue)
        #expect(cliMetric(earlierJSON, "participants")?["value"]?.intValue == 3)
        // A correction: P-2 was marked present in error (their survey answer goes first: it stands on the attendance).
        #expect(try cli.run(["retract", cliID(10), "--reason", "Marked present in error"]).status == 0)
        let retract = try cli.run(["retract", cliID(7), "--reason", "Marked present in error"])
        #expect(retract.status == 0, "\(retract)")
        let today = try cli.run(["audit", "--json"]).json()
        #expect(cliMetric(today, "participants")?["value"]?.intValue == 2)
        let asOf = try cli.run(["audit", "--as-of", String(position), "--json"])
        #expect(asOf.status == 0, "\(asOf)")
        let asOfJSON = try asOf.json()
        #expect(asOfJSON["metrics"] == earlierJSON["metrics"])
        #expect(asOfJSON["head"]?.objectValue == head)
        #expect(asOfJSON["asOf"] == .string(String(position)))
        // The chronology as of then shows the attendance not yet retracted.
        let history = try cli.run(["history", "P-2", "--purpose", "test", "--as-of", String(position), "--json"]).json()
        let attendance = (history["entries"]?.arrayValue ?? []).compactMap(\.objectValue).first { $0["id"]?.stringValue == cliID(7) }
        #expect(attendance?["retracted"] == .bool(false))
        #expect(try cli.run(["audit", "--as-of", "yesterday-ish"]).status == 2)
    }
}

@Test func rebuildThenEveryOutputIsIdentical() throws {
    try withDomainCLI { cli in
        _ = try cliImportBase(cli)
        let commands: [[String]] = [
            ["audit", "--json"], ["audit", "--json", "--from", "2025-03-01", "--to", "2025-03-31"],
            ["review", "--json", "--now", "2025-04-01T00:00:00Z"],
            ["referrals", "--json", "--now", "2025-04-01T00:00:00Z"],
            ["history", "P-1", "--purpose", "test", "--json"], ["history", "P-3", "--purpose", "test", "--json"],
        ]
        // Each history run records a view (RecordViewed), so the log's head moves between runs:
        // everything but the head must come out the same.
        func withoutHead(_ text: String) throws -> JSONValue {
            var object = try #require(try JSONParser.parse(text).objectValue)
            #expect(object["head"]?.objectValue?["position"] != nil)
            object["head"] = nil
            return .object(object)
        }
        let before = try commands.map { try cli.run($0).stdout }
        let rebuild = try cli.run(["rebuild"])
        #expect(rebuild.status == 0, "\(rebuild)")
        #expect(rebuild.stdout.contains("rebuilt"))
        let after = try commands.map { try cli.run($0).stdout }
        #expect(try after.map(withoutHead) == before.map(withoutHead))
        #expect(try cli.run(["rebuild", "audit"]).status == 0)
        #expect(try commands.map { try withoutHead(cli.run($0).stdout) } == before.map(withoutHead))
        #expect(try cli.run(["rebuild", "everything"]).status == 2)
        // The review of the child with the high concern, computed either way.
        let review = try JSONParser.parse(before[2]).objectValue
        #expect(review?["openConcerns"]?.arrayValue?.count == 1)
        #expect(review?["unescalatedHighConcerns"]?.arrayValue?.count == 1)
        let flagged = review?["flaggedAttendances"]?.arrayValue?.compactMap { $0.objectValue?["event"]?.stringValue }
        #expect(flagged == [cliID(8)])
        let flaggedSurveys = review?["flaggedSurveys"]?.arrayValue?.compactMap { $0.objectValue?["event"]?.stringValue }
        #expect(flaggedSurveys == [cliID(10)])
    }
}

// MARK: - participants whose streams share an index key

/// Two participant ids whose streams' names share the index's 64-bit key (FNV-1a; found with a
/// cycle-finding search): each one's history holds their own events only, a concern about one
/// never shows in the other's chronology, and a second import finds each one's stream as it is.
@Test func participantsWhoseStreamsShareAnIndexKeyEachSeeOnlyTheirOwnHistory() throws {
    let (a, b) = ("P-b8e9b7fe0596b35f", "P-ba75898a3cde628b")
    #expect(FNV1a.hash(Array(("participant-" + a).utf8)) == FNV1a.hash(Array(("participant-" + b).utf8)))
    try withDomainCLI { cli in
        #expect(try cli.run(["init"]).status == 0)
        let first = [
            cliLine("ParticipantRegistered", "2025-03-01T09:00:00Z", #""participant":"\#(a)","generation":"adult","hub":"woking","region":"surrey""#, id: cliID(1)),
            cliLine("ParticipantRegistered", "2025-03-01T09:05:00Z", #""participant":"\#(b)","generation":"adult","hub":"woking","region":"surrey""#, id: cliID(2)),
            cliLine("ConsentGiven", "2025-03-01T09:11:00Z", #""participant":"\#(a)","scope":"surveys","givenBy":"self""#, id: cliID(3)),
            cliLine("ConsentGiven", "2025-03-01T09:12:00Z", #""participant":"\#(b)","scope":"surveys","givenBy":"self""#, id: cliID(4)),
            // One event more for the first: the two streams' versions differ.
            cliLine("ConsentGiven", "2025-03-01T09:13:00Z", #""participant":"\#(a)","scope":"photography","givenBy":"self""#, id: cliID(11)),
            cliLine("SessionHeld", "2025-03-03T10:00:00Z", #""session":"S-1","hub":"woking","region":"surrey","programme":"woking-2025-1","week":1,"funder":"tnlcf""#, id: cliID(5)),
            cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"\#(a)","session":"S-1""#, id: cliID(6)),
            cliLine("AttendanceRecorded", "2025-03-03T10:05:00Z", #""participant":"\#(b)","session":"S-1""#, id: cliID(7)),
        ]
        let firstImport = try cli.run(["import", try cli.file("first.jsonl", first.joined(separator: "\n") + "\n")])
        #expect(firstImport.status == 0, "\(firstImport)")
        // A second process appends to both streams: it learns their tails from the index, which files them under one key.
        let second = [
            cliLine("ConcernRaised", "2025-03-03T12:00:00Z",
                    #""concern":"C-1","participant":"\#(a)","category":"neglect","severity":"high","account":"Synthetic account.","actionTaken":"Told the DSL.","dslInformed":true"#, id: cliID(8)),
            cliLine("SurveyCompleted", "2025-03-03T11:00:00Z", #""participant":"\#(b)","session":"S-1","happier":true,"moreConnected":true"#, id: cliID(9)),
            cliLine("ConsentWithdrawn", "2025-03-04T09:00:00Z", #""participant":"\#(a)","scope":"surveys""#, id: cliID(10)),
        ]
        let secondImport = try cli.run(["import", try cli.file("second.jsonl", second.joined(separator: "\n") + "\n")])
        #expect(secondImport.status == 0, "\(secondImport)")
        let verify = try cli.run(["verify"])
        #expect(verify.status == 0, "\(verify)")
        func ids(_ participant: String) throws -> Set<String> {
            let history = try cli.run(["history", participant, "--purpose", "test", "--json"])
            #expect(history.status == 0, "\(history)")
            let entries = (try history.json()["entries"]?.arrayValue ?? []).compactMap(\.objectValue)
            return Set(entries.filter { $0["type"]?.stringValue != "SessionHeld" }.compactMap { $0["id"]?.stringValue })
        }
        #expect(try ids(a) == Set([1, 3, 11, 6, 8, 10].map(cliID)))
        #expect(try ids(b) == Set([2, 4, 7, 9].map(cliID)))
    }
}
