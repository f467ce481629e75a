/// The closed vocabularies of a hub's record: every enum value an event may carry.
///
/// Raw values are the spellings staff type and files carry; they are part of
/// the interface and never renamed.
public enum Generation: String, Sendable, CaseIterable, Codable { case child, youngPerson = "young-person", adult, olderAdult = "older-adult" }
public enum Region: String, Sendable, CaseIterable, Codable { case surrey, london, greaterManchester = "greater-manchester" }
public enum ConsentScope: String, Sendable, CaseIterable, Codable { case participation, photography, surveys, dataSharing = "data-sharing" }
public enum ConsentGiver: String, Sendable, CaseIterable, Codable { case `self`, parentOrGuardian = "parent-or-guardian" }
public enum ReferralSource: String, Sendable, CaseIterable, Codable {
    case mentalHealthTeam = "mental-health-team", linkWorker = "link-worker", gp, school, socialCare = "social-care"
    case `self`, family, otherCharity = "other-charity", other
}
public enum ContactChannel: String, Sendable, CaseIterable, Codable { case phone, email, letter, inPerson = "in-person" }
public enum ClosureReason: String, Sendable, CaseIterable, Codable { case completed, disengaged, noContact = "no-contact", inappropriate }
public enum SignpostCategory: String, Sendable, CaseIterable, Codable {
    case health, mentalHealth = "mental-health", housing, financial, social, education, other
}
public enum ConcernCategory: String, Sendable, CaseIterable, Codable {
    case physical, emotional, sexual, neglect, exploitation, domestic, psychological, financial
    case modernSlavery = "modern-slavery", discriminatory, organisational, selfNeglect = "self-neglect", selfHarm = "self-harm", other
}
public enum Severity: String, Sendable, CaseIterable, Codable, Comparable {
    case low, medium, high, critical
    var rank: Int { Severity.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
public enum EscalationTarget: String, Sendable, CaseIterable, Codable {
    case childrensServices = "childrens-services", adultSocialCare = "adult-social-care", police, lado
    case mentalHealthTeam = "mental-health-team", gp, other
}

extension CaseIterable where Self: RawRepresentable, Self.RawValue == String {
    /// The allowed spellings, for error messages.
    static var spellings: [String] { allCases.map(\.rawValue) }
}
