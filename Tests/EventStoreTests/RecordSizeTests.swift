@testable import EventStore
import Foundation
import Testing

/// A record's size is known before it is written: the writer places a batch by it, writes it in pieces,
/// and refuses a record larger than a reader accepts (acknowledged, it would read as damage).
struct RecordSizeTests {
    static let varied: [ProposedEvent] = [
        makeEvent("s", 0),
        makeEvent("stream-é-😀", 1, data: JSONObject()),
        makeEvent("s", 2, type: "Nested", data: JSONObject([
            (key: "list", value: .array([.null, .bool(true), .bool(false), .int(-7), .double(2.5), .string("ünï"), .array([])])),
            (key: "inner", value: .object(JSONObject([(key: "k", value: .object(JSONObject())), (key: "", value: .string(""))]))),
        ])),
        ProposedEvent(stream: "s", type: "Linked", occurredAt: Timestamp(microseconds: 1), actor: "a",
                      data: JSONObject([(key: "x", value: 1)]), correlationId: "corr-1", causationId: "cause-22"),
        ProposedEvent(stream: "s", type: "Caused", occurredAt: Timestamp(microseconds: 2), actor: "",
                      data: JSONObject(), causationId: "only-cause"),
    ]

    @Test(arguments: 0..<varied.count)
    func theCountedSizeIsTheSizeEncoded(_ index: Int) {
        var event = Self.varied[index]
        var bytes: [UInt8] = []
        _ = RecordCodec.encode(&event, position: 3, version: 1, recordedAt: Timestamp(microseconds: 9),
                               previousHash: .genesis, endsBatch: true, into: &bytes)
        #expect(RecordCodec.bodySize(of: &event) == bytes.count - RecordCodec.frameHeaderSize)
    }

    /// An event whose record body is exactly `size` bytes.
    static func event(withBodySize size: Int) -> ProposedEvent {
        var event = makeEvent("s", 1, data: JSONObject([(key: "text", value: .string(""))]))
        let padding = size - RecordCodec.bodySize(of: &event)
        event.data = JSONObject([(key: "text", value: .string(String(repeating: "x", count: padding)))])
        return event
    }

    @Test func aRecordOfTheLargestSizeIsWrittenAndReadAndOneByteMoreIsRefused() throws {
        try withTemporaryStore { log, _ in
            try log.append([makeEvent("s", 0)], to: "s")
            let head = try log.head()
            var tooLarge = Self.event(withBodySize: RecordCodec.maximumBodySize + 1)
            #expect(RecordCodec.bodySize(of: &tooLarge) == RecordCodec.maximumBodySize + 1)
            let error = try #require(throws: EventStoreError.self) { try log.append([makeEvent("s", 1), tooLarge], to: "s") }
            guard case .invalidEvent(let reason) = error else { Issue.record("expected .invalidEvent, got \(error)"); return }
            #expect(reason.contains("16 MiB"), "\(reason)")
            #expect(try log.head() == head, "nothing of the refused batch is written")

            let largest = Self.event(withBodySize: RecordCodec.maximumBodySize)
            try log.append([largest], to: "s")
            let report = try log.verify()
            #expect(report.isOK, "\(String(describing: report.error))")
            #expect(report.events == 2)
            #expect(try log.events(in: "s").last?.data == largest.data)
        }
    }
}
