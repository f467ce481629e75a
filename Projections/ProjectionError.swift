import EventStore

/// What answering from read models can fail at, beyond the store's own errors.
public enum ProjectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The log no longer holds the head a read model was folded to, while it was being read again
    /// for the same question (a store restored or replaced under a running command).
    case logChanged(expected: LogHead, found: LogHead?)

    public var description: String {
        switch self {
        case .logChanged(let expected, let found):
            return "the log changed while it was being read again (expected head \(expected), found \(found.map(\.description) ?? "nothing"));"
                + " nothing was computed: run the command again"
        }
    }
}
