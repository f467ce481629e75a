import EventStore
import HubDomain

/// What `status` concludes from the daemons' heartbeats at one moment: which daemons report, which
/// are silent or stopped, and which hubs in use no reporting daemon covers, so that monitoring pages
/// someone when alerts stop, for every hub or for some.
///
/// A daemon is silent when it has not reported for more than three of its intervals: that always
/// pages (it died or hangs). A daemon stopped cleanly is not silent and covers nothing: it pages only
/// through what it leaves uncovered, so one retired while another covers its hubs pages nobody. A
/// `watch --once` run covers its scope for three of its intervals, then has *finished*: like a stopped
/// daemon, never silent (one run by hand must not page forever; run from cron, the next run reports).
struct DaemonHealth {
    enum State: String {
        case reporting, silent, stopped, finished
    }

    struct Daemon {
        var heartbeat: Heartbeat
        var state: State
        /// Seconds since its last heartbeat (or since it stopped).
        var ageSeconds: Double
    }

    /// A region with hubs in use that no reporting daemon covers.
    struct Uncovered: CustomStringConvertible {
        var region: String
        var hubs: [String]
        var description: String { "region \(region) (hub\(hubs.count == 1 ? "" : "s") \(hubs.joined(separator: ", ")))" }
    }

    let daemons: [Daemon]
    let uncovered: [Uncovered]
    /// Why monitoring should page; empty when all is well.
    let problems: [String]

    var isHealthy: Bool { problems.isEmpty }

    /// - Parameter placesInUse: where someone belongs or a session was held (`Locations.placesInUse`).
    init(heartbeats: [Heartbeat], now: Timestamp, placesInUse: Set<Place>) {
        let daemons = heartbeats.map { beat in
            let age = Double(now.microseconds - beat.time.microseconds) / 1_000_000
            let state: State = beat.isStopped ? .stopped : age <= 3 * beat.interval ? .reporting : beat.isOneOff ? .finished : .silent
            return Daemon(heartbeat: beat, state: state, ageSeconds: age)
        }
        let covering = daemons.filter { $0.state == .reporting }.compactMap(\.heartbeat.scope)
        let open = placesInUse.filter { place in !covering.contains { $0.covers(place) } }
        let uncovered = Dictionary(grouping: open, by: \.region)
            .map { Uncovered(region: $0.key, hubs: Set($0.value.map(\.hub)).sorted()) }
            .sorted { $0.region < $1.region }

        var problems: [String] = []
        if daemons.isEmpty {
            problems.append("no daemon has ever reported (is `hubledger watch` running?)")
        } else if !daemons.contains(where: { $0.state == .reporting || $0.state == .silent }) {
            problems.append("no daemon is running: every one that reported has stopped or was a `watch --once` run that has finished")
        }
        for daemon in daemons where daemon.state == .silent {
            problems.append("\(daemon.heartbeat.daemonName) has not reported for \(Int(daemon.ageSeconds))s, more than three of its "
                            + "\(Interval.text(daemon.heartbeat.interval)) intervals")
        }
        if !uncovered.isEmpty {
            problems.append("no running daemon covers \(uncovered.map(\.description).joined(separator: ", ")): nobody raises their alerts "
                            + "(run `hubledger watch` as an admin whose scope covers them)")
        }
        self.daemons = daemons
        self.uncovered = uncovered
        self.problems = problems
    }

    /// The daemon that reported last, if any: what `status --json` has always shown as `daemon`.
    var latest: Daemon? { daemons.max { $0.heartbeat.time < $1.heartbeat.time } }
}
