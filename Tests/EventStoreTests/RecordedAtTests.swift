import EventStore
import Foundation
import Testing

/// A caller-given `recordedAt` (an import of another store's log): kept as given, never before the
/// log's last, never after the clock; every other append takes the store's clock.
struct RecordedAtTests {
    let stream = StreamID("imported")
    let clockNow: Int64 = 1_800_000_000_000_000

    var options: EventLog.Options {
        var options = EventLog.Options.forTests
        options.clock = { [clockNow] in Timestamp(microseconds: clockNow) }
        return options
    }

    func event(_ n: Int, recordedAt micros: Int64?) -> ProposedEvent {
        var event = makeEvent(stream, n)
        event.recordedAt = micros.map(Timestamp.init(microseconds:))
        return event
    }

    @Test func aGivenRecordedAtIsKeptAndAnEventWithoutOneTakesTheClock() throws {
        try withTemporaryStore(options: options) { log, _ in
            let early: Int64 = 1_700_000_000_000_000
            try log.append([event(1, recordedAt: early), event(2, recordedAt: early + 5), event(3, recordedAt: nil)], to: stream)
            try log.append([event(4, recordedAt: nil)], to: stream)
            #expect(try log.events().map(\.recordedAt.microseconds) == [early, early + 5, clockNow, clockNow])
            #expect(try log.verify().isOK)
        }
    }

    @Test func aRecordedAtEarlierThanTheLogsLastIsRefusedAndNothingIsWritten() throws {
        try withTemporaryStore(options: options) { log, _ in
            let early: Int64 = 1_700_000_000_000_000
            try log.append([event(1, recordedAt: early)], to: stream)
            let head = try log.head()
            let before = event(2, recordedAt: early - 1)
            #expect(throws: EventStoreError.recordedAtBeforeLog(id: before.id, recordedAt: before.recordedAt ?? .now,
                                                                last: Timestamp(microseconds: early))) {
                try log.append([before], to: stream)
            }
            // Within one batch too: the second event's time goes back behind the first's.
            let first = event(3, recordedAt: early + 10), second = event(4, recordedAt: early + 9)
            #expect(throws: EventStoreError.recordedAtBeforeLog(id: second.id, recordedAt: Timestamp(microseconds: early + 9),
                                                                last: Timestamp(microseconds: early + 10))) {
                try log.append([first, second], to: stream)
            }
            #expect(try log.head() == head)
            #expect(try log.events().count == 1)
        }
    }

    @Test func aRecordedAtLaterThanTheClockIsRefusedAndNothingIsWritten() throws {
        try withTemporaryStore(options: options) { log, _ in
            let future = event(1, recordedAt: clockNow + 1)
            #expect(throws: EventStoreError.recordedAtInFuture(id: future.id, recordedAt: Timestamp(microseconds: clockNow + 1),
                                                               now: Timestamp(microseconds: clockNow))) {
                try log.append([event(0, recordedAt: nil), future], to: stream)
            }
            #expect(try log.head() == nil)
            try log.append([event(2, recordedAt: clockNow)], to: stream)
            #expect(try log.events().map(\.recordedAt.microseconds) == [clockNow])
        }
    }
}
