import EventStore
import Foundation

/// The events that record who may see what, who was refused and who looked: written by the
/// `access`, `history` and `erase` commands (never by `record` or `import`), each to a stream
/// of its own so they never contend with a participant's record.
public enum AccessRecords {
    public static let granted = "AccessGranted"
    public static let revoked = "AccessRevoked"
    public static let denied = "AccessDenied"
    public static let viewed = "RecordViewed"
    public static let erased = "ParticipantErased"

    /// Grants and revocations, in order: the roles at any position are a fold of this stream.
    public static let accessStream = StreamID("access")
    /// Refusals, kept apart from the grants so a burst of them never delays a grant.
    public static let deniedStream = StreamID("access-denied")

    /// Where the views of one participant's record are kept (`history P --views` reads it).
    public static func viewsStream(of participant: String) -> StreamID { StreamID("views-" + participant) }

    public static let types: Set<String> = [granted, revoked, denied, viewed, erased]

    public static func grant(actor: String, role: Role, scope: Scope = .everywhere) -> JSONObject {
        var data: JSONObject = ["actor": .string(actor), "role": .string(role.rawValue)]
        if !scope.hubs.isEmpty { data["hubs"] = .array(scope.hubs.sorted().map(JSONValue.string)) }
        if !scope.regions.isEmpty { data["regions"] = .array(scope.regions.sorted().map(JSONValue.string)) }
        return data
    }

    /// An `AccessGranted` for the `access` stream, recorded now by `recorder`.
    public static func grantEvent(_ actor: String, _ role: Role, scope: Scope = .everywhere, by recorder: String) -> ProposedEvent {
        ProposedEvent(stream: accessStream, type: granted, occurredAt: .now, actor: recorder, data: grant(actor: actor, role: role, scope: scope))
    }

    /// An `AccessRevoked` for the `access` stream, recorded now by `recorder`.
    public static func revokeEvent(_ actor: String, _ role: Role, by recorder: String) -> ProposedEvent {
        ProposedEvent(stream: accessStream, type: revoked, occurredAt: .now, actor: recorder, data: revoke(actor: actor, role: role))
    }

    public static func revoke(actor: String, role: Role) -> JSONObject {
        ["actor": .string(actor), "role": .string(role.rawValue)]
    }

    public static func denial(actor: String, command: String, subject: String?, reason: String) -> JSONObject {
        var data: JSONObject = ["actor": .string(actor), "command": .string(command), "reason": .string(reason)]
        if let subject { data["subject"] = .string(subject) }
        return data
    }

    public static func view(participant: String, viewer: String, purpose: String) -> JSONObject {
        ["participant": .string(participant), "viewer": .string(viewer), "purpose": .string(purpose)]
    }

    /// The fields of a `RecordViewed` the store seals: the purpose is free text about the person, so
    /// `erase` removes it like every other.
    public static let sealedViewFields: Set<String> = ["purpose"]

    /// A `RecordViewed` for the participant's views stream, recorded now by `viewer` (`asOf`: the
    /// `--as-of` the record was viewed at, as given).
    public static func viewEvent(participant: String, viewer: String, purpose: String, asOf: String?) -> ProposedEvent {
        var data = view(participant: participant, viewer: viewer, purpose: purpose)
        if let asOf { data["asOf"] = .string(asOf) }
        return ProposedEvent(stream: viewsStream(of: participant), type: viewed, occurredAt: .now, actor: viewer, data: data,
                             sealedFields: sealedViewFields)
    }

    public static func erasure(participant: String, reason: String, events: [UUID], values: Int, retentionOverride: String?) -> JSONObject {
        var data: JSONObject = ["participant": .string(participant), "reason": .string(reason), "values": .int(Int64(values)),
                                "events": .array(events.map { .string($0.lowercasedString) })]
        if let retentionOverride { data["retentionOverride"] = .string(retentionOverride) }
        return data
    }
}

/// The hubs and regions a grant covers; empty sets mean every hub.
public struct Scope: Sendable, Hashable {
    public var hubs: Set<String>
    public var regions: Set<String>

    public init(hubs: Set<String> = [], regions: Set<String> = []) { self.hubs = hubs; self.regions = regions }

    public static let everywhere = Scope()
    public var isEverywhere: Bool { hubs.isEmpty && regions.isEmpty }
}
