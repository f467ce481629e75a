/// Which case a `HubEvent` is, as one byte: what a read model checks before it looks inside an
/// event, so that a rebuild hands each projection only the kinds it folds without copying the rest.
extension HubEvent {
    public enum Kind: UInt8, Sendable, CaseIterable {
        case participantRegistered, participantMoved, consentGiven, consentWithdrawn, attendanceRecorded, surveyCompleted,
             signpostGiven, flagRaised, flagRemoved, referralReceived, referralContacted, referralAccepted, referralDeclined,
             referralClosed, sessionHeld, concernRaised, concernEscalated, concernClosed, eventRetracted, alertRaised,
             accessGranted, accessRevoked, participantErased
    }

    /// A set of kinds, as a bit mask.
    public struct Kinds: Sendable, Equatable, ExpressibleByArrayLiteral {
        public let mask: UInt32
        public init(arrayLiteral kinds: Kind...) { mask = kinds.reduce(0) { $0 | 1 << UInt32($1.rawValue) } }
        public static let all = Kinds(mask: UInt32.max)
        init(mask: UInt32) { self.mask = mask }
        /// Every kind in either set.
        public func union(_ other: Kinds) -> Kinds { Kinds(mask: mask | other.mask) }
        @inline(__always) public func contains(_ kind: Kind) -> Bool { mask & (1 << UInt32(kind.rawValue)) != 0 }
    }

    public var kind: Kind {
        switch self {
        case .participantRegistered: return .participantRegistered
        case .participantMoved: return .participantMoved
        case .consentGiven: return .consentGiven
        case .consentWithdrawn: return .consentWithdrawn
        case .attendanceRecorded: return .attendanceRecorded
        case .surveyCompleted: return .surveyCompleted
        case .signpostGiven: return .signpostGiven
        case .flagRaised: return .flagRaised
        case .flagRemoved: return .flagRemoved
        case .referralReceived: return .referralReceived
        case .referralContacted: return .referralContacted
        case .referralAccepted: return .referralAccepted
        case .referralDeclined: return .referralDeclined
        case .referralClosed: return .referralClosed
        case .sessionHeld: return .sessionHeld
        case .concernRaised: return .concernRaised
        case .concernEscalated: return .concernEscalated
        case .concernClosed: return .concernClosed
        case .eventRetracted: return .eventRetracted
        case .alertRaised: return .alertRaised
        case .accessGranted: return .accessGranted
        case .accessRevoked: return .accessRevoked
        case .participantErased: return .participantErased
        }
    }
}

extension EventType {
    /// The `HubEvent` kind events of this type decode to.
    public var kind: HubEvent.Kind {
        switch self {
        case .participantRegistered: return .participantRegistered
        case .participantMoved: return .participantMoved
        case .consentGiven: return .consentGiven
        case .consentWithdrawn: return .consentWithdrawn
        case .attendanceRecorded: return .attendanceRecorded
        case .surveyCompleted: return .surveyCompleted
        case .signpostGiven: return .signpostGiven
        case .flagRaised: return .flagRaised
        case .flagRemoved: return .flagRemoved
        case .referralReceived: return .referralReceived
        case .referralContacted: return .referralContacted
        case .referralAccepted: return .referralAccepted
        case .referralDeclined: return .referralDeclined
        case .referralClosed: return .referralClosed
        case .sessionHeld: return .sessionHeld
        case .concernRaised: return .concernRaised
        case .concernEscalated: return .concernEscalated
        case .concernClosed: return .concernClosed
        case .eventRetracted: return .eventRetracted
        }
    }
}
