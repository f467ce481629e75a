import EventStore
import Foundation
import HubDomain
import Projections

/// One evaluation of the alert rules and delivery of what is due: the daemon's cycle.
struct AlertDaemon {
    let log: EventLog
    let policy: AlertPolicy
    /// Every `--webhook`, with the regions it takes; an alert goes to each that takes it.
    let webhooks: [WebhookRoute]
    let interval: Double
    let actor: String
    /// The hubs and regions the daemon's actor may see: alerts elsewhere are left to a daemon whose actor may.
    /// Read again from the log every cycle, so a grant or revocation takes effect without a restart.
    private(set) var scope: Scope
    /// Who is admin of a store that records no grants (its owner), as the access gate has it.
    let fallbackAdmin: String?
    /// Alerts some of their webhooks accepted while another did not (`index|key`): not sent to those
    /// again while this daemon runs, until the rest accept and the alert is raised.
    private var acceptedBy: Set<String> = []
    /// The read models, kept between cycles and caught up at the start of each (checkpoints are
    /// rewritten every thousand events and when the daemon stops), instead of loaded and saved every cycle.
    private var held: ProjectionRunner.HeldModels?
    /// The position the last heartbeat gave: a clean stop says it again.
    private var lastBeat: LogPosition = -1
    /// A `watch --once` run: its heartbeat says so (`Heartbeat.isOneOff`).
    var isOneOff = false
    /// `watch --once --dry-run`: print what is due, raise nothing (no webhook, no `AlertRaised`, no heartbeat).
    var isDryRun = false

    init(log: EventLog, policy: AlertPolicy, webhooks: [WebhookRoute], interval: Double, actor: String, scope: Scope = .everywhere,
         fallbackAdmin: String? = nil) {
        self.log = log; self.policy = policy; self.webhooks = webhooks; self.interval = interval; self.actor = actor; self.scope = scope
        self.fallbackAdmin = fallbackAdmin
    }

    /// The daemon's actor no longer holds the admin role: it raises nothing more and stops.
    struct RoleRevoked: Error {
        let actor: String
        var message: String {
            "\(actor) no longer holds the admin role, so this daemon raises no more alerts and stops; an admin can grant it again "
                + "(`hubledger access grant \(actor) admin`) and start watch again, or start it as another admin"
        }
    }

    /// Takes up the actor's admin scope as the log now records it; throws `RoleRevoked` when there is none.
    private mutating func rereadScope(_ models: [any Projection]) throws {
        guard let access = models.compactMap({ $0 as? AccessProjection }).first else { return }
        guard let current = access.state.scope(of: actor, for: .administer, fallbackAdmin: fallbackAdmin) else { throw RoleRevoked(actor: actor) }
        guard current != scope else { return }
        scope = current
        Console.err("watch: \(actor)'s admin role now covers \(AccessGate.describe(current)): raising the alerts there")
    }

    /// Writes every checkpoint the held models are ahead of (when the daemon stops).
    func saveCheckpoints() throws {
        if let held { try ProjectionRunner(log: log).saveUnsaved(held) }
    }

    /// Whether the alert lies within the actor's scope (an alert with no known place only for an unlimited one).
    func inScope(_ alert: Alert) -> Bool {
        if scope.isEverywhere { return true }
        guard let hub = alert.hub, let region = alert.region else { return false }
        return scope.covers(Place(hub: hub, region: region))
    }

    /// Brings every read model up to date, raises what is due, records a heartbeat; returns the head it
    /// saw and how many due alerts could not be delivered.
    ///
    /// An alert is raised (printed, then `AlertRaised` appended) only once every webhook it goes to has
    /// accepted it. A webhook that fails after its retries gets nothing more this cycle, so alerts for it wait
    /// for the next one, while alerts that go only to other webhooks still go out. Each alert is raised under
    /// the store-wide alerts lock (`raise`), so daemons whose scopes overlap raise it once between them.
    mutating func cycle(now: Timestamp) throws -> (LogHead?, Int) {
        let runner = ProjectionRunner(log: log, minimumEventsToSave: ProjectionRunner.readerSaveThreshold)
        let current = try held.map(runner.catchUp) ?? ProjectionRunner(log: log).hold(ProjectionRunner.all)
        held = current
        try rereadScope(current.models)
        let result = (models: current.models, head: current.head)
        guard let model = result.models.compactMap({ $0 as? AlertProjection }).first,
              let referrals = result.models.compactMap({ $0 as? ReferralProjection }).first,
              let review = result.models.compactMap({ $0 as? ReviewProjection }).first,
              let locations = result.models.compactMap({ $0 as? LocationProjection }).first?.locations else { return (result.head, 0) }
        var reached = result.head?.position ?? -1
        var tail = AlertsStreamTail(after: reached, version: model.alertsStreamVersion)
        let due = try model.due(now: now, policy: policy, referrals: referrals, review: review, locations: locations,
                                reading: runner.streamReader).filter(inScope)
        if isDryRun {
            for alert in due { Console.out(JSONValue.object(alert.json).jsonText) }
            return (result.head, 0)
        }
        var undelivered = 0
        var down: Set<Int> = []
        // The alerts lock is kept from one alert to the next while no other daemon waits for it: taken and read
        // again for every alert, it doubled a cycle of thousands (the read of the stream's tail and two lock files
        // each time, beside the one fdatasync of its record). While it is held no other daemon raises anything.
        var lock: StoreLock?
        defer { withExtendedLifetime(lock) {} }
        for alert in due {
            guard !StopSignal.isRequested else { break }
            if lock != nil, try DaemonFiles.isAnotherDaemonWaiting(log) { lock = nil }   // its turn
            if lock == nil {
                let waiting = max(reached, tail.readThrough)
                guard let taken = try DaemonFiles.waitForAlertsLock(log, callingEvery: interval, { try beat(at: waiting) }) else { break }
                lock = taken
                // What other daemons raised while this one did not hold the lock.
                try tail.catchUp(log)
            }
            switch try raise(alert, now: now, tail: &tail, down: &down) {
            case .raised(let position): reached = max(reached, position)
            case .raisedElsewhere: break
            case .undelivered: undelivered += 1
            }
        }
        lock = nil
        try beat(at: max(reached, tail.readThrough))
        // The head the rules saw: anything appended since (by others, or our own AlertRaised) wakes the next cycle at once.
        return (result.head, undelivered)
    }

    /// How one alert's raising step ended.
    private enum Raising {
        /// Delivered and recorded, at this log position.
        case raised(LogPosition)
        /// Another daemon raised it after this one's read models caught up: nothing done.
        case raisedElsewhere
        /// A webhook it goes to did not accept it: not printed, not recorded, tried again next cycle.
        case undelivered
    }

    /// Raises one alert, the caller holding the alerts lock and `tail` read since it took it: does nothing if
    /// another daemon raised it meanwhile; otherwise delivers it, prints it and records it.
    private mutating func raise(_ alert: Alert, now: Timestamp, tail: inout AlertsStreamTail, down: inout Set<Int>) throws -> Raising {
        guard !tail.hasRaised(alert.key) else {
            Console.err("watch: \(alert.kind.rawValue) for \(alert.subject) (\(alert.level.rawValue)) was raised by another daemon")
            forgetAcceptances(of: alert)
            return .raisedElsewhere
        }
        let line = JSONValue.object(alert.json).jsonText
        guard post(alert, line, down: &down) else { return .undelivered }
        guard Console.out(line) else {
            Console.err("watch: cannot write to stdout; \(alert.kind.rawValue) for \(alert.subject) not marked raised")
            throw CLIError.failure("stdout is closed; stopping so that no alert is lost")
        }
        Console.err("watch: \(alert.summary)")
        let position = try record(alert, now: now, tail: &tail)
        forgetAcceptances(of: alert)
        return .raised(position)
    }

    /// Appends the delivered alert's `AlertRaised`, expecting the `alerts` stream as last read. Only a writer
    /// outside the daemons' lock (a raw `append`) can have moved it: then it is read again, and the alert is
    /// recorded after what moved it, unless that already records it. Returns the position reached.
    private func record(_ alert: Alert, now: Timestamp, tail: inout AlertsStreamTail) throws -> LogPosition {
        // Raised now: an evaluation as if the clock read a later time (--now) does not date the record in the future.
        let event = ProposedEvent(id: alert.id, stream: AlertRecord.stream, type: AlertRecord.type,
                                  occurredAt: min(now, .now), actor: actor, data: alert.json)
        for _ in 0..<3 {
            do {
                let appended = try log.append([event], to: AlertRecord.stream, expecting: tail.expectation)
                tail.noteRecorded(alert.key)
                return appended.head?.position ?? tail.readThrough
            } catch EventStoreError.wrongExpectedVersion {
                Console.err("watch: the alerts stream moved outside the daemons' lock; reading it again")
                try tail.catchUp(log)
                if tail.hasRaised(alert.key) { return tail.readThrough }
            } catch EventStoreError.conflictingEventID(_, let position) {
                // Recorded already (the id is derived from kind, subject and level) by a writer outside the lock.
                return position
            }
        }
        throw CLIError.failure("the alerts stream keeps changing under other writers; \(alert.kind.rawValue) for \(alert.subject) was "
                               + "delivered but could not be recorded, and will be delivered again (same id) when watch restarts")
    }

    /// Saves this daemon's heartbeat: its actor and scope, its interval, the time and the position reached.
    private mutating func beat(at position: LogPosition, stopped: Bool = false) throws {
        var beat = Heartbeat(actor: actor, scope: scope, interval: interval, time: .now, position: position,
                             pid: Int64(getpid()), isStopped: stopped)
        beat.isOneOff = isOneOff
        try beat.save(to: log)
        lastBeat = position
    }

    /// Marks the heartbeat stopped (a clean stop): `status` no longer waits for it, nor counts on its scope.
    mutating func markStopped() throws {
        try beat(at: lastBeat, stopped: true)
    }

    /// Forgets which webhooks accepted an alert once it is raised, by this daemon or another.
    private mutating func forgetAcceptances(of alert: Alert) {
        for i in webhooks.indices { acceptedBy.remove(Self.acceptance(i, alert)) }
    }

    /// POSTs the alert to every webhook that takes it and has not accepted it yet, skipping those `down`
    /// this cycle (and adding any that fail); true when every one of them has it.
    private mutating func post(_ alert: Alert, _ line: String, down: inout Set<Int>) -> Bool {
        var complete = true
        for i in webhooks.indices where webhooks[i].takes(alert) && !acceptedBy.contains(Self.acceptance(i, alert)) {
            guard !down.contains(i) else { complete = false; continue }
            if webhooks[i].webhook.deliver(line) {
                acceptedBy.insert(Self.acceptance(i, alert))
            } else {
                Console.err("watch: webhook \(webhooks[i].webhook.url) did not accept \(alert.kind.rawValue) for \(alert.subject); will retry"
                            + " (nothing more goes to it this cycle)")
                down.insert(i)
                complete = false
            }
        }
        return complete
    }

    /// The `acceptedBy` entry for the `index`th webhook and this alert.
    private static func acceptance(_ index: Int, _ alert: Alert) -> String { "\(index)|\(alert.key)" }
}
