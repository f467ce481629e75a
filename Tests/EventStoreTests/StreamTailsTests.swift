@testable import EventStore
import Foundation
import Testing

/// The writer's table of stream tails answers for the stream asked about, not merely its key:
/// two streams that share an index key are told apart by their names' bytes.
struct StreamTailsTests {
    @Test func aStreamsTailIsItsOwnAndAnotherStreamWithTheSameKeyIsToldApart() {
        var tails = StreamTails()
        #expect(tails.lookUp("participant-P-1", key: 7) == .none)
        #expect(tails.position(ofKey: 7) == nil)
        tails.set("participant-P-1", key: 7, position: 40, version: 3)
        #expect(tails.lookUp("participant-P-1", key: 7) == .thisStream(position: 40, version: 3))
        #expect(tails.position(ofKey: 7) == 40)
        // Same key, other names: a prefix, a longer name, one byte different.
        #expect(tails.lookUp("participant-P-", key: 7) == .otherStream(position: 40))
        #expect(tails.lookUp("participant-P-10", key: 7) == .otherStream(position: 40))
        #expect(tails.lookUp("participant-P-2", key: 7) == .otherStream(position: 40))
        // The other stream's event becomes the key's last: now it is the one answered for.
        tails.set("participant-P-2", key: 7, position: 41, version: 0)
        #expect(tails.lookUp("participant-P-2", key: 7) == .thisStream(position: 41, version: 0))
        #expect(tails.lookUp("participant-P-1", key: 7) == .otherStream(position: 41))
        #expect(tails.count == 1)
    }

    @Test func aTailFoundInTheIndexHasNoStreamUntilOneIsSet() {
        var tails = StreamTails()
        tails.set("referral-R-1", key: 0, position: 5, version: 1)
        tails.setPosition(9, ofKey: 0)
        #expect(tails.lookUp("referral-R-1", key: 0) == .unnamed(position: 9))
        tails.set("referral-R-1", key: 0, position: 9, version: 2)
        #expect(tails.lookUp("referral-R-1", key: 0) == .thisStream(position: 9, version: 2))
        // Position 0 is a position like any other (an empty slot is marked otherwise).
        tails.setPosition(0, ofKey: 1)
        #expect(tails.position(ofKey: 1) == 0)
    }

    @Test func everyTailSurvivesTheTableGrowing() {
        var tails = StreamTails()
        let streams = 20_000
        // Keys in a run of small numbers, as a poorly mixing hash would give.
        for n in 0..<streams { tails.set(StreamID("session-S-\(n)"), key: UInt64(n), position: LogPosition(n * 3), version: StreamVersion(n % 7)) }
        for n in stride(from: 0, to: streams, by: 2) { tails.set(StreamID("session-S-\(n)"), key: UInt64(n), position: LogPosition(n * 3 + 1), version: StreamVersion(n % 7 + 1)) }
        #expect(tails.count == streams)
        var wrong = 0
        for n in 0..<streams {
            let expected = n % 2 == 0 ? StreamTails.Lookup.thisStream(position: LogPosition(n * 3 + 1), version: StreamVersion(n % 7 + 1))
                                      : .thisStream(position: LogPosition(n * 3), version: StreamVersion(n % 7))
            if tails.lookUp(StreamID("session-S-\(n)"), key: UInt64(n)) != expected { wrong += 1 }
        }
        #expect(wrong == 0)
        var keys = Set<UInt64>()
        tails.forEachKey { keys.insert($0) }
        #expect(keys == Set((0..<streams).map(UInt64.init)))
    }
}

/// `verify`'s version check keeps each stream's own last version, even for streams whose hashes
/// are the same (forced here: the key is the caller's).
@Test func streamsSharingAHashKeepTheirOwnVersionsInVerifysCheck() {
    var versions = StreamVersions()
    #expect(versions.replace("participant-P-1", key: 9, position: 0, with: 0) == -1)
    #expect(versions.replace("participant-P-2", key: 9, position: 1, with: 0) == -1)
    #expect(versions.replace("participant-P-1", key: 9, position: 2, with: 1) == 0)
    #expect(versions.replace("participant-P-2", key: 9, position: 3, with: 1) == 0)
    #expect(versions.replace("participant-P-3", key: 9, position: 4, with: 0) == -1)
    #expect(versions.replace("participant-P-2", key: 9, position: 5, with: 2) == 1)
    #expect(versions.replace("participant-P-1", key: 9, position: 6, with: 2) == 1)
    #expect(versions.replace("participant-P-4", key: 10, position: 7, with: 0) == -1)
    #expect(versions.replace("participant-P-4", key: 10, position: 8, with: 1) == 0)
}
