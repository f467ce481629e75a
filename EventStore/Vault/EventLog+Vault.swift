import Foundation

/// Values read from the vault, each checked against its event's digest when it is asked for.
public struct SealedValues: Sendable {
    var records: [UUID: [VaultRecord]] = [:]

    public static let none = SealedValues()

    /// The field's value, or nil when that field of the event is not sealed. An erasure wins
    /// over any value; a value that does not match the event's digest is never returned.
    public func value(of field: String, in event: RecordedEvent) -> SealedValue? {
        guard let digest = event.data[field]?.sealedDigest else { return nil }
        let candidates = records[event.id]?.filter { $0.field == field } ?? []
        if candidates.contains(where: { $0.kind == .erased }) { return .erased }
        if let record = candidates.first(where: { $0.matches(digest: digest) }) { return .text(record.text) }
        return .missing
    }
}

/// What `verify` found in the vault.
public struct VaultReport: Sendable, Equatable {
    /// Sealed fields whose value is in the vault and matches its digest.
    public var values = 0
    /// Sealed fields whose value was erased.
    public var erased = 0
    /// The first problem: a value missing or not matching its digest, or a damaged file.
    public var problem: String?

    public init(values: Int = 0, erased: Int = 0, problem: String? = nil) {
        self.values = values; self.erased = erased; self.problem = problem
    }
}

extension EventLog {
    /// Reads the vault entries of `events` (only those with sealed fields; none means no read at all).
    public func sealedValues(of events: [RecordedEvent]) throws -> SealedValues {
        let wanted = Set(events.lazy.filter(\.hasSealedValues).map(\.id))
        guard !wanted.isEmpty else { return .none }
        return try sealedValues { wanted.contains($0) }
    }

    /// Reads the whole vault (for a pass over the whole log, such as an export).
    public func sealedValues() throws -> SealedValues { try sealedValues { _ in true } }

    func sealedValues(where include: (UUID) -> Bool) throws -> SealedValues {
        var out = SealedValues()
        for record in try VaultFile.read(layout.vaultFile).records where include(record.event) {
            out.records[record.event, default: []].append(record)
        }
        return out
    }

    /// Erases the sealed values of these events: the vault keeps only a mark that each was
    /// erased, and the log (whose records hold digests) is untouched, so the chain still verifies.
    ///
    /// - Returns: how many values were erased (0 when they already were).
    @discardableResult
    public func eraseSealedValues(of events: Set<UUID>) throws -> Int {
        try writer.withLock { (state: inout LogWriter?) throws -> Int in
            if state == nil { state = try LogWriter(layout: layout, options: options) }
            guard let current = state else { throw EventStoreError.invalidEvent(reason: "writer unavailable") }
            return try current.eraseSealedValues(of: events)
        }
    }

    /// Checks every sealed field of the log (`digests`: event id → field → digest) against the vault.
    func verifyVault(_ digests: [UUID: (position: LogPosition, fields: [String: String])]) throws -> VaultReport {
        var report = VaultReport()
        let scan = try VaultFile.read(layout.vaultFile)
        if let damage = scan.damage { report.problem = damage }
        var found: [UUID: [String: SealedValue]] = [:]
        for record in scan.records {
            guard let digest = digests[record.event]?.fields[record.field] else { continue }
            if record.kind == .erased { found[record.event, default: [:]][record.field] = .erased }
            else if found[record.event]?[record.field] == nil, record.matches(digest: digest) {
                found[record.event, default: [:]][record.field] = .text("")
            }
        }
        for (id, event) in digests.sorted(by: { $0.value.position < $1.value.position }) {
            for field in event.fields.keys.sorted() {
                switch found[id]?[field] {
                case .erased?: report.erased += 1
                case .text?: report.values += 1
                default:
                    if report.problem == nil {
                        report.problem = "the sealed field \(field) of the event at position \(event.position) has no value in the vault that matches its digest (deleted or altered)"
                    }
                }
            }
        }
        return report
    }
}
