import EventStore
import Foundation
import HubDomain

/// What one watch daemon last said about itself: whose it is, which hubs and regions it raises alerts
/// for, how often it reports, how far it has read, and whether it stopped. Each daemon saves its own
/// after every cycle (`meta/heartbeat-ACTOR.json`), and once more, marked stopped, on a clean stop.
struct Heartbeat: Sendable {
    /// Nil for the heartbeat of an earlier version (`meta/heartbeat.json`), which did not say.
    var actor: String?
    /// Where the daemon raises alerts; nil when not recorded (an earlier version).
    var scope: Scope?
    /// Seconds between the daemon's checks on time passing: it reports at least this often.
    var interval: Double
    var time: Timestamp
    /// The log position the daemon had reached (its last `AlertRaised`, or the head it read); -1 for an empty log.
    var position: LogPosition
    var pid: Int64?
    /// Set by a daemon stopped cleanly (SIGTERM or SIGINT): it reports no more and covers nothing, but is not silent.
    var isStopped = false
    /// Set by `watch --once`: it covers its scope for three intervals (run from cron that often, it keeps
    /// reporting), then lapses like a stopped daemon instead of paging as a silent one forever.
    var isOneOff = false

    init(actor: String?, scope: Scope?, interval: Double, time: Timestamp, position: LogPosition, pid: Int64?, isStopped: Bool = false) {
        self.actor = actor; self.scope = scope; self.interval = interval; self.time = time; self.position = position
        self.pid = pid; self.isStopped = isStopped
    }

    /// A heartbeat as saved; nil when it lacks its time or interval.
    init?(json o: JSONObject) {
        guard let time = o["time"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }), let interval = o["interval"]?.doubleValue else { return nil }
        self.time = time
        self.interval = interval
        position = o["position"]?.intValue ?? -1
        pid = o["pid"]?.intValue
        actor = o["actor"]?.stringValue
        scope = o["scope"]?.objectValue.map { scope in
            Scope(hubs: Set((scope["hubs"]?.arrayValue ?? []).compactMap(\.stringValue)),
                  regions: Set((scope["regions"]?.arrayValue ?? []).compactMap(\.stringValue)))
        }
        isStopped = o["stopped"]?.boolValue ?? false
        isOneOff = o["once"]?.boolValue ?? false
    }

    /// `{time, position, interval, pid, actor, scope: {everywhere, hubs, regions}, stopped, once}` (the first four as before).
    var json: JSONObject {
        var o: JSONObject = ["time": .string(time.rfc3339), "position": .int(position), "interval": .double(interval)]
        if let pid { o["pid"] = .int(pid) }
        if let actor { o["actor"] = .string(actor) }
        if let scope {
            o["scope"] = ["everywhere": .bool(scope.isEverywhere), "hubs": .array(scope.hubs.sorted().map(JSONValue.string)),
                          "regions": .array(scope.regions.sorted().map(JSONValue.string))]
        }
        o["stopped"] = .bool(isStopped)
        o["once"] = .bool(isOneOff)
        return o
    }

    /// `eve (region london)`, or what an earlier version's heartbeat leaves unsaid.
    var daemonName: String {
        guard let actor else { return "the daemon of an earlier version (actor and scope not recorded: restart it)" }
        return "\(actor) (\(scope.map(AccessGate.describe) ?? "scope not recorded"))"
    }

    /// Saves it as its actor's heartbeat, replacing the last.
    func save(to log: EventLog) throws {
        try log.saveMetadata(Array(JSONValue.object(json).jsonText.utf8), named: DaemonFiles.heartbeatName(for: actor ?? ""))
    }

    /// Every daemon's last heartbeat, an earlier version's (`heartbeat.json`) included, in order of actor.
    /// A file that cannot be read or parsed (being replaced this instant, or damaged) is left out.
    static func all(in log: EventLog) throws -> [Heartbeat] {
        let names = try log.metadataNames().filter(DaemonFiles.isHeartbeat) + [DaemonFiles.legacyHeartbeat]
        let beats = names.compactMap { name -> Heartbeat? in
            guard let bytes = log.loadMetadata(named: name), case .object(let o)? = try? JSONParser.parse(bytes) else { return nil }
            return Heartbeat(json: o)
        }
        return beats.sorted { ($0.actor ?? "", $0.time) < ($1.actor ?? "", $1.time) }
    }
}
