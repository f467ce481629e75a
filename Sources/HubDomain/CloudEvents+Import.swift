import EventStore
import Foundation

extension CloudEvents {
    /// An export read back: the events to append, in export order, and every problem found.
    public struct Import: Sendable {
        /// Each event as the source recorded it: same id, stream, actor, occurred and recorded times,
        /// its sealed fields named to be sealed again.
        public var events: [ProposedEvent] = []
        /// The line of the export each event came from.
        public var lines: [Int] = []
        public var problems: [InputProblem] = []
        /// Sealed fields that arrived as digests (an export without `--include-sensitive`, or a value
        /// erased in the source): the new store holds the digest, marked erased.
        public var valuesWithoutText = 0
    }

    /// Reads an export back into proposals: whole and in order (each stream's versions gapless from 0,
    /// recorded times never going backwards), or problems naming file, line and field.
    public static func decode(_ bytes: [UInt8], file: String, now: Timestamp = .now) -> Import {
        var result = Import()
        var versions: [StreamID: StreamVersion] = [:]
        var lastRecordedAt: Timestamp?
        /// The hash of the event on the line before (the log's start: the chain's genesis).
        var lastHash: String? = ChainHash.genesis.hex
        var lineNumber = 0
        for line in ImportFile.withoutByteOrderMark(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            func problem(_ field: String?, _ reason: String) { result.problems.append(InputProblem(file: file, line: lineNumber, field: field, reason: reason)) }
            guard let value = try? JSONParser.parse(Array(line)), case .object(let o) = value else { problem(nil, "not a JSON object"); continue }
            // Each event names the hash of the one before it: a line left out, added or moved breaks the link.
            // Checked first, so that a line refused below for another field does not also break the next line's link.
            if let previous = o["previoushash"]?.stringValue, let expected = lastHash, previous != expected {
                problem("previoushash", "\(previous) is not the hash of the event before it (\(expected)): the export is not whole or not in order")
            }
            lastHash = o["hash"]?.stringValue
            guard o["specversion"]?.stringValue == "1.0" else { problem("specversion", "must be \"1.0\""); continue }
            guard let rawID = o["id"]?.stringValue, let id = UUID(uuidString: rawID) else { problem("id", "missing or not a UUID"); continue }
            guard let type = o["type"]?.stringValue, type.hasPrefix(typePrefix), type.count > typePrefix.count else {
                problem("type", "must be \(typePrefix)<Type>"); continue
            }
            guard let subject = o["subject"]?.stringValue, !subject.isEmpty else { problem("subject", "missing (the stream)"); continue }
            guard let time = o["time"]?.stringValue, let occurredAt = Timestamp(rfc3339DateTime: time) else {
                problem("time", "missing or not an RFC 3339 date-time (a date alone says no time)"); continue
            }
            guard case .object(var data)? = o["data"] else { problem("data", "missing or not an object"); continue }
            guard let version = o["streamversion"]?.intValue, version >= 0 else { problem("streamversion", "missing or negative"); continue }
            guard let recorded = o["recordedat"]?.stringValue, let recordedAt = Timestamp(rfc3339DateTime: recorded) else {
                problem("recordedat", "missing or not RFC 3339 (when the event was recorded, as exported)"); continue
            }
            let name = String(type.dropFirst(typePrefix.count))
            let stream = StreamID(subject)
            let expected = (versions[stream] ?? -1) + 1
            if version != expected {
                problem("streamversion", "\(stream) version \(version) where \(expected) was expected (an export must be whole and in order)")
            }
            versions[stream] = version
            // Named here, by line (the store would refuse it too, but by event id only); the lines after it are
            // then measured against the one before it, so one wrong time is one problem.
            if recordedAt > now {
                problem("recordedat", "\(recorded) is later than this machine's clock (\(now.rfc3339)): check the clock, or the export")
            } else {
                if let last = lastRecordedAt, recordedAt < last {
                    problem("recordedat", "\(recorded) is earlier than the line before's \(last.rfc3339) (an export is in the order it was recorded)")
                }
                lastRecordedAt = max(lastRecordedAt ?? recordedAt, recordedAt)
            }
            var sealed: Set<String>
            if let attribute = o[sealedFieldsAttribute] {
                guard let list = attribute.stringValue else { problem(sealedFieldsAttribute, "must be a string of field names separated by commas"); continue }
                sealed = Set(list.split(separator: ",").map(String.init))
                if let absent = sealed.sorted().first(where: { data[$0] == nil }) {
                    problem(sealedFieldsAttribute, "names \(absent), which data does not hold"); continue
                }
            } else {
                // An export made before the attribute.
                sealed = []
            }
            // The fields this store seals in events of the type are sealed whatever the attribute says: text kept
            // in line could never be erased (`sealedfields` left empty by hand put a name in clear in the log).
            sealed.formUnion(SensitiveText.fields(ofTypeNamed: name).filter { data[$0] != nil && data[$0] != .null })
            if let unreadable = sealed.sorted().first(where: { sealedDigest(data[$0]) == nil && data[$0]?.stringValue == nil }) {
                problem("data.\(unreadable)", "a sealed field must hold its text or sha256:<64 hex digits>"); continue
            }
            for field in sealed {
                guard let digest = sealedDigest(data[field]) else { continue }
                data[field] = digest
                result.valuesWithoutText += 1
            }
            let actor = o["actor"]?.stringValue ?? "import"
            // An export made before these attributes: schema version 1, no correlation or causation.
            var schemaVersion: UInt16 = 1
            if let raw = o["schemaversion"] {
                guard let v = raw.intValue, let narrow = UInt16(exactly: v), narrow > 0 else { problem("schemaversion", "must be a whole number from 1 to 65535"); continue }
                schemaVersion = narrow
            }
            // The domain's events have one version of their data; another would be read as this one.
            if EventType(rawValue: name) != nil, schemaVersion != 1 {
                problem("schemaversion", "\(name) has schema version 1 only in this store, not \(schemaVersion)"); continue
            }
            var links: [String: String] = [:]
            for attribute in ["correlationid", "causationid"] {
                guard let raw = o[attribute] else { continue }
                guard let text = raw.stringValue else { problem(attribute, "must be a string"); continue }
                links[attribute] = text
            }
            result.events.append(ProposedEvent(id: id, stream: stream, type: name, occurredAt: occurredAt, actor: actor, data: data,
                                               schemaVersion: schemaVersion, correlationId: links["correlationid"], causationId: links["causationid"],
                                               sealedFields: sealed, recordedAt: recordedAt))
            result.lines.append(lineNumber)
        }
        return result
    }

    /// The sealed form of a field that arrived as a digest — `sha256:<hex>`, or `{"sha256": HEX}` as older
    /// exports left a view's purpose — or nil when it holds anything else (its text).
    static func sealedDigest(_ value: JSONValue?) -> JSONValue? {
        if let text = value?.stringValue, text.hasPrefix(digestPrefix) { return JSONValue.sealed(hex: String(text.dropFirst(digestPrefix.count))) }
        return value?.sealedDigest.flatMap(JSONValue.sealed(hex:))
    }
}
