/// What a member of staff is trusted with. Granted and revoked by events in the `access`
/// stream, so who could do what on any past date is itself on the record.
public enum Role: String, Sendable, CaseIterable, Comparable {
    case facilitator
    case referralCoordinator = "referral-coordinator"
    case safeguardingLead = "safeguarding-lead"  // also raises and removes flags
    case auditor
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    public static let spellings = allCases.map(\.rawValue)

    /// Whether this role alone permits `permission` (need-to-know: each role gets what its work needs).
    public func allows(_ permission: Permission) -> Bool {
        switch self {
        case .admin: return true
        case .auditor: return permission == .readAudit || permission == .verify
        case .facilitator: return Role.facilitatorPermits(permission)
        case .referralCoordinator: return Role.coordinatorPermits(permission)
        case .safeguardingLead:
            if Role.facilitatorPermits(permission) || Role.coordinatorPermits(permission) { return true }
            switch permission {
            case .readHistory, .readViews, .readReview, .retract: return true
            case .record(let type): return [.concernEscalated, .concernClosed, .eventRetracted, .flagRaised, .flagRemoved].contains(type)
            default: return false
            }
        }
    }

    /// Sessions, attendance, registers, surveys, signposts, the people and consents met at the door,
    /// and raising a concern (never reading one back).
    static func facilitatorPermits(_ permission: Permission) -> Bool {
        switch permission {
        case .importRegister: return true
        case .record(let type):
            return [.participantRegistered, .participantMoved, .consentGiven, .consentWithdrawn, .sessionHeld, .attendanceRecorded,
                    .surveyCompleted, .signpostGiven, .concernRaised].contains(type)
        default: return false
        }
    }

    /// Referrals in and out (accepted too), and registering the person a referral is about.
    static func coordinatorPermits(_ permission: Permission) -> Bool {
        switch permission {
        case .readReferrals: return true
        case .record(let type):
            return [.participantRegistered, .participantMoved, .referralReceived, .referralContacted, .referralAccepted, .referralDeclined,
                    .referralClosed].contains(type)
        default: return false
        }
    }
}

/// Something a command asks to do, checked against the actor's roles before it does anything.
public enum Permission: Sendable, Hashable, CustomStringConvertible {
    /// Recording events of one type (`record`, `import`).
    case record(EventType)
    /// A facilitator's attendance register (`import --register`).
    case importRegister
    case retract
    /// A participant's chronology (`history`).
    case readHistory
    /// Who viewed a participant's record (`history --views`).
    case readViews
    case readReview
    case readReferrals
    case readAudit
    case verify
    /// The store itself: roles, erasure, rebuilds, the daemon, raw log access and exports.
    case administer

    /// The roles that permit this, for a refusal that tells the user whom to ask.
    public var roles: [Role] { Role.allCases.filter { $0.allows(self) } }

    public var description: String {
        switch self {
        case .record(let type): return "recording \(type.rawValue)"
        case .importRegister: return "importing an attendance register"
        case .retract: return "retracting an event"
        case .readHistory: return "reading a chronology"
        case .readViews: return "reading who viewed a record"
        case .readReview: return "reading the safeguarding review"
        case .readReferrals: return "reading referrals"
        case .readAudit: return "reading the audit"
        case .verify: return "verifying the log"
        case .administer: return "administering the store"
        }
    }
}
