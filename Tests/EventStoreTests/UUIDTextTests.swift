import EventStore
import Foundation
import Testing

/// Event ids are written digit by digit (`lowercasedString`) rather than through Foundation's
/// `uuidString`: the two must spell every id alike, the parser must read it back.
struct UUIDTextTests {
    @Test func idsAreSpelledAsFoundationSpellsThemInLowerCase() throws {
        var ids = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                   UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255)),
                   try #require(UUID(uuidString: "0123456789ABCDEF0123456789ABCDEF".chunked()))]
        for _ in 0..<1_000 { ids.append(UUID.random()) }
        for id in ids {
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(uuidString: id.lowercasedString) == id)
        }
    }
}

private extension String {
    /// 32 hex digits as 8-4-4-4-12.
    func chunked() -> String {
        let c = Array(self)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(c[$0]) }.joined(separator: "-")
    }
}
