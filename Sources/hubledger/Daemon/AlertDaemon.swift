import EventStore
import Foundation
import HubDomain
import Projections

/// One evaluation of the alert rules and delivery of what is due: the daemon's cycle.
struct AlertDaemon {
    let log: EventLog
    let policy: AlertPolicy
    let webhook: Webhook?
    let interval: Double
    let actor: String

    /// Brings every read model up to date, raises what is due, records a heartbeat; returns the head it
    /// saw and how many due alerts could not be delivered.
    func cycle(now: Timestamp) throws -> (LogHead?, Int) {
        let runner = ProjectionRunner(log: log)
        let result = try runner.runAll(ProjectionRunner.all)
        guard let model = result.models.compactMap({ $0 as? AlertProjection }).first,
              let referrals = result.models.compactMap({ $0 as? ReferralProjection }).first,
              let review = result.models.compactMap({ $0 as? ReviewProjection }).first,
              let locations = result.models.compactMap({ $0 as? LocationProjection }).first?.locations else { return (result.head, 0) }
        var appendedHead = result.head
        var version = model.alertsStreamVersion
        let due = model.due(now: now, policy: policy, referrals: referrals, review: review, locations: locations)
        var undelivered = 0
        for (n, alert) in due.enumerated() {
            if StopSignal.isRequested { break }
            let line = JSONValue.object(alert.json).jsonText
            if let webhook, !webhook.deliver(line) {
                Console.err("watch: webhook \(webhook.url) did not accept \(alert.kind.rawValue) for \(alert.subject); will retry")
                undelivered = due.count - n
                break
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
}
