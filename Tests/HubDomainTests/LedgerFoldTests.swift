import EventStore
import Foundation
import HubDomain
import TestSupport
import Testing

/// The rules see the log as acknowledged: a batch cut short by a crash (its records never
/// acknowledged, removed by the next writer) must not count, though the fold reads records in place
/// as they come.
@Test func aTornFinalBatchIsNotPartOfWhatTheRulesSee() throws {
    let dir = NSTemporaryDirectory() + "hubledger-ledger-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let now = Timestamp(rfc3339: "2025-06-01T12:00:00Z") ?? .now
    func draft(_ type: String, _ data: JSONObject, line: Int) -> EventDraft {
        EventDraft(type: type, occurredAt: "2025-05-01T09:00:00Z", data: data, id: nil, file: "ledger.jsonl", line: line)
    }
    let registration = draft("ParticipantRegistered", ["participant": "P-T", "generation": "adult", "hub": "woking", "region": "surrey"], line: 1)
    let consent = draft("ConsentGiven", ["participant": "P-T", "scope": "participation", "givenBy": "self"], line: 2)
    do {
        let log = try EventLog.create(at: dir)
        let recorder = Recorder(log: log, actor: "ledger-test", clock: { now })
        _ = try recorder.submit([draft("ParticipantRegistered", ["participant": "P-A", "generation": "adult", "hub": "woking", "region": "surrey"], line: 1)])
        _ = try recorder.submit([registration, consent])
    }
    // The crash: the batch's first record reached the disk, its last did not.
    let segment = dir + "/segments/00000001.seg"
    var image = try SegmentImage(path: segment)
    try #require(image.frames.count == 3)
    image.zero(image.frames[2])
    try image.write(to: segment)

    let log = try EventLog(path: dir)
    let outcome = try Recorder(log: log, actor: "ledger-test", clock: { now }).submit([registration, consent])
    #expect(outcome.appended.count == 2, "P-T was never registered as far as anyone was told")
    #expect(try log.verify().isOK)
    #expect(try log.events().filter { $0.type == "ParticipantRegistered" }.compactMap { $0.data["participant"]?.stringValue } == ["P-A", "P-T"])
}

/// `EventType.kind` and `HubEvent.kind` are two switches over the same names: a hub event of each
/// type is of the kind of the same name.
@Test func everyEventTypeMapsToTheKindOfTheSameName() {
    for type in EventType.allCases { #expect("\(type.kind)" == "\(type)") }
}
