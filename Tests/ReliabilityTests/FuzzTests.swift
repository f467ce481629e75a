#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventStore
import Foundation
import TestSupport
import Testing

extension Reliability {
    /// Scenario 5: bad input. Mutated import files (HUBLEDGER_FUZZ_CASES lines, default 10,000, fixed seed),
    /// random command lines for every command, and mutated claims files for `audit --claims`. Every case ends
    /// in a clean import or a clear error naming the line; nothing traps or hangs; a refused file leaves
    /// the head unchanged.
    @Suite(.serialized)
    struct FuzzTests {
        // MARK: Import cases

        enum Kind: String { case valid, parseBad, domainBad, unknown }

        struct Case {
            var bytes: [UInt8]
            var kind: Kind
            var label: String
            /// Only meaningful with the lines before it (e.g. a repeated id).
            var batchOnly = false
        }

        /// Makes valid lines against the base history (sessions S-0001…, people B-0001…) and bad ones from them.
        struct Cases {
            var rng: Rng
            let people: Int
            let sessions: Int
            var fresh = 0
            var usedPairs = Set<String>()
            var batchIDs: [String] = []

            static let badDates = ["2024-02-30T10:00:00Z", "2023-02-29T10:00:00Z", "2024-13-01T10:00:00Z", "2024-04-31T10:00:00Z",
                                   "2024-01-01T25:00:00Z", "2024-01-01T10:60:00Z", "2024-01-01T24:00:00Z", "2024-00-10T10:00:00Z",
                                   "2024-02-30", "2024-1-1", "not a date", "", "yesterday", "2024-06-01T12:00:00+25:00",
                                   "2024-06-01T12:00:00", "2024-06-01T12:00:00.Z", "3024-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
            static let badUTF8: [[UInt8]] = [[0xFF], [0xC0, 0xAF], [0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFE, 0xFE], [0xC3]]

            mutating func newBatch() { usedPairs = []; batchIDs = [] }

            mutating func name(_ prefix: String) -> String { fresh += 1; return "\(prefix)-\(fresh)" }

            /// A line that is valid on its own against the base history (and alongside the other valid lines of its batch).
            mutating func valid() -> String {
                let id = rng.uuid()
                batchIDs.append(id)
                switch rng.below(4) {
                case 0:
                    return Synth.session(name("SF"), "2024-03-01T10:00:00Z", id: id, week: 1 + rng.below(10))
                case 1:
                    return Synth.referral(name("RF"), String(format: "B-%04d", 1 + rng.below(people)), "2024-03-02T10:00:00Z", id: id, urgent: rng.chance(0.3))
                case 2:
                    for _ in 0..<5 {
                        let p = String(format: "B-%04d", 1 + rng.below(people)), s = String(format: "S-%04d", 1 + rng.below(sessions))
                        if usedPairs.insert(p + "@" + s).inserted { return Synth.attended(p, s, "2024-02-01T10:05:00Z", id: id) }
                    }
                    fallthrough
                default:
                    return Synth.registered(name("F"), "2024-03-01T09:00:00Z", id: id, generation: rng.pick(["adult", "child", "young-person", "older-adult"]))
                }
            }

            func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

            /// Inserts `insert` right after the first occurrence of `marker`.
            func inserting(_ insert: [UInt8], after marker: String, in line: [UInt8]) -> [UInt8] {
                let m = Array(marker.utf8)
                guard let at = (0...(line.count - m.count)).first(where: { Array(line[$0..<($0 + m.count)]) == m }) else { return line + insert }
                var out = line
                out.insert(contentsOf: insert, at: at + m.count)
                return out
            }

            /// Each of these is refused by the reader of the file itself (JSON, shape, size), whatever the log holds.
            mutating func parseBad() -> Case {
                let line = bytes(valid())
                _ = batchIDs.popLast()
                switch rng.below(17) {
                case 0:
                    return Case(bytes: Array(line.prefix(1 + rng.below(line.count - 1))), kind: .parseBad, label: "truncated line")
                case 1:
                    return Case(bytes: inserting(rng.pick(Self.badUTF8), after: #""type":""#, in: line), kind: .parseBad, label: "invalid UTF-8 in a string")
                case 2:
                    return Case(bytes: inserting([0], after: #""type":""#, in: line), kind: .parseBad, label: "NUL byte in a string")
                case 3:
                    return Case(bytes: inserting([0], after: "{", in: line), kind: .parseBad, label: "NUL byte between tokens")
                case 4:
                    let c = UInt8(rng.pick([1, 2, 7, 8, 9, 11, 12, 13, 27, 31]))
                    return Case(bytes: inserting([c], after: #""occurredAt":""#, in: line), kind: .parseBad, label: "raw control character in a string")
                case 5:
                    let depth = 70 + rng.below(3_000)
                    let (open, close) = rng.chance(0.5) ? ("[", "]") : ("{\"a\":", "}")
                    let deep = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
                    return Case(bytes: inserting(bytes("\"deep\":" + deep + ","), after: #""data":{"#, in: line), kind: .parseBad, label: "nesting \(depth) deep")
                case 6:
                    let top = rng.pick(["[]", "\"text\"", "42", "null", "true", "[" + String(decoding: line, as: UTF8.self) + "]", "{}"])
                    return Case(bytes: bytes(top), kind: .parseBad, label: "not an event object: \(top.prefix(20))")
                case 7:
                    let (key, value) = rng.pick([("type", "5"), ("type", "null"), ("type", "[]"), ("occurredAt", "20240101"), ("occurredAt", "true"),
                                                 ("data", "[]"), ("data", "\"x\""), ("data", "null"), ("data", "5"), ("id", "5"), ("id", "\"not-a-uuid\""),
                                                 ("id", "\"\""), ("id", "\"\(rng.uuid())x\"")])
                    var o = (try? JSONParser.parse(line).objectValue) ?? JSONObject()
                    o[key] = (try? JSONParser.parse(value)) ?? .null
                    return Case(bytes: bytes(JSONValue.object(o).jsonText), kind: .parseBad, label: "\(key) is \(value.prefix(12))")
                case 8:
                    var o = (try? JSONParser.parse(line).objectValue) ?? JSONObject()
                    o[rng.pick(["extra", "Type", "ID", "occurred_at", "stream"])] = 1
                    return Case(bytes: bytes(JSONValue.object(o).jsonText), kind: .parseBad, label: "unknown top-level key")
                case 9:
                    let o = (try? JSONParser.parse(line).objectValue) ?? JSONObject()
                    let drop = rng.pick(["type", "occurredAt", "data"])
                    return Case(bytes: bytes(JSONValue.object(JSONObject(o.pairs.filter { $0.key != drop })).jsonText), kind: .parseBad, label: "no \(drop)")
                case 10:
                    var junk = (0..<(1 + rng.below(300))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }.map { $0 == 0x0A ? 0x20 : $0 }
                    junk.append(UInt8(ascii: "~"))
                    junk.shuffle(using: &rng)
                    return Case(bytes: junk, kind: .parseBad, label: "random bytes")
                case 11:
                    return Case(bytes: inserting(bytes("\"n\":" + rng.pick(["1e999", "-1e400", "123e45678"]) + ","), after: #""data":{"#, in: line),
                                kind: .parseBad, label: "number out of range")
                case 12:
                    return Case(bytes: inserting(bytes(rng.pick(["\\x", "\\ud800", "\\u12", "\\udc00\\ud800", "\\"])), after: #""type":""#, in: line),
                                kind: .parseBad, label: "bad escape")
                case 13:
                    return Case(bytes: line + bytes(rng.pick([" x", "}", ",", "{}", " null"])), kind: .parseBad, label: "text after the object")
                case 14:
                    // (At a file's start a byte-order mark is skipped, as spreadsheets write one; inside a line it is bad.)
                    return Case(bytes: inserting([0xEF, 0xBB, 0xBF], after: "{", in: line), kind: .parseBad, label: "byte-order mark")
                case 15:
                    // Over the 1,000,000-byte line limit (the 10 MB line is added once, separately).
                    let size = 1_000_001 + rng.below(400_000)
                    return Case(bytes: inserting(bytes("\"huge\":\"" + String(repeating: "A", count: size) + "\","), after: #""data":{"#, in: line),
                                kind: .parseBad, label: "a \(size / 1000) KB line")
                default:
                    return Case(bytes: inserting([UInt8(ascii: "'")], after: "{", in: line), kind: .parseBad, label: "single quote")
                }
            }

            /// Valid JSON of the right shape that the hub's rules refuse.
            mutating func domainBad() -> Case {
                let id = rng.uuid()
                func registration(_ change: (inout JSONObject) -> Void) -> [UInt8] {
                    var data: JSONObject = ["participant": .string(name("FD")), "generation": "adult", "birthYear": 1970, "hub": "Synthetic hub", "region": "london"]
                    change(&data)
                    return bytes(Synth.line("ParticipantRegistered", "2024-03-01T09:00:00Z", id: id, data))
                }
                switch rng.below(12) {
                case 0:
                    let date = rng.pick(Self.badDates)
                    return Case(bytes: bytes(Synth.registered(name("FD"), date, id: id)), kind: .domainBad, label: "occurredAt \(date)")
                case 1:
                    let type = rng.pick(["ParticipantRegistred", "", "participantregistered", "AlertRaised", "ThingHappened"])
                    return Case(bytes: bytes(Synth.line(type, "2024-03-01T09:00:00Z", id: id, ["participant": "X"])), kind: .domainBad, label: "type '\(type)'")
                case 2:
                    return Case(bytes: registration { $0["nickname"] = "Synthetic" }, kind: .domainBad, label: "unknown data field")
                case 3:
                    let drop = rng.pick(["participant", "generation", "hub", "region"])
                    return Case(bytes: registration { d in d = JSONObject(d.pairs.filter { $0.key != drop }) }, kind: .domainBad, label: "no \(drop)")
                case 4:
                    let (key, value): (String, JSONValue) = rng.pick([("birthYear", "1970"), ("birthYear", .double(1970.5)), ("birthYear", 1899), ("birthYear", true),
                                                                      ("generation", 5), ("generation", "toddler"), ("region", "mars"), ("hub", .array([])),
                                                                      ("hub", .object(JSONObject())), ("participant", .null)])
                    return Case(bytes: registration { $0[key] = value }, kind: .domainBad, label: "\(key) = \(value.jsonText.prefix(10))")
                case 5:
                    let size = 10_001 + rng.below(400_000)
                    return Case(bytes: registration { $0["hub"] = .string(String(repeating: "h", count: size)) }, kind: .domainBad, label: "hub of \(size) bytes")
                case 6:
                    let bad = rng.pick(["", "P 1", "-P", String(repeating: "p", count: 65 + rng.below(1000)), "P\u{0}x", "Ω-1", "P/1", "   "])
                    return Case(bytes: registration { $0["participant"] = .string(bad) }, kind: .domainBad, label: "participant id '\(bad.prefix(10))'")
                case 7:
                    let s = rng.chance(0.5)
                    return Case(bytes: bytes(Synth.attended(s ? "B-0001" : "NOBODY-\(fresh)", s ? "NO-SESSION" : "S-0001", "2024-02-01T10:05:00Z", id: id)),
                                kind: .domainBad, label: "unknown reference")
                case 8:
                    return Case(bytes: bytes(Synth.registered(String(format: "B-%04d", 1 + rng.below(people)), "2024-03-01T09:00:00Z", id: id)),
                                kind: .domainBad, label: "registered twice")
                case 9:
                    if let earlier = batchIDs.last {
                        return Case(bytes: bytes(Synth.registered(name("FD"), "2024-03-01T09:00:00Z", id: earlier)), kind: .domainBad,
                                    label: "id of an earlier line", batchOnly: true)
                    }
                    return Case(bytes: registration { $0["hub"] = "   " }, kind: .domainBad, label: "blank hub")
                case 10:
                    return Case(bytes: bytes(Synth.line("EventRetracted", "2024-03-01T09:00:00Z", id: id, ["event": .string(rng.uuid()), "reason": "Synthetic"])),
                                kind: .domainBad, label: "retraction of an event not in the log")
                default:
                    let week = rng.pick([0, 11, -1, 1_000_000])
                    return Case(bytes: bytes(Synth.line("SessionHeld", "2024-03-01T10:00:00Z", id: id,
                                                        ["session": .string(name("SD")), "hub": "Synthetic hub", "region": "london", "programme": "SYN", "week": .int(Int64(week))])),
                                kind: .domainBad, label: "week \(week)")
                }
            }

            /// A valid line with random byte-level damage: may still be valid, or bad in any way.
            mutating func unknown() -> Case {
                var line = bytes(valid())
                _ = batchIDs.popLast()
                for _ in 0..<(1 + rng.below(4)) where !line.isEmpty {
                    let i = rng.below(line.count)
                    switch rng.below(7) {
                    case 0: line[i] ^= UInt8(1 << rng.below(8))
                    case 1: line[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 2: line.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    case 3: line.remove(at: i)
                    case 4: let j = min(line.count, i + 1 + rng.below(20)); line.insert(contentsOf: Array(line[i..<j]), at: i)
                    case 5: line.removeSubrange(i..<min(line.count, i + 1 + rng.below(20)))
                    default: if i + 1 < line.count { line.swapAt(i, i + 1) }
                    }
                }
                return Case(bytes: line.map { $0 == 0x0A ? 0x20 : $0 }, kind: .unknown, label: "random mutation")
            }
        }

        /// Line numbers named as `PATH:N:` at the start of stderr lines.
        static func namedLines(_ stderr: String, path: String) -> [Int] {
            stderr.split(separator: "\n").compactMap { line -> Int? in
                guard line.hasPrefix(path + ":") else { return nil }
                return Int(line.dropFirst(path.count + 1).prefix { $0.isNumber })
            }
        }

        @Test func mutatedImportFilesEndInACleanImportOrAnErrorNamingTheLine() throws {
            let total = max(100, Knobs.fuzzCases)
            let seed = Knobs.seed
            print("[reliability] import fuzz: \(total) cases, seed \(seed)")
            try withHub { hub in
                var data = Rng(seed, stream: 701)
                let people = 20, sessions = 10
                let pristine = try makeStore(hub, "fuzz-pristine", lines: Synth.base(sessions: sessions, people: people, overdue: 3, rng: &data))
                let store = hub.path("fuzz-import")
                try hub.copyStore(pristine, to: store)
                let pristineHead = try #require(try hub.expectVerified(store, "the fuzz store"))
                let libraryHead = try EventLog(path: store).head()
                var cases = Cases(rng: Rng(seed, stream: 702), people: people, sessions: sessions)
                var rng = Rng(seed, stream: 703)

                var done = 0, batches = 0, singles = 0, acceptedSingles = 0, trapped = 0
                var byLabel: [String: Int] = [:]
                var tenMegabyteLineDone = false

                /// Runs one file; checks exit, the lines named, and the head.
                func check(_ lines: [Case], name: String, batch: Bool) throws {
                    let path = hub.path(name)
                    var bytes: [UInt8] = []
                    for c in lines { bytes += c.bytes; bytes.append(0x0A) }
                    try Data(bytes).write(to: URL(fileURLWithPath: path))
                    defer { unlink(path) }
                    let result: Outcome
                    do { result = try hub.run(["import", path], store: store, timeout: 120) } catch {
                        Issue.record("import hung on \(name) (\(lines.map(\.label).prefix(5))…): \(error)")
                        return
                    }
                    if result.trapped { trapped += 1 }
                    #expect(!result.trapped && (result.status == 0 || result.status == 1),
                            "import of \(name) ended with \(result.signal.map { "signal \($0)" } ?? "exit \(result.status ?? -1)") (labels \(Set(lines.map(\.label)).sorted().prefix(8))): \(result)")
                    let named = Set(Self.namedLines(result.stderr, path: path))
                    #expect(named.allSatisfy { (1...lines.count).contains($0) }, "\(name): a line number out of range: \(named.sorted().prefix(10))")
                    let kinds = Set(lines.map(\.kind))
                    let mustRefuse = kinds.contains(.parseBad) || kinds.contains(.domainBad)
                    if mustRefuse { #expect(result.status == 1, "\(name): a file with known-bad lines was accepted: \(result)") }
                    if result.status == 1 {
                        #expect(!named.isEmpty, "\(name): refused without naming a line as \(path):LINE: — \(result.stderr.prefix(500))")
                        #expect(result.stderr.contains("nothing was written"), "\(name): \(result.stderr.suffix(300))")
                        // Parse-level problems stop the file before the rules run, so domain problems are named only without them.
                        let expectedNamed: Kind = kinds.contains(.parseBad) ? .parseBad : .domainBad
                        for (i, c) in lines.enumerated() {
                            if c.kind == expectedNamed && !named.contains(i + 1) {
                                Issue.record("\(name): line \(i + 1) (\(c.label)) was not named: \(String(decoding: c.bytes.prefix(160), as: UTF8.self))")
                            }
                            if c.kind == .valid && named.contains(i + 1) {
                                Issue.record("\(name): valid line \(i + 1) was named: \(result.stderr.split(separator: "\n").first { $0.hasPrefix("\(path):\(i + 1):") } ?? "")")
                            }
                        }
                    }
                    if result.succeeded {
                        // A clean import: the store moved on; start again from the pristine copy.
                        acceptedSingles += batch ? 0 : 1
                        try hub.expectVerified(store, "after \(name) was imported")
                        try hub.copyStore(pristine, to: store)
                    } else if batch || singles % 10 == 0 {
                        let v = try hub.verify(store)
                        #expect(v.ok && v.head == pristineHead, "\(name): the refused file moved the head to \(v.head ?? "-"): \(v.outcome)")
                    } else {
                        #expect(try EventLog(path: store).head() == libraryHead, "\(name): the refused file moved the head")
                    }
                }

                while done < total {
                    batches += 1
                    cases.newBatch()
                    let domainBatch = batches % 3 == 0
                    var lines: [Case] = []
                    let size = min(250, max(1, total - done))
                    for _ in 0..<size {
                        let roll = rng.unit()
                        let c: Case
                        if domainBatch {
                            c = roll < 0.65 ? cases.domainBad() : Case(bytes: Array(cases.valid().utf8), kind: .valid, label: "valid")
                        } else {
                            c = roll < 0.45 ? cases.parseBad() : roll < 0.8 ? cases.unknown() : Case(bytes: Array(cases.valid().utf8), kind: .valid, label: "valid")
                        }
                        lines.append(c)
                        byLabel[String(c.label.prefix { !$0.isNumber }).trimmingCharacters(in: .whitespaces), default: 0] += 1
                    }
                    if !domainBatch && !tenMegabyteLineDone {
                        // One 10 MB line, in a batch and on its own.
                        tenMegabyteLineDone = true
                        let big = Case(bytes: Array(Synth.registered("TEN-MB", "2024-03-01T09:00:00Z", id: nil).utf8.dropLast(2))
                                       + Array((",\"x\":\"" + String(repeating: "M", count: 10 << 20) + "\"}}").utf8), kind: .parseBad, label: "a 10 MB line")
                        lines.insert(big, at: rng.below(lines.count))
                        try check([big], name: "fuzz-10mb.jsonl", batch: false)
                        singles += 1
                        done += 1
                    }
                    try check(lines, name: "fuzz-batch-\(batches).jsonl", batch: true)
                    done += lines.count
                    // A sample of the cases again, each in a file of its own.
                    for c in lines where c.kind != .valid && !c.batchOnly && c.bytes.count < 2_000_000 && rng.chance(1.0 / 30) {
                        singles += 1
                        try check([c], name: "fuzz-single-\(singles).jsonl", batch: false)
                        done += 1
                    }
                }
                print("[reliability] import fuzz: \(done) cases in \(batches) batch files and \(singles) single-line files (\(acceptedSingles) mutated lines imported cleanly, \(trapped) traps); seed \(seed)\n  " + byLabel.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
            }
        }

        // MARK: Command lines

        /// Each command's options from its own --help: (name, takes a value).
        static func options(_ hub: Hub, _ command: String) throws -> [(String, Bool)] {
            let help = try hub.run([command, "--help"], store: nil)
            return help.stdout.split(separator: "\n").compactMap { line -> (String, Bool)? in
                guard line.hasPrefix("  --") else { return nil }
                // "  --name VALUE   help" takes a value; "  --flag         help" does not (help text follows two or more spaces).
                let rest = line.dropFirst(4)
                let name = String(rest.prefix { $0 != " " && $0 != "=" })
                let after = rest.dropFirst(name.count)
                let takesValue = after.hasPrefix(" ") && !after.hasPrefix("  ") && after.count > 1
                return name.isEmpty ? nil : (name, takesValue)
            }
        }

        @Test func randomCommandLinesExitZeroOneOrTwoAndNeverCrash() throws {
            let total = max(60, Knobs.fuzzCases / 25)
            let seed = Knobs.seed
            var rng = Rng(seed, stream: 710)
            print("[reliability] argv fuzz: \(total) random command lines, seed \(seed)")
            try withHub { hub in
                var data = Rng(seed, stream: 711)
                let store = try makeStore(hub, "argv", lines: Synth.base(sessions: 5, people: 8, overdue: 3, rng: &data))
                let importFile = try hub.write("argv-import.jsonl", lines: [Synth.registered("ARGV-1", "2024-03-01T09:00:00Z", id: data.uuid())])
                let claimsFile = try hub.write("argv-claims.json", Array(#"{"claims":[{"metric":"sessions","op":">=","value":1}]}"#.utf8))
                let register = try hub.write("argv-register.csv", Array("participant,happier,more_connected\nB-0001,yes,no\n".utf8))

                let top = try hub.run(["--help"], store: nil)
                var commands: [String] = []
                var inCommands = false
                for line in top.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("Commands:") { inCommands = true; continue }
                    if inCommands {
                        guard line.hasPrefix("  "), let name = line.split(separator: " ").first else { break }
                        commands.append(String(name))
                    }
                }
                try #require(commands.count >= 10, "could not read the commands from --help: \(top)")
                // Never run: options that keep a process running (or reach the network), and `demo`'s generator.
                let endless: Set<String> = ["follow", "webhook", "store", "participants"]
                commands.removeAll { $0 == "demo" }
                var optionsOf: [String: [(String, Bool)]] = [:]
                for c in commands { optionsOf[c] = try Self.options(hub, c).filter { !endless.contains($0.0) } }
                let allOptions = optionsOf.values.flatMap { $0 }

                let values: [String] = ["", "0", "1", "-1", "42", "99999999999999999999", "1e400", "NaN", "-0", "0x10", "2024-02-30", "2024-06-01T12:00:00Z",
                                        "2024-06-01", "1999-12-31T23:59:60Z", "P-0001", "B-0001", "S-0001", "R-OD000", "no-stream", "any", "exists",
                                        "true", "false", "yes", "30s", "0s", "-5m", "1h", "1e9h", "ParticipantRegistered", "AttendanceRecorded",
                                        "EventRetracted", "AlertRaised", "Bogus", "not-a-uuid", "0:" + String(repeating: "0", count: 64),
                                        "5:" + String(repeating: "f", count: 64), "3:abc", String(repeating: "A", count: 100_000), "é😀\u{202E}",
                                        "--", "-", "--bogus", "--json=yes", "--=", "---", "nope/../nope", "w", importFile, claimsFile, register, "cloudevents",
                                        "urn:x", "participation", "adult", "london", "Synthetic hub", "\u{7F}", " ", "\t", "🙂"]
                func value() -> String { rng.chance(0.1) ? rng.uuid() : rng.pick(values) }

                // Fixed cases first: store paths relative to the working directory, including one-character ones.
                // (Only when children start in the scratch directory, so that nothing lands in the working directory.)
                var lines: [[String]] = !canSpawnInAWorkingDirectory ? [] : [
                    ["init", "--store", "w"], ["init", "--store", "v/"], ["init", "--store", "ab"], ["init", "--store", "./u"],
                    ["verify", "--store", "q"], ["--store", "y", "verify"], ["--store=z", "log"], ["status", "--store", "t"]]
                // What each command expects in place of positionals, so that many lines get past the parser.
                let positionals: [String: () -> String] = [
                    "record": { rng.pick(["ParticipantRegistered", "AttendanceRecorded", "ConsentGiven", "ReferralReceived", "SessionHeld",
                                          "ConcernRaised", "EventRetracted", "SurveyCompleted", "Bogus"]) },
                    "import": { rng.pick([importFile, "-", register, claimsFile]) },
                    "retract": { rng.uuid() },
                    "history": { rng.pick(["B-0001", "B-0002", "P-0001", ""]) },
                    "rebuild": { rng.pick(["audit", "referrals", "review", "chronology", "nope"]) },
                ]
                let fields = ["participant", "session", "generation", "hub", "region", "birthYear", "scope", "givenBy", "referral", "source",
                              "referrer", "reason", "urgent", "week", "programme", "concern", "severity", "category", "to", "outcome", "event",
                              "channel", "service", "happier", "moreConnected", "dslInformed", "account", "actionTaken", "funder"]
                while lines.count < total {
                    let command = rng.pick(commands)
                    var argv = [command]
                    if command == "watch" { argv.append("--once") }
                    if let positional = positionals[command], rng.chance(0.8) { argv.append(positional()) }
                    for _ in 0..<rng.below(6) {
                        let roll = rng.unit()
                        if roll < 0.6, let (name, takesValue) = optionsOf[command].flatMap({ $0.isEmpty ? nil : rng.pick($0) }) {
                            if takesValue && rng.chance(0.3) { argv.append("--\(name)=\(value())") } else {
                                argv.append("--\(name)")
                                if takesValue && rng.chance(0.95) { argv.append(value()) }
                            }
                        } else if roll < 0.75 && command == "record" {
                            argv += ["--" + rng.pick(fields), value()]
                        } else if roll < 0.82, !allOptions.isEmpty {
                            argv.append("--" + rng.pick(allOptions).0)
                        } else {
                            argv.append(value())
                        }
                    }
                    lines.append(argv)
                }
                var byStatus: [String: Int] = [:]
                for argv in lines {
                    let result: Outcome
                    do { result = try hub.run(argv, store: store, timeout: 60) } catch {
                        Issue.record("hubledger \(argv.map { $0.prefix(40) }.joined(separator: " ")) hung: \(error)")
                        continue
                    }
                    byStatus[result.signal.map { "signal \($0)" } ?? "exit \(result.status ?? -1)", default: 0] += 1
                    #expect(!result.trapped && [0, 1, 2].contains(result.status ?? -1), "\(result)")
                    if result.status == 2 { #expect(!result.stderr.isEmpty, "a usage error without a message: \(result)") }
                }
                try hub.expectVerified(store, "after the command-line fuzz")
                print("[reliability] argv fuzz: \(lines.count) command lines over \(commands.count) commands: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ")); seed \(seed)")
            }
        }

        // MARK: Claims files

        @Test func mutatedClaimsFilesAreCheckedOrRefusedNamingTheFile() throws {
            let total = max(40, Knobs.fuzzCases / 100)
            let seed = Knobs.seed
            var rng = Rng(seed, stream: 720)
            print("[reliability] claims fuzz: \(total) claims files, seed \(seed)")
            try withHub { hub in
                var data = Rng(seed, stream: 721)
                let store = try makeStore(hub, "claims", lines: Synth.base(sessions: 6, people: 10, overdue: 2, rng: &data))
                let audit = try hub.run(["audit", "--json"], store: store)
                let metrics = try #require(try JSONParser.parse(audit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue?["metrics"]?.objectValue?.keys)
                try #require(!metrics.isEmpty, "\(audit)")
                let ops = [">=", "<=", "==", ">", "<"]

                func claims(_ count: Int) -> JSONObject {
                    ["claims": .array((0..<count).map { _ in
                        ["metric": .string(rng.pick(metrics)), "op": .string(rng.pick(ops)), "value": .double(Double(rng.below(2000)) / 10)]
                    })]
                }
                var byStatus: [String: Int] = [:]
                for n in 0..<total {
                    let base = claims(1 + rng.below(4))
                    var text = Array(JSONValue.object(base).jsonText.utf8)
                    var knownBad = true
                    var label: String
                    switch rng.below(14) {
                    case 0: knownBad = false; label = "valid"
                    case 1: text = Array(text.prefix(1 + rng.below(text.count - 1))); label = "truncated"
                    case 2:
                        let (key, value) = rng.pick([("metric", "5"), ("op", "\"=>\""), ("op", "null"), ("value", "\"0.5\""), ("value", "true"), ("metric", "[]")])
                        let s = JSONValue.object(base).jsonText.replacingOccurrences(of: "\"\(key)\":", with: "\"\(key)\":\(value),\"was\":")
                        text = Array(s.utf8); label = "\(key) is \(value)"
                    case 3: text = Array(rng.pick(["{\"claims\":{}}", "{\"claims\":\"x\"}", "{\"claims\":null}", "{\"claims\":[5]}", "[]", "{}", "null", "{\"claims\":[{}]}"]).utf8); label = "wrong shape"
                    case 4: text = Array("{\"claims\":[{\"metric\":\"sessions\",\"op\":\">=\",\"value\":\(rng.pick(["1e999", "-1e400", "123e4567"]))}]}".utf8); label = "number out of range"
                    case 5:
                        let d = 70 + rng.below(5000)
                        text = Array(("{\"claims\":" + String(repeating: "[", count: d) + String(repeating: "]", count: d) + "}").utf8); label = "nesting \(d) deep"
                    case 6: text.insert(contentsOf: rng.pick(Cases.badUTF8), at: 3); label = "invalid UTF-8"
                    case 7: text.insert(0, at: 1 + rng.below(text.count - 1)); label = "NUL byte"
                    case 8: text = (0..<(1 + rng.below(500))).map { _ in UInt8(truncatingIfNeeded: rng.next()) } + [UInt8(ascii: "~")]; label = "random bytes"
                    case 9: text = []; label = "empty file"
                    case 10: knownBad = false; text = [0xEF, 0xBB, 0xBF] + text; label = "byte-order mark (skipped, as in imports)"
                    case 11:
                        knownBad = false; label = "unknown metric / huge values (valid JSON)"
                        text = Array("{\"claims\":[{\"metric\":\"\(rng.pick(["nope", String(repeating: "m", count: 2_000_000), "é😀"]))\",\"op\":\"==\",\"value\":\(rng.pick(["1e308", "-1e308", "0", "5e-324"]))}]}".utf8)
                    case 12:
                        knownBad = false; label = "random mutation"
                        for _ in 0..<(1 + rng.below(4)) where !text.isEmpty { text[rng.below(text.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    default:
                        let path = hub.path("no-such-claims-\(n).json")
                        let r = try hub.run(["audit", "--claims", path], store: store)
                        #expect(r.status == 1 && r.stderr.contains("cannot read claims file"), "\(r)")
                        byStatus["exit \(r.status ?? -1)", default: 0] += 1
                        continue
                    }
                    let path = try hub.write("claims-\(n).json", text)
                    let argv = ["audit", "--claims", path] + (rng.chance(0.5) ? ["--json"] : [])
                    let result: Outcome
                    do { result = try hub.run(argv, store: store, timeout: 60) } catch {
                        Issue.record("audit hung on a claims file (\(label)): \(error)")
                        continue
                    }
                    byStatus[result.signal.map { "signal \($0)" } ?? "exit \(result.status ?? -1)", default: 0] += 1
                    #expect(!result.trapped && (result.status == 0 || result.status == 1), "claims file (\(label)): \(result)")
                    // Problems name the file and a line (a syntax error's own line, else the first).
                    let namesFileAndLine = result.stderr.split(separator: "\n").contains { line in
                        line.hasPrefix(path + ":") && line.dropFirst(path.count + 1).prefix { $0.isNumber }.count > 0
                    }
                    if knownBad {
                        #expect(result.status == 1 && namesFileAndLine, "claims file (\(label)) not refused naming the file: \(result)")
                    } else if result.status == 1 && !result.stderr.isEmpty {
                        #expect(namesFileAndLine, "claims file (\(label)): an error that names no file: \(result)")
                    }
                    unlink(path)
                }
                print("[reliability] claims fuzz: \(total) files: \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ")); seed \(seed)")
            }
        }
    }
}
