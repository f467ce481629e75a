import EventStore
import Foundation
import HubDomain

/// One referral in the pipeline: received → contacted → accepted → first attendance, or declined / closed.
///
/// Acceptance is a step, not a status: an accepted referral is still `awaiting-first-attendance` until
/// the person comes. The `daysTo…` figures count from receipt, in decimal days.
public struct ReferralStatus: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case awaitingFirstAttendance = "awaiting-first-attendance", attended, declined, closed
    }

    public var referral: String
    public var participant: String
    public var source: ReferralSource
    public var urgent: Bool
    public var receivedAt: Timestamp
    public var status: Status
    public var contactedAt: Timestamp?
    public var acceptedAt: Timestamp?
    public var firstAttendedAt: Timestamp?
    public var daysWaiting: Int?

    public var daysToFirstContact: Double? { contactedAt.map(daysSinceReceipt) }
    public var daysToAcceptance: Double? { acceptedAt.map(daysSinceReceipt) }
    public var daysToFirstAttendance: Double? { firstAttendedAt.map(daysSinceReceipt) }

    func daysSinceReceipt(_ t: Timestamp) -> Double { Double(t.microseconds - receivedAt.microseconds) / 86_400_000_000 }

    public var json: JSONValue {
        var o: JSONObject = ["referral": .string(referral), "participant": .string(participant), "source": .string(source.rawValue),
                             "urgent": .bool(urgent), "receivedAt": .string(receivedAt.rfc3339), "status": .string(status.rawValue)]
        if let contactedAt { o["contactedAt"] = .string(contactedAt.rfc3339) }
        if let acceptedAt { o["acceptedAt"] = .string(acceptedAt.rfc3339) }
        if let firstAttendedAt { o["firstAttendedAt"] = .string(firstAttendedAt.rfc3339) }
        if let daysWaiting { o["daysWaiting"] = .int(Int64(daysWaiting)) }
        if let d = daysToFirstContact { o["daysToFirstContact"] = .double(d) }
        if let d = daysToAcceptance { o["daysToAcceptance"] = .double(d) }
        if let d = daysToFirstAttendance { o["daysToFirstAttendance"] = .double(d) }
        return .object(o)
    }
}

extension Int64 {
    func floorDivided(_ d: Int64) -> Int64 { let q = self / d; return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q }
}

/// The median of some values, or nil when there are none.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The one definition of a referral's first attendance, shared by the pipeline and the audit: the
/// earliest non-retracted attendance of the referred person at a non-retracted session held on or
/// after the referral's `occurredAt`; the result is when that session was held.
enum FirstAttendance {
    static func of(_ attendances: [(id: UUID, session: String)], onOrAfter receivedAt: Timestamp, retracted: IDSet,
                   session: (String) -> (id: UUID, at: Timestamp)?) -> Timestamp? {
        var first: Timestamp?
        for a in attendances where !retracted.contains(a.id) {
            guard let s = session(a.session), !retracted.contains(s.id), s.at >= receivedAt else { continue }
            if first.map({ s.at < $0 }) ?? true { first = s.at }
        }
        return first
    }
}
