import EventStore
import HubDomain

/// Who holds which roles, folded from the `access` stream: small, and checked before every command.
public struct AccessProjection: Projection {
    public static let name = "access"
    public static let folds: HubEvent.Kinds = [.accessGranted, .accessRevoked]

    public private(set) var state = AccessState()

    public init() {}

    public mutating func apply(_ event: DomainEvent) {
        switch event.event {
        case .accessGranted, .accessRevoked: state.apply(event.event)
        default: break
        }
    }

    public func encode(to w: inout StateWriter) {
        var grants: [(String, Role, Scope)] = []
        for (actor, roles) in state.grants.sorted(by: { $0.key < $1.key }) {
            for (role, scope) in roles.sorted(by: { $0.key < $1.key }) { grants.append((actor, role, scope)) }
        }
        w.bool(state.hasRecordedGrants)
        w.array(grants) { w, grant in
            w.string(grant.0)
            w.raw(grant.1)
            w.array(grant.2.hubs.sorted()) { $0.string($1) }
            w.array(grant.2.regions.sorted()) { $0.string($1) }
        }
    }

    public init(from r: inout StateReader) throws {
        let recorded = try r.bool()
        let grants = try r.array { r in
            (try r.string(), try r.raw(Role.self), Scope(hubs: Set(try r.array { try $0.string() }), regions: Set(try r.array { try $0.string() })))
        }
        state = AccessState(grants: grants, hasRecordedGrants: recorded)
    }
}
