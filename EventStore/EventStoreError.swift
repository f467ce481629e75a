import Foundation

/// Everything the event store can refuse or fail at, named after the rule broken.
public enum EventStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case storeNotFound(path: String)
    case storeNotEmpty(path: String)
    /// `init` where a store already is: nothing is wrong, and nothing needs creating.
    case storeAlreadyExists(path: String)
    case notAStore(path: String)
    case notADirectory(path: String)
    case wrongExpectedVersion(stream: StreamID, expected: ExpectedVersion, actual: StreamVersion?)
    case conflictingEventID(id: UUID, position: LogPosition)
    case invalidEvent(reason: String)
    /// A caller-given `recordedAt` earlier than the log's last: recorded times never go backwards.
    case recordedAtBeforeLog(id: UUID, recordedAt: Timestamp, last: Timestamp)
    /// A caller-given `recordedAt` later than the store's clock: nothing is recorded in the future.
    case recordedAtInFuture(id: UUID, recordedAt: Timestamp, now: Timestamp)
    case damagedRecord(segment: String, position: LogPosition, reason: String)
    case storeMarkedDamaged(position: LogPosition, reason: String)
    case io(operation: String, path: String, errno: Int32)
    case unsafePermissions(path: String, root: String, mode: UInt32)
    case damagedVault(reason: String)
    case ownedByAnotherUser(path: String, owner: String, user: String)

    public var description: String {
        switch self {
        case .storeNotFound(let path):
            return "no store at \(path): create one with `hubledger init` or point --store at an existing one"
        case .storeNotEmpty(let path):
            return "\(path) is not empty: refusing to create a store over existing files"
        case .storeAlreadyExists(let path):
            return "\(path) is already a HubLedger store: it was left as it is (use it as it is; `hubledger verify` checks it)"
        case .notAStore(let path):
            return "\(path) exists but is not a HubLedger store (no STORE file)"
        case .notADirectory(let path):
            return "\(path) is a file, not a store directory: point --store (or $HUBLEDGER_STORE) at the store's directory"
        case .wrongExpectedVersion(let stream, let expected, let actual):
            let a = actual.map { "version \($0)" } ?? "no stream"
            return "wrong expected version for stream \(stream): expected \(expected), found \(a); nothing was written (re-read and retry)"
        case .conflictingEventID(let id, let position):
            return "event id \(id.lowercasedString) is already in the store at position \(position) with different content; nothing was written"
        case .invalidEvent(let reason):
            return "invalid event: \(reason)"
        case .recordedAtBeforeLog(let id, let recordedAt, let last):
            return "event \(id.lowercasedString) gives recordedAt \(recordedAt.rfc3339), earlier than the log's last recorded time \(last.rfc3339); recorded times never go backwards, so events from elsewhere go only into a store whose log ends before them; nothing was written"
        case .recordedAtInFuture(let id, let recordedAt, let now):
            return "event \(id.lowercasedString) gives recordedAt \(recordedAt.rfc3339), later than this machine's clock (\(now.rfc3339)); nothing is recorded in the future: check the clock (or the input); nothing was written"
        case .damagedRecord(let segment, let position, let reason):
            return "damaged record at position \(position) in segment \(segment): \(reason); run `hubledger verify` and restore from a backup — nothing will be written past it"
        case .storeMarkedDamaged(let position, let reason):
            return "the store is marked damaged at position \(position) (\(reason)) by an earlier verify; appends are refused until it is repaired"
        case .unsafePermissions(let path, let root, let mode):
            return "\(path) is open to other users (mode \(String(mode, radix: 8))); safeguarding records must not be: run `chmod -R go-rwx \(root)`"
        case .ownedByAnotherUser(let path, let owner, let user):
            return "\(path) belongs to \(owner), and this runs as \(user): a store is opened only by the account that owns it (files written as \(user) would lock \(owner) out of its own store). Run hubledger as \(owner) (README, \"Sharing a store\")"
        case .damagedVault(let reason):
            return "the vault of sealed values is damaged (\(reason)); run `hubledger verify` and restore the vault from a backup — nothing that needs it will be written"
        case .io(let operation, let path, let code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code)))"
        }
    }
}
