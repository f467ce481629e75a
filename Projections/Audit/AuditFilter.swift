import HubDomain

/// Which hubs and regions an audit's figures cover: everything when empty.
///
/// The rule is a union: an item counts if its place is one of the given hubs *or* lies in one of
/// the given regions, so `--hub hackney --region surrey` covers Hackney and all of Surrey. Session
/// figures go by where the session was held; referrals, signposts and concerns by where their
/// participant belonged when the event was recorded. An item with no known place counts only when
/// there is no filter.
public struct AuditFilter: Sendable, Equatable {
    public var hubs: Set<String>
    public var regions: Set<Region>

    public init(hubs: Set<String> = [], regions: Set<Region> = []) { self.hubs = hubs; self.regions = regions }

    /// No hub and no region given: every figure covers every hub.
    public var isEverything: Bool { hubs.isEmpty && regions.isEmpty }

    /// Whether an item at `place` counts.
    public func covers(_ place: Place?) -> Bool {
        if isEverything { return true }
        guard let place else { return false }
        return hubs.contains(place.hub) || regions.contains { $0.rawValue == place.region }
    }

    /// The hubs in name order, for output that must not depend on the order they were given in.
    public var sortedHubs: [String] { hubs.sorted() }
    /// The regions in name order.
    public var sortedRegions: [String] { regions.map(\.rawValue).sorted() }

    /// "hubs hackney, woking; regions london", or "every hub".
    public var summary: String {
        if isEverything { return "every hub" }
        var parts: [String] = []
        if !hubs.isEmpty { parts.append((hubs.count == 1 ? "hub " : "hubs ") + sortedHubs.joined(separator: ", ")) }
        if !regions.isEmpty { parts.append((regions.count == 1 ? "region " : "regions ") + sortedRegions.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }
}
