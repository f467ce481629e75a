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
    let scope: Scope
    /// Alerts some of their webhooks accepted while another did not (`index|key`): not sent to those
    /// again while this daemon runs, until the rest accept and the alert is raised.
    private var acceptedBy: Set<String> = []
    /// The read models, kept between cycles and caught up at the start of each (checkpoints are
    /// rewritten every thousand events and when the daemon stops), instead of loaded and saved every cycle.
    private var held: ProjectionRunner.HeldModels?

    init(log: EventLog, policy: AlertPolicy, webhooks: [WebhookRoute], interval: Double, actor: String, scope: Scope = .everywhere) {
        self.log = log; self.policy = policy; self.webhooks = webhooks; self.interval = interval; self.actor = actor; self.scope = scope
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
    /// for the next one, while alerts that go only to other webhooks still go out.
    mutating func cycle(now: Timestamp) throws -> (LogHead?, Int) {
        let runner = ProjectionRunner(log: log, minimumEventsToSave: ProjectionRunner.readerSaveThreshold)
        let current = try held.map(runner.catchUp) ?? ProjectionRunner(log: log).hold(ProjectionRunner.all)
        held = current
        let result = (models: current.models, head: current.head)
        guard let model = result.models.compactMap({ $0 as? AlertProjection }).first,
              let referrals = result.models.compactMap({ $0 as? ReferralProjection }).first,
              let review = result.models.compactMap({ $0 as? ReviewProjection }).first,
              let locations = result.models.compactMap({ $0 as? LocationProjection }).first?.locations else { return (result.head, 0) }
        var appendedHead = result.head
        var version = model.alertsStreamVersion
        let due = try model.due(now: now, policy: policy, referrals: referrals, review: review, locations: locations,
                                reading: runner.streamReader).filter(inScope)
        var undelivered = 0
        var down: Set<Int> = []
        for alert in due {
            if StopSignal.isRequested { break }
            let line = JSONValue.object(alert.json).jsonText
            guard post(alert, line, down: &down) else {
                undelivered += 1
                continue
            }
            guard Console.out(line) else {
                Console.err("watch: cannot write to stdout; \(alert.kind.rawValue) for \(alert.subject) not marked raised")
                throw CLIError.failure("stdout is closed; stopping so that no alert is lost")
            }
            Console.err("watch: \(alert.summary)")
            let event = ProposedEvent(id: alert.id, stream: AlertRecord.stream, type: AlertRecord.type,
                                      occurredAt: now, actor: actor, data: alert.json)
            do {
                let appended = try log.append([event], to: AlertRecord.stream, expecting: version < 0 ? .noStream : .exact(version))
                version += 1
                appendedHead = appended.head
                for i in webhooks.indices { acceptedBy.remove(Self.acceptance(i, alert)) }
            } catch EventStoreError.wrongExpectedVersion {
                // Another writer raised alerts meanwhile: start the cycle again with what it recorded.
                Console.err("watch: the alerts stream moved; re-evaluating next cycle")
                break
            }
        }
        let beat: JSONValue = ["time": .string(Timestamp.now.rfc3339), "position": .int(appendedHead?.position ?? -1),
                               "interval": .double(interval), "pid": .int(Int64(getpid()))]
        try log.saveMetadata(Array(beat.jsonText.utf8), named: "heartbeat.json")
        // The head the rules saw: anything appended since (by others, or our own AlertRaised) wakes the next cycle at once.
        return (result.head, undelivered)
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
