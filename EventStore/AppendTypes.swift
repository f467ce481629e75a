/// Events to append atomically, possibly to several streams, each with its own expectation.
///
/// An import of a whole file is one batch: all of its events land or none do.
public struct AppendBatch: Sendable {
    public var events: [ProposedEvent]
    /// Streams without an entry here are appended to with `.any`.
    public var expectations: [StreamID: ExpectedVersion]

    public init(events: [ProposedEvent], expectations: [StreamID: ExpectedVersion] = [:]) {
        self.events = events
        self.expectations = expectations
    }
}

/// What an append did.
public struct AppendResult: Sendable, Equatable {
    /// The position of each requested event, in request order; a retried event keeps its original one.
    public var positions: [LogPosition]
    /// How many events were newly written (0 when the whole batch was a retry).
    public var appendedCount: Int
    /// The log's head after the append.
    public var head: LogHead?
    /// Set when opening for append found and removed an interrupted final write.
    public var recovery: String?
}

/// The outcome of walking the whole log and recomputing every hash.
public struct VerificationReport: Sendable, Equatable {
    public var events: Int
    public var head: LogHead?
    /// The first broken record or link: its position and what is wrong.
    public var error: (position: LogPosition, reason: String)?
    /// Bytes of an interrupted final write that the next append will remove.
    public var tornTail: Bool
    /// The sealed values checked against their digests.
    public var vault = VaultReport()

    public init(events: Int, head: LogHead?, error: (position: LogPosition, reason: String)?, tornTail: Bool, vault: VaultReport = VaultReport()) {
        self.events = events; self.head = head; self.error = error; self.tornTail = tornTail; self.vault = vault
    }

    public var isOK: Bool { error == nil && vault.problem == nil }

    public static func == (lhs: VerificationReport, rhs: VerificationReport) -> Bool {
        lhs.events == rhs.events && lhs.head == rhs.head && lhs.tornTail == rhs.tornTail && lhs.vault == rhs.vault
            && lhs.error?.position == rhs.error?.position && lhs.error?.reason == rhs.error?.reason
    }
}
