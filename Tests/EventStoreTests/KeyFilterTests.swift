@testable import EventStore
import Foundation
import Testing

/// The id filter never forgets an id it was given, and answers "maybe" for an absent id about as
/// rarely as its sizing promises, spread or blocked.
@Test(arguments: [false, true])
func aKeyFilterKeepsEveryKeyAndRarelyAnswersMaybeForOthers(blocked: Bool) {
    let keys = 100_000
    var filter = KeyFilter(capacityFor: keys, hashCount: 8, bitsPerKey: 32, blocked: blocked)
    var present: [UInt64] = []
    for _ in 0..<keys { let k = UInt64.random(in: 0...UInt64.max); present.append(k); filter.insert(k) }
    #expect(present.allSatisfy(filter.mightContain), "no false negatives")
    var maybes = 0
    let asked = 1_000_000
    for _ in 0..<asked where filter.mightContain(UInt64.random(in: 0...UInt64.max)) { maybes += 1 }
    // Sized for 100,000 at 32 bits each and filled to that: about 3 in a million blocked, 6 spread. A block
    // filled by double hashing (offsets in arithmetic progression) answered "maybe" for ~270.
    #expect(maybes < 40, "\(maybes) false positives in \(asked)")
}

/// Asking and adding in one visit (the writer's `mightHold`) answers as `mightContain` before
/// `insert` would, and leaves the same bits; a prefetch changes nothing.
@Test(arguments: [false, true])
func insertingAKeyReportsWhetherTheFilterMightHaveHeldIt(blocked: Bool) {
    var oneVisit = KeyFilter(capacityFor: 10_000, hashCount: 8, bitsPerKey: 32, blocked: blocked)
    var twoVisits = oneVisit
    var reportedPresent = 0
    for _ in 0..<10_000 {
        let k = UInt64.random(in: 0...UInt64.max)
        oneVisit.prefetch(k)
        let expected = twoVisits.mightContain(k)
        twoVisits.insert(k)
        let reported = oneVisit.insertReportingPresence(k)
        #expect(reported == expected)
        if reported { reportedPresent += 1 }
        let again = oneVisit.insertReportingPresence(k)
        #expect(again, "present once added")
    }
    #expect(oneVisit == twoVisits)
    #expect(oneVisit.inserted == 10_000 - reportedPresent)
}

@Test("inserting many keys at once, blocks asked for ahead, leaves the filter as inserting them one by one",
      arguments: [false, true])
func insertingManyKeysAtOnceMatchesOneByOne(blocked: Bool) {
    // Fewer keys than the lookahead, exactly as many, and many more: the ends of the staggered loop.
    for count in [0, 5, KeyFilter.lookahead, 3 * KeyFilter.lookahead + 7, 20_000] {
        let keys = (0..<count).map { _ in UInt64.random(in: 0...UInt64.max) }
        var many = KeyFilter(capacityFor: 20_000, hashCount: 8, bitsPerKey: 32, blocked: blocked)
        var single = many
        many.insert(contentsOf: keys + keys.prefix(3))
        for k in keys + keys.prefix(3) { single.insert(k) }
        #expect(many == single)
        #expect(many.inserted == single.inserted)
        #expect(keys.allSatisfy(many.mightContain))
    }
}
