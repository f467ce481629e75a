@testable import EventStore
import Foundation
import Testing

/// The index files events under a 64-bit hash of the stream's name (FNV-1a), so two names can share
/// a key. These two do (found with a cycle-finding search over FNV-1a; checked below): the writer
/// must still give each stream its own versions and expectations, readers its own events, whether
/// the writer learnt the tails by appending or, reopened, from the index.
struct SharedIndexKeyTests {
    static let first = StreamID("s1d2de604ad99e429")
    static let second = StreamID("scd10fdbe393a78f9")

    @Test func theTwoNamesShareAnIndexKey() {
        #expect(Self.first != Self.second)
        #expect(Self.first.indexKey == Self.second.indexKey)
    }

    @Test func streamsSharingAnIndexKeyKeepTheirOwnVersionsExpectationsAndEvents() throws {
        let (a, b) = (Self.first, Self.second)
        try withTemporaryStore { log, path in
            var n = 0
            func event(_ s: StreamID) -> ProposedEvent { n += 1; return makeEvent(s, n) }
            try log.append([event(a), event(a), event(a)], to: a, expecting: .noStream)
            try log.append([event(b)], to: b, expecting: .noStream)
            try log.append([event(a)], to: a, expecting: .exact(2))
            try log.append([event(b)], to: b, expecting: .exact(0))
            #expect(throws: EventStoreError.self) { try log.append([event(b)], to: b, expecting: .exact(3)) }
            // Both in one batch, each with its expectation.
            try log.append(AppendBatch(events: [event(b), event(a), event(b)], expectations: [a: .exact(3), b: .exact(1)]))
            // A fresh writer learns the key's last event from the index, which does not name its stream.
            for reopened in 0..<2 {
                let fresh = try EventLog(path: path, options: .forTests)
                try fresh.append([event(a)], to: a, expecting: .exact(4 + Int64(reopened)))
                try fresh.append([event(b)], to: b, expecting: .exact(3 + Int64(reopened)))
                #expect(throws: EventStoreError.self) { try fresh.append([event(a)], to: a, expecting: .exact(3 + Int64(reopened))) }
            }
            let reader = try EventLog(path: path, options: .forTests)
            let first = try reader.events(in: a), second = try reader.events(in: b)
            #expect(first.allSatisfy { $0.stream == a } && second.allSatisfy { $0.stream == b })
            #expect(first.map(\.streamVersion) == Array(0...6))
            #expect(second.map(\.streamVersion) == Array(0...5))
            #expect(try reader.verify().isOK)
        }
    }
}
