import EventStore
import HubDomain

/// What the `alerts` stream gained beyond the daemon's read models: read again each time the daemon takes
/// the alerts lock (only daemons holding it raise alerts), so that one another daemon raised after this one
/// caught up (both scopes covering it) is never raised twice.
///
/// It reads only the events after the last position it read, so each step costs what was appended since.
struct AlertsStreamTail {
    /// The last log position read (the held models' head when it was made).
    private(set) var readThrough: LogPosition
    /// The keys of the alerts raised after the held models' head.
    private(set) var raised: Set<String> = []
    /// The `alerts` stream's last version as read: what recording the next alert expects.
    private(set) var version: StreamVersion

    /// Starts where read models caught up to `head` left off, `version` being the `alerts` stream's version there.
    init(after head: LogPosition, version: StreamVersion) {
        readThrough = head
        self.version = version
    }

    /// What an append to the `alerts` stream expects it to be.
    var expectation: ExpectedVersion { version < 0 ? .noStream : .exact(version) }

    /// Whether an alert with this key was raised after the read models' head (as far as read).
    func hasRaised(_ key: String) -> Bool { raised.contains(key) }

    /// Reads what was appended since the last read: the `AlertRaised` events (and the stream's version).
    ///
    /// - Throws: what reading the log throws (damage).
    mutating func catchUp(_ log: EventLog) throws {
        guard let head = try log.head(), head.position > readThrough else { return }
        try log.forEach(from: readThrough + 1, through: head.position) { event in
            guard event.stream == AlertRecord.stream else { return true }
            version = max(version, event.streamVersion)
            if let domain = DomainEvent(event), case .alertRaised(let key) = domain.event { raised.insert(key) }
            return true
        }
        readThrough = head.position
    }

    /// Notes an alert this daemon has just recorded.
    mutating func noteRecorded(_ key: String) {
        raised.insert(key)
        version += 1
    }
}
