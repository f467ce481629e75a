import EventStore
import Foundation
import Testing

// Synthetic hub histories (no real people) and cheap in-process looks at a store.

// MARK: - Reading a store in-process (cheap checks between kills)

enum StoreReader {
    /// Every event id (lower-case) in log order, through the library.
    static func ids(_ store: String) throws -> [String] {
        try EventLog(path: store).events().map { $0.id.uuidString.lowercased() }
    }

    static func events(_ store: String) throws -> [RecordedEvent] { try EventLog(path: store).events() }

    /// The bytes of every segment file, by name.
    static func segments(_ store: String) throws -> [String: Data] {
        let dir = store + "/segments"
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }
}

// MARK: - Synthetic hub events (import lines)

/// Builds import lines ({"id","type","occurredAt","data"}) for synthetic people only.
enum Synth {
    static func line(_ type: String, _ at: String, id: String?, _ data: JSONObject) -> String {
        var o = JSONObject()
        if let id { o["id"] = .string(id) }
        o["type"] = .string(type)
        o["occurredAt"] = .string(at)
        o["data"] = .object(data)
        return JSONValue.object(o).jsonText
    }

    static func session(_ s: String, _ at: String, id: String?, week: Int = 1) -> String {
        line("SessionHeld", at, id: id, ["session": .string(s), "hub": "Synthetic hub", "region": "london",
                                          "programme": "SYN-1", "week": .int(Int64(week))])
    }
    static func registered(_ p: String, _ at: String, id: String?, generation: String = "adult") -> String {
        line("ParticipantRegistered", at, id: id, ["participant": .string(p), "generation": .string(generation),
                                                    "birthYear": 1970, "hub": "Synthetic hub", "region": "london"])
    }
    static func consent(_ p: String, _ at: String, id: String?, scope: String = "participation") -> String {
        line("ConsentGiven", at, id: id, ["participant": .string(p), "scope": .string(scope), "givenBy": "self"])
    }
    static func attended(_ p: String, _ s: String, _ at: String, id: String?) -> String {
        line("AttendanceRecorded", at, id: id, ["participant": .string(p), "session": .string(s)])
    }
    static func survey(_ p: String, _ s: String, _ at: String, id: String?, happier: Bool) -> String {
        line("SurveyCompleted", at, id: id, ["participant": .string(p), "session": .string(s), "happier": .bool(happier), "moreConnected": true])
    }
    static func referral(_ r: String, _ p: String, _ at: String, id: String?, urgent: Bool = false) -> String {
        line("ReferralReceived", at, id: id, ["referral": .string(r), "participant": .string(p), "source": "gp",
                                               "referrer": "Synthetic referrer", "reason": "Synthetic reason", "urgent": .bool(urgent)])
    }

    /// The clock alerts and referral waits are evaluated at.
    static let T = "2024-06-01T12:00:00Z"

    /// A base history: `sessions` sessions (S-0001…), `people` registered adults (B-0001…) with consent,
    /// and `overdue` referrals received 30 days before T with no attendance since (2 alerts each at T).
    static func base(sessions: Int, people: Int, overdue: Int, rng: inout Rng) -> [String] {
        var out: [String] = []
        for s in 1...max(1, sessions) {
            out.append(session(String(format: "S-%04d", s), String(format: "2024-01-%02dT10:00:00Z", 1 + (s - 1) % 28), id: rng.uuid(), week: 1 + (s - 1) % 10))
        }
        for p in 1...max(1, people) {
            let pid = String(format: "B-%04d", p)
            out.append(registered(pid, "2023-12-01T09:00:00Z", id: rng.uuid()))
            out.append(consent(pid, "2023-12-01T09:01:00Z", id: rng.uuid()))
        }
        for r in 0..<overdue {
            let pid = String(format: "B-%04d", 1 + r % max(1, people))
            out.append(referral(String(format: "R-OD%03d", r), pid, "2024-05-02T10:00:00Z", id: rng.uuid(), urgent: false))
        }
        return out
    }

    /// A large valid import against `base(sessions:people:…)`: new people registered, consenting,
    /// attending base sessions and answering surveys, some referred. Every line has an id.
    static func bigImport(prefix: String, people: Int, sessions: Int, rng: inout Rng) -> [String] {
        var out: [String] = []
        for n in 1...people {
            let pid = "\(prefix)-\(String(format: "%05d", n))"
            out.append(registered(pid, "2024-01-01T08:00:00Z", id: rng.uuid(), generation: rng.pick(["adult", "older-adult"])))
            out.append(consent(pid, "2024-01-01T08:01:00Z", id: rng.uuid()))
            out.append(consent(pid, "2024-01-01T08:02:00Z", id: rng.uuid(), scope: "surveys"))
            var used = Set<Int>()
            for _ in 0..<3 {
                let s = 1 + rng.below(sessions)
                guard used.insert(s).inserted else { continue }
                let sid = String(format: "S-%04d", s)
                out.append(attended(pid, sid, "2024-02-01T10:05:00Z", id: rng.uuid()))
                if rng.chance(0.6) { out.append(survey(pid, sid, "2024-02-01T11:00:00Z", id: rng.uuid(), happier: rng.chance(0.9))) }
            }
            if rng.chance(0.1) {
                out.append(referral("RX-\(prefix)-\(n)", pid, "2024-01-01T07:00:00Z", id: rng.uuid(), urgent: rng.chance(0.2)))
            }
        }
        return out
    }

    /// The id of an import line.
    static func id(of line: String) -> String? {
        (try? JSONParser.parse(line))?.objectValue?["id"]?.stringValue
    }
}

/// A fresh store made by `init` and an import of `lines`, with read models checkpointed at its head.
func makeStore(_ hub: Hub, _ name: String, lines: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let store = hub.path(name)
    let created = try hub.run(["init"], store: store)
    try #require(created.succeeded, "\(created)", sourceLocation: sourceLocation)
    if !lines.isEmpty {
        let file = try hub.write(name + "-base.jsonl", lines: lines)
        let imported = try hub.run(["import", file], store: store)
        try #require(imported.succeeded, "\(imported)", sourceLocation: sourceLocation)
    }
    for read in [["audit", "--json"], ["referrals", "--json", "--now", Synth.T], ["review", "--json", "--now", Synth.T]] {
        let r = try hub.run(read, store: store)
        try #require(r.succeeded, "\(r)", sourceLocation: sourceLocation)
    }
    return store
}
