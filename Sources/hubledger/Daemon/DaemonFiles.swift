import EventStore
import Foundation
import HubDomain

/// The watch daemons' files under the store's `meta/`: their locks and their heartbeats.
///
/// Several daemons may run on one store, one per actor, each raising the alerts in its actor's
/// scope. `watch-ACTOR.lock` keeps a second daemon of the same actor out; `watch.lock`, held
/// shared by every daemon of this version, keeps out a daemon of an earlier version (which held it
/// exclusively, as the only daemon of the store); `alerts.lock` is held while a daemon raises alerts (kept from one to the next until another waits), and
/// `alerts-waiting.lock` by the daemons waiting for it.
enum DaemonFiles {
    /// What every daemon holds shared (and a daemon of an earlier version held exclusively).
    static let storeLock = "watch"
    /// Held by one daemon at a time while it decides whether an alert is raised, delivers it and records it.
    static let alertsLock = "alerts"
    /// Held shared by the daemons waiting for the alerts lock, so that the one holding it lets them have a turn.
    static let waitingLock = "alerts-waiting"
    /// The one heartbeat of a daemon of an earlier version, which recorded neither actor nor scope.
    static let legacyHeartbeat = "heartbeat.json"

    /// The lock that lets one daemon per actor run.
    static func lockName(for actor: String) -> String { "watch-" + token(actor) }

    /// The file of the heartbeat of `actor`'s daemon.
    static func heartbeatName(for actor: String) -> String { heartbeatPrefix + token(actor) + heartbeatSuffix }

    /// Whether a file under `meta/` is a daemon's heartbeat (not a temporary file being saved).
    static func isHeartbeat(_ name: String) -> Bool { name.hasPrefix(heartbeatPrefix) && name.hasSuffix(heartbeatSuffix) }

    private static let heartbeatPrefix = "heartbeat-"
    private static let heartbeatSuffix = ".json"

    /// The actor's name as a file name: letters, digits, `_` and `-` kept, every other byte as `%XX`;
    /// a long name is cut short and made unique with a digest of the whole (the file holds the real name).
    static func token(_ actor: String) -> String {
        var out = ""
        for byte in actor.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        guard out.utf8.count > 100 else { return out }
        return String(out.prefix(60)) + "~" + DerivedID.make("daemon", actor).lowercasedString
    }

    /// Takes the alerts lock, waiting while another daemon raises an alert; nil when a stop is requested
    /// meanwhile (the wait is in short slices, so SIGTERM is honoured while another daemon's webhook is slow).
    /// `stillWaiting` is called every `seconds` of waiting (the daemon's heartbeat: it is alive, only held up).
    ///
    /// Daemons take turns: one that waits holds `alerts-waiting.lock` shared, and one about to take the alerts
    /// lock while another waits first pauses a little longer than a waiter's poll, so that a daemon raising many
    /// alerts does not hold back another's until it has raised them all.
    /// Whether another daemon waits for the alerts lock (holds `alerts-waiting.lock` shared): the holder lets it go.
    static func isAnotherDaemonWaiting(_ log: EventLog) throws -> Bool { try log.tryLock(named: waitingLock) == nil }

    static func waitForAlertsLock(_ log: EventLog, callingEvery seconds: Double, _ stillWaiting: () throws -> Void) throws -> StoreLock? {
        if try isAnotherDaemonWaiting(log) { usleep(10_000) }   // someone waits: their turn first
        var waiting: StoreLock?
        defer { withExtendedLifetime(waiting) {} }
        var next = Date().addingTimeInterval(seconds)
        while !StopSignal.isRequested {
            if let lock = try log.tryLock(named: alertsLock) { return lock }
            if waiting == nil { waiting = try log.tryLock(named: waitingLock, shared: true) }
            if Date() >= next {
                try stillWaiting()
                next = Date().addingTimeInterval(seconds)
            }
            usleep(2_000)
        }
        return nil
    }
}
