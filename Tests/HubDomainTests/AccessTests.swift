import EventStore
import HubDomain
import Testing

struct AccessTests {
    @Test func eachRoleAllowsWhatItsWorkNeedsAndNothingMore() {
        #expect(Role.facilitator.allows(.record(.attendanceRecorded)))
        #expect(Role.facilitator.allows(.record(.concernRaised)))
        #expect(Role.facilitator.allows(.importRegister))
        #expect(!Role.facilitator.allows(.readReview))
        #expect(!Role.facilitator.allows(.readHistory))
        #expect(!Role.facilitator.allows(.record(.concernEscalated)))
        #expect(!Role.facilitator.allows(.record(.referralReceived)))
        #expect(Role.referralCoordinator.allows(.readReferrals))
        #expect(!Role.referralCoordinator.allows(.record(.attendanceRecorded)))
        #expect(Role.safeguardingLead.allows(.record(.attendanceRecorded)) && Role.safeguardingLead.allows(.readReferrals))
        #expect(Role.safeguardingLead.allows(.retract) && Role.safeguardingLead.allows(.record(.concernClosed)))
        #expect(!Role.safeguardingLead.allows(.readAudit) && !Role.safeguardingLead.allows(.administer))
        #expect(Permission.allCasesForTests.allSatisfy { Role.admin.allows($0) })
        #expect(Permission.allCasesForTests.filter { Role.auditor.allows($0) } == [.readAudit, .verify])
        #expect(Permission.readHistory.roles == [.safeguardingLead, .admin])
    }

    @Test func grantsAndRevocationsFoldInOrder() {
        var state = AccessState()
        #expect(state.roles(of: "owner", fallbackAdmin: "owner") == [.admin], "no grants recorded: the owner is admin")
        state.apply(.accessGranted(actor: "ana", role: .facilitator, scope: .everywhere))
        #expect(state.roles(of: "owner", fallbackAdmin: "owner").isEmpty, "once grants exist, only they count")
        state.apply(.accessGranted(actor: "ana", role: .auditor, scope: .everywhere))
        state.apply(.accessRevoked(actor: "ana", role: .facilitator))
        #expect(state.roles(of: "ana") == [.auditor])
        #expect(state.permits("ana", .readAudit) && !state.permits("ana", .record(.sessionHeld)))
        state.apply(.accessRevoked(actor: "ana", role: .auditor))
        #expect(state.grants["ana"] == nil)
        #expect(state.holders(of: .auditor).isEmpty)
    }

    @Test func accessEventsDecodeFromTheirStoredForm() {
        let granted = HubEvent(type: AccessRecords.granted, data: AccessRecords.grant(actor: "ana", role: .safeguardingLead))
        #expect(granted == .accessGranted(actor: "ana", role: .safeguardingLead, scope: .everywhere))
        #expect(HubEvent(type: AccessRecords.granted, data: ["actor": "ana", "role": "juggler"]) == nil)
        #expect(HubEvent(type: AccessRecords.erased, data: AccessRecords.erasure(participant: "P-1", reason: "r", events: [], values: 0, retentionOverride: nil))
                == .participantErased(participant: "P-1"))
        #expect(HubEvent(type: AccessRecords.viewed, data: AccessRecords.view(participant: "P-1", viewer: "v", purpose: "p")) == nil)
    }
}

extension Permission {
    static var allCasesForTests: [Permission] {
        EventType.allCases.map(Permission.record) + [.importRegister, .retract, .readHistory, .readViews, .readReview, .readReferrals,
                                                     .readAudit, .verify, .administer]
    }
}
