import EventStore
import Foundation
import Testing

/// The small named files and locks under a store's `meta/` (what the watch daemons keep there).
struct StoreFilesTests {
    @Test func aSharedLockAdmitsOtherSharedHoldersAndKeepsAnExclusiveOneOut() throws {
        try withTemporaryStore { log, _ in
            // flock locks belong to each opening of the file, so two in one process exclude each other as two processes would.
            do {
                let first = try #require(try log.tryLock(named: "watch", shared: true))
                let second = try #require(try log.tryLock(named: "watch", shared: true), "shared holders admit each other")
                #expect(try log.tryLock(named: "watch") == nil, "an exclusive lock waits for every shared holder")
                withExtendedLifetime((first, second)) {}
            }
            do {
                let exclusive = try #require(try log.tryLock(named: "watch"), "free again once the shared holders let go")
                #expect(try log.tryLock(named: "watch", shared: true) == nil, "a shared lock waits for the exclusive holder")
                withExtendedLifetime(exclusive) {}
            }
        }
    }

    @Test func metadataIsListedAndRemovedByName() throws {
        try withTemporaryStore { log, _ in
            #expect(try log.metadataNames().isEmpty, "no meta/ before the first file")
            try log.saveMetadata(Array("{}".utf8), named: "heartbeat-a.json")
            try log.saveMetadata(Array("{}".utf8), named: "heartbeat-b.json")
            #expect(try Set(log.metadataNames()) == ["heartbeat-a.json", "heartbeat-b.json"])
            try log.removeMetadata(named: "heartbeat-a.json")
            try log.removeMetadata(named: "heartbeat-a.json")   // already gone: no error
            #expect(try log.metadataNames() == ["heartbeat-b.json"])
            #expect(log.loadMetadata(named: "heartbeat-a.json") == nil)
        }
    }
}
