import Foundation

/// What a sealed data field holds when it is read back.
///
/// A *sealed* field is kept out of line in the store's vault; the event itself carries only
/// `{"sha256": HEX}`, the SHA-256 of a random salt followed by the value. The chain hashes
/// the digest, never the value, so the value can later be erased while every hash still checks.
public enum SealedValue: Sendable, Equatable {
    /// The value, checked against the digest in the event.
    case text(String)
    /// Deliberately erased (`EventLog.eraseSealedValues(of:)`); only the digest remains.
    case erased
    /// Neither a value nor an erasure is in the vault: the vault was damaged or tampered with.
    case missing
}

extension JSONValue {
    /// The digest of a sealed field (`{"sha256": HEX}`), or nil when this is an ordinary value.
    public var sealedDigest: String? {
        guard case .object(let o) = self, o.count == 1, let hex = o["sha256"]?.stringValue else { return nil }
        return hex
    }

    static func sealed(digest: [UInt8]) -> JSONValue { .object(["sha256": .string(digest.hexString)]) }

    /// A sealed field's form for a digest given as 64 hex digits (written in lower case), or nil
    /// when `hex` is not a SHA-256: how a caller hands the store a value sealed elsewhere.
    public static func sealed(hex: String) -> JSONValue? {
        guard hex.utf8.count == 64, let digest = [UInt8](hexString: hex) else { return nil }
        return sealed(digest: digest)
    }
}

extension RecordedEvent {
    /// The event's sealed fields and their digests (empty for events written without any).
    public var sealedDigests: [String: String] {
        guard hasSealedValues else { return [:] }
        var out: [String: String] = [:]
        for (field, value) in data { if let digest = value.sealedDigest { out[field] = digest } }
        return out
    }
}
