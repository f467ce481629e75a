import Foundation
import HubDomain
import Projections

/// One `--webhook URL` and the regions whose alerts go to it: `watch --webhook A --region london
/// --webhook B` sends London's alerts to A and every alert to B.
struct WebhookRoute: Sendable {
    let webhook: Webhook
    /// The `--region`s given after this `--webhook` and before the next; empty means every alert.
    let regions: Set<Region>

    /// Whether `alert` goes to this webhook. An alert whose participant no place holds (region null)
    /// goes only to webhooks that take every alert.
    func takes(_ alert: Alert) -> Bool {
        regions.isEmpty || alert.region.flatMap(Region.init(rawValue:)).map(regions.contains) == true
    }

    /// `URL`, or `URL (london, surrey)`, for the daemon's log.
    var description: String {
        regions.isEmpty ? webhook.url.absoluteString : "\(webhook.url) (\(regions.map(\.rawValue).sorted().joined(separator: ", ")))"
    }

    /// The routes in the order the `--webhook` options came, each with the `--region`s that follow it.
    /// - Throws: `CLIError.usage` for a URL that is not http(s), an unknown region, or a `--region` before any `--webhook`.
    static func routes(_ arguments: ParsedArguments) throws -> [WebhookRoute] {
        var routes: [(url: URL, regions: Set<Region>)] = []
        for (name, value) in arguments.occurrences {
            switch (name, value) {
            case ("webhook", let text?):
                guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
                    throw CLIError.usage("--webhook must be an http(s) URL, not '\(text)'")
                }
                routes.append((url, []))
            case ("region", let text?):
                guard !routes.isEmpty else {
                    throw CLIError.usage("--region limits the --webhook before it; give --webhook URL first (--webhook URL --region \(text))")
                }
                routes[routes.count - 1].regions.insert(try PlaceOptions.region(text))
            default:
                continue
            }
        }
        return routes.map { WebhookRoute(webhook: Webhook(url: $0.url), regions: $0.regions) }
    }
}
