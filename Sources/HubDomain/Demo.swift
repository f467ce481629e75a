import EventStore
import Foundation

/// A realistic, deterministic synthetic history shaped like the charity's hubs:
/// three regions, six hubs, ten-week programmes, every generation, referrals
/// (some still waiting, most accepted), consents, surveys, signposts, a few concerns,
/// flags (raised, renewed, removed, one retracted) and corrections.
///
/// Acceptances and flags come from a second generator and ids of their own, so every other
/// event is the same as before they were added (a store holding an older demo takes the new
/// events on top).
///
/// Only synthetic people: ids like `P-0001`, no names.
public struct Demo: Sendable {
    public var participants: Int
    public var seed: UInt64

    public init(participants: Int = 1200, seed: UInt64 = 1) {
        self.participants = participants
        self.seed = seed
    }

    static let hubs: [(String, Region)] = [("woking", .surrey), ("guildford", .surrey), ("hackney", .london),
                                           ("lambeth", .london), ("salford", .greaterManchester), ("stockport", .greaterManchester)]
    static let programmesPerHub = 4
    static let start = Timestamp(rfc3339: "2025-01-06T10:00:00Z") ?? Timestamp(microseconds: 0)

    /// The history as import drafts, in the order things happened.
    public func drafts() -> [EventDraft] {
        var rng = SplitMix64(seed: seed)
        var side = SplitMix64(seed: seed ^ 0xF1A6_5EED_ACCE_9700)
        var out: [(Timestamp, Int, EventDraft)] = []
        var counter = 0, extra = 0
        func add(_ type: EventType, _ at: Timestamp, _ data: JSONObject) -> UUID {
            counter += 1
            let id = DerivedID.make("demo", String(seed), String(counter))
            out.append((at, counter, EventDraft(type: type.rawValue, occurredAt: at.rfc3339, data: data, id: id, file: "demo", line: counter)))
            return id
        }
        func addLater(_ type: EventType, _ at: Timestamp, _ data: JSONObject) -> UUID {
            extra += 1
            let id = DerivedID.make("demo", String(seed), "flags-and-acceptances", String(extra))
            out.append((at, 10_000_000 + extra, EventDraft(type: type.rawValue, occurredAt: at.rfc3339, data: data, id: id, file: "demo", line: 10_000_000 + extra)))
            return id
        }
        var flagRaises: [UUID] = []
        let day = 86_400.0
        // Sessions: every hub runs four ten-week programmes.
        var programmes: [(hub: String, region: Region, sessions: [(String, Timestamp)])] = []
        var sessionNumber = 0
        for (h, (hub, region)) in Demo.hubs.enumerated() {
            for p in 0..<Demo.programmesPerHub {
                let begins = Demo.start.adding(seconds: Double(p * 13 * 7 + h) * day)
                let name = "\(hub)-2025-\(p + 1)"
                var sessions: [(String, Timestamp)] = []
                for week in 1...10 {
                    sessionNumber += 1
                    let id = String(format: "S-%04d", sessionNumber)
                    let at = begins.adding(seconds: Double((week - 1) * 7) * day)
                    var data: JSONObject = ["session": .string(id), "hub": .string(hub), "region": .string(region.rawValue),
                                            "programme": .string(name), "week": .int(Int64(week))]
                    data["funder"] = .string(p % 3 == 2 ? "council" : "tnlcf")
                    _ = add(.sessionHeld, at, data)
                    sessions.append((id, at))
                }
                programmes.append((hub, region, sessions))
            }
        }
        var referralNumber = 0, concernNumber = 0
        var attendanceIDs: [UUID] = []
        /// The exit survey answered at an attendance, if any: a correction retracts it first.
        var surveyOf: [UUID: UUID] = [:]
        for n in 1...max(1, participants) {
            let pid = String(format: "P-%04d", n)
            let programme = programmes[(n - 1) % programmes.count]
            let first = programme.sessions[0].1
            let roll = rng.unit()
            let generation: Generation = roll < 0.25 ? .child : roll < 0.45 ? .youngPerson : roll < 0.75 ? .adult : .olderAdult
            let age: Int = switch generation {
            case .child: 5 + rng.below(8)
            case .youngPerson: 13 + rng.below(5)
            case .adult: 18 + rng.below(47)
            case .olderAdult: 65 + rng.below(25)
            }
            var registered = first.adding(seconds: -Double(1 + rng.below(14)) * day)
            // About one in ten comes by referral, received before they register.
            var referral: (String, Timestamp)?
            if rng.unit() < 0.1 {
                referralNumber += 1
                let rid = String(format: "R-%04d", referralNumber)
                registered = registered.adding(seconds: -Double(1 + rng.below(10)) * day)
                referral = (rid, registered.adding(seconds: 1800))
            }
            _ = add(.participantRegistered, registered, ["participant": .string(pid), "generation": .string(generation.rawValue),
                                                          "birthYear": .int(Int64(2025 - age)), "hub": .string(programme.hub),
                                                          "region": .string(programme.region.rawValue)])
            var t = registered.adding(seconds: 60)
            let isMinor = generation == .child || generation == .youngPerson
            let consentRoll = rng.unit()
            if !(isMinor && consentRoll < 0.04) {
                var data: JSONObject = ["participant": .string(pid), "scope": "participation"]
                if !isMinor { data["givenBy"] = "self" }
                else if generation == .youngPerson && consentRoll < 0.2 {
                    data["givenBy"] = "self"
                    data["competenceNote"] = "Judged able to decide for themselves after a conversation with the facilitator."
                } else { data["givenBy"] = "parent-or-guardian" }
                _ = add(.consentGiven, t, data)
            }
            t = t.adding(seconds: 60)
            if rng.unit() < 0.88 {
                _ = add(.consentGiven, t, ["participant": .string(pid), "scope": "surveys", "givenBy": .string(isMinor ? "parent-or-guardian" : "self")])
            }
            if rng.unit() < 0.5 {
                _ = add(.consentGiven, t.adding(seconds: 60), ["participant": .string(pid), "scope": "photography", "givenBy": .string(isMinor ? "parent-or-guardian" : "self")])
            }
            let neverComes = referral != nil && rng.unit() < 0.15
            if let (rid, received) = referral {
                let sourceRoll = rng.unit()
                let source: ReferralSource = sourceRoll < 0.35 ? .mentalHealthTeam : sourceRoll < 0.75 ? .linkWorker : sourceRoll < 0.85 ? .gp : sourceRoll < 0.93 ? .school : .`self`
                _ = add(.referralReceived, received, ["referral": .string(rid), "participant": .string(pid), "source": .string(source.rawValue),
                                                      "referrer": "Synthetic referrer (demo)", "reason": "Low mood and isolation (synthetic demo text)",
                                                      "urgent": .bool(rng.unit() < 0.15)])
                // Contacted within the day (3–18 hours), so before it is accepted (20–47 hours, below): the
                // steps in their order, received → contacted → accepted → first attendance.
                if rng.unit() < 0.85 {
                    _ = add(.referralContacted, received.adding(seconds: Double(1 + rng.below(6)) * 3 * 3600),
                            ["referral": .string(rid), "channel": .string(ContactChannel.allCases[rng.below(4)].rawValue)])
                }
                if neverComes && rng.unit() < 0.4 {
                    _ = add(.referralDeclined, received.adding(seconds: 8 * day), ["referral": .string(rid), "reason": "Chose another service (synthetic)"])
                } else if side.unit() < 0.75 {
                    // Accepted a day or two after receipt: before the first session, which is at least two days on.
                    _ = addLater(.referralAccepted, received.adding(seconds: Double(20 + side.below(28)) * 3600), ["referral": .string(rid)])
                }
            }
            if side.unit() < 0.04 {
                flagRaises += addFlags(pid, registered: registered, side: &side, addLater)
            }
            // Attendance over the ten weeks, with surveys after most sessions.
            let withdrawsAt = rng.unit() < 0.01 ? 3 + rng.below(5) : nil
            var attendedLast = false
            for (week, (sid, at)) in programme.sessions.enumerated() {
                if neverComes { break }
                if let w = withdrawsAt, week == w {
                    _ = add(.consentWithdrawn, at.adding(seconds: -day), ["participant": .string(pid), "scope": "participation"])
                }
                let p = week == 0 ? 0.9 : attendedLast ? 0.87 : 0.35
                attendedLast = rng.unit() < p
                guard attendedLast else { continue }
                attendanceIDs.append(add(.attendanceRecorded, at.adding(seconds: 60), ["participant": .string(pid), "session": .string(sid)]))
                if rng.unit() < 0.7 {
                    surveyOf[attendanceIDs[attendanceIDs.count - 1]] = add(.surveyCompleted, at.adding(seconds: 5400), ["participant": .string(pid), "session": .string(sid),
                                                                         "happier": .bool(rng.unit() < 0.91), "moreConnected": .bool(rng.unit() < 0.76)])
                }
            }
            if rng.unit() < 0.08 {
                let category = SignpostCategory.allCases[rng.below(SignpostCategory.allCases.count)]
                _ = add(.signpostGiven, first.adding(seconds: Double(7 * rng.below(9)) * day + 7200),
                        ["participant": .string(pid), "service": "Local support service (synthetic)", "category": .string(category.rawValue)])
            }
            if rng.unit() < 0.012 && !neverComes {
                concernNumber += 1
                let cid = String(format: "C-%04d", concernNumber)
                let raised = first.adding(seconds: Double(7 * (1 + rng.below(8))) * day + 9000)
                let severity = Severity.allCases[rng.below(4)]
                let category: ConcernCategory = isMinor ? [.emotional, .neglect, .physical][rng.below(3)] : [.selfNeglect, .financial, .psychological][rng.below(3)]
                _ = add(.concernRaised, raised, ["concern": .string(cid), "participant": .string(pid), "category": .string(category.rawValue),
                                                 "severity": .string(severity.rawValue), "account": "Synthetic account of what was seen (demo).",
                                                 "actionTaken": "Told the DSL the same day (demo).", "dslInformed": true])
                if severity >= .high && rng.unit() < 0.7 {
                    _ = add(.concernEscalated, raised.adding(seconds: 4 * 3600),
                            ["concern": .string(cid), "to": .string(isMinor ? "childrens-services" : "adult-social-care")])
                }
                if rng.unit() < 0.5 {
                    _ = add(.concernClosed, raised.adding(seconds: 21 * day), ["concern": .string(cid), "outcome": "Support in place (demo)."])
                }
            }
        }
        // A few corrections: attendances recorded against the wrong person (and their exit surveys with them).
        var corrected = Set<UUID>()
        for _ in 0..<min(6, attendanceIDs.count) {
            let target = attendanceIDs[rng.below(attendanceIDs.count)]
            guard corrected.insert(target).inserted else { continue }
            if let survey = surveyOf[target] {
                _ = add(.eventRetracted, Demo.start.adding(seconds: 400 * day),
                        ["event": .string(survey.lowercasedString), "reason": "Recorded against the wrong participant (demo)."])
            }
            _ = add(.eventRetracted, Demo.start.adding(seconds: 400 * day),
                    ["event": .string(target.lowercasedString), "reason": "Recorded against the wrong participant (demo)."])
        }
        // One flag raised against the wrong person, corrected after the attendance corrections.
        if let wrong = flagRaises.dropFirst(flagRaises.count / 2).first {
            _ = addLater(.eventRetracted, Demo.start.adding(seconds: 401 * day),
                         ["event": .string(wrong.lowercasedString), "reason": "Flag raised on the wrong participant (demo)."])
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }
}

extension Demo {
    static let flagNames = ["no-photography", "contact-restriction", "known-risk", "medical", "hearing loop needed"]

    /// A flag on a participant soon after they register: most carry a review date (three months on),
    /// some are renewed with a new one, some removed. Returns the raises' ids.
    func addFlags(_ pid: String, registered: Timestamp, side: inout SplitMix64,
                  _ add: (EventType, Timestamp, JSONObject) -> UUID) -> [UUID] {
        let day = 86_400.0
        let flag = Demo.flagNames[side.below(Demo.flagNames.count)]
        let raisedAt = registered.adding(seconds: 3600)
        var data: JSONObject = ["participant": .string(pid), "flag": .string(flag), "note": "Synthetic flag note (demo): agreed with the family."]
        if side.unit() < 0.8 { data["reviewBy"] = .string(raisedAt.adding(seconds: 90 * day).dayString) }
        var raises = [add(.flagRaised, raisedAt, data)]
        let next = side.unit()
        if next < 0.25 {
            _ = add(.flagRemoved, raisedAt.adding(seconds: 60 * day),
                    ["participant": .string(pid), "flag": .string(flag), "reason": "No longer needed (synthetic demo text)."])
        } else if next < 0.45 {
            data["note"] = "Synthetic renewal note (demo): still needed."
            data["reviewBy"] = .string(raisedAt.adding(seconds: 400 * day).dayString)
            raises.append(add(.flagRaised, raisedAt.adding(seconds: 80 * day), data))
        }
        return raises
    }
}

/// A small, fast, seedable generator (SplitMix64), so the demo (and the benchmark's sampling) is the
/// same everywhere.
public struct SplitMix64: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}
