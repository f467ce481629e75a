/// Who holds which roles: a fold of the `access` stream.
public struct AccessState: Sendable, Equatable {
    /// Per actor, the roles granted and not revoked, each with the scope of its grants.
    public private(set) var grants: [String: [Role: Scope]] = [:]
    /// Whether any grant was ever recorded (a store from before roles has none).
    public private(set) var hasRecordedGrants = false

    public init() {}

    /// A state as a checkpoint saved it.
    public init(grants: [(actor: String, role: Role, scope: Scope)], hasRecordedGrants: Bool) {
        for grant in grants { self.grants[grant.actor, default: [:]][grant.role] = grant.scope }
        self.hasRecordedGrants = hasRecordedGrants
    }

    public mutating func apply(_ event: HubEvent) {
        switch event {
        case .accessGranted(let actor, let role, let scope):
            hasRecordedGrants = true
            if let existing = grants[actor]?[role] {
                // A second grant widens the first; either covering everywhere covers everywhere.
                grants[actor]?[role] = existing.isEverywhere || scope.isEverywhere ? .everywhere
                    : Scope(hubs: existing.hubs.union(scope.hubs), regions: existing.regions.union(scope.regions))
            } else {
                grants[actor, default: [:]][role] = scope
            }
        case .accessRevoked(let actor, let role):
            grants[actor]?[role] = nil
            if grants[actor]?.isEmpty == true { grants[actor] = nil }
        default:
            break
        }
    }

    /// The actor's roles. A store with no grants recorded at all (made before roles existed, or
    /// through the library) has one admin: `fallbackAdmin`, the owner of its directory.
    public func roles(of actor: String, fallbackAdmin: String? = nil) -> Set<Role> {
        if !hasRecordedGrants, actor == fallbackAdmin { return [.admin] }
        return Set(grants[actor]?.keys.map { $0 } ?? [])
    }

    public func permits(_ actor: String, _ permission: Permission, fallbackAdmin: String? = nil) -> Bool {
        roles(of: actor, fallbackAdmin: fallbackAdmin).contains { $0.allows(permission) }
    }

    /// Where the actor may do `permission`: the union of the scopes of every role of theirs that
    /// allows it, or nil when none does.
    public func scope(of actor: String, for permission: Permission, fallbackAdmin: String? = nil) -> Scope? {
        if !hasRecordedGrants, actor == fallbackAdmin { return .everywhere }
        var scope: Scope?
        for (role, granted) in grants[actor] ?? [:] where role.allows(permission) {
            scope = scope.map { $0.union(granted) } ?? granted
        }
        return scope
    }

    /// The actors holding `role`.
    public func holders(of role: Role) -> [String] { grants.filter { $0.value[role] != nil }.keys.sorted() }
}
