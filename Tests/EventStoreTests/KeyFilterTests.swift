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
