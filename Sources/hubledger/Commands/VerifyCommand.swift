import EventStore

enum VerifyCommand: Command {
    static let spec = CommandSpec(
        name: "verify", summary: "check every record and the whole hash chain",
        usage: "verify [--json] [--expect-head POSITION:HASH]",
        options: [
            .init(name: "json", valueName: nil, help: "print {ok, events, head, error?, vault: {values, erased, problem?}}"),
            .init(name: "expect-head", valueName: "POSITION:HASH", help: "also prove the log still contains this earlier head unchanged"),
        ],
        details: """
        Exit status 0 when the log is intact, 1 at the first broken record or link (named by position), or when
        a sensitive value in the vault is missing or does not match the hash its event carries. On a failure, events and
        head describe the sound part before it: the whole batches a reader can still read.
        Needs the auditor (or admin) role.
        """)

    static func run(_ arguments: ParsedArguments) throws {
        var expected: LogHead?
        if let text = arguments.value("expect-head") {
            guard let head = LogHead(text) else { throw CLIError.usage("--expect-head must be POSITION:HASH (64 hex digits), not '\(text)'") }
            expected = head
        }
        let log = try Environment.openLog(arguments)
        try AccessGate.authorize(.verify, command: spec.name, log: log)
        let report = try log.verify(expecting: expected)
        if arguments.has("json") {
            var o = JSONObject()
            o["ok"] = .bool(report.isOK)
            o["events"] = .int(Int64(report.events))
            o["head"] = report.head.map(HeadJSON.value) ?? .null
            if let error = report.error {
                o["error"] = ["position": .int(error.position), "reason": .string(error.reason)]
            }
            if report.tornTail { o["tornTail"] = true }
            var vault: JSONObject = ["values": .int(Int64(report.vault.values)), "erased": .int(Int64(report.vault.erased))]
            if let problem = report.vault.problem { vault["problem"] = .string(problem) }
            o["vault"] = .object(vault)
            Console.out(JSONValue.object(o).jsonText)
        } else {
            if let error = report.error {
                Console.err("verify FAILED at position \(error.position): \(error.reason)")
            } else if let problem = report.vault.problem {
                Console.err("verify FAILED in the vault: \(problem)")
            } else {
                Console.out("ok: \(report.events) events, head \(report.head.map { $0.description } ?? "(empty log)"); "
                            + "vault: \(report.vault.values) sensitive value(s) match their hashes, \(report.vault.erased) erased")
            }
            if report.tornTail { Console.err("note: an interrupted final write follows the head; the next append removes it") }
        }
        if !report.isOK { throw CLIError.silentFailure }
    }
}

/// `{position, hash}`, as every `--json` output names a head.
enum HeadJSON {
    static func value(_ head: LogHead) -> JSONValue { ["position": .int(head.position), "hash": .string(head.hash.hex)] }
    static func value(_ head: LogHead?) -> JSONValue { head.map(value) ?? .null }
}
