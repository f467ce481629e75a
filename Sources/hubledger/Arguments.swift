/// A small command-line parser: `--name value`, `--name=value`, boolean flags,
/// repeated options and positionals, with `--help` on every command.
struct CommandSpec: Sendable {
    struct Option: Sendable {
        var name: String
        var valueName: String?   // nil for a boolean flag
        var help: String
        var repeats = false
        /// The value may be left out (`--override-retention` or `--override-retention WHY`): the next
        /// argument is taken as its value only if it is not an option and the positionals are complete.
        var valueIsOptional = false
    }

    var name: String
    var summary: String
    var usage: String
    var options: [Option] = []
    var positionals: ClosedRange<Int> = 0...0
    /// Accept any `--field value` pair not declared (for `record`).
    var acceptsFieldOptions = false
    var details: String = ""

    var helpText: String {
        var s = "\(summary)\n\nUsage: hubledger \(usage)\n\nOptions:\n"
        do {
            for o in options {
                let left = "  --\(o.name)" + (o.valueName.map { " \($0)" } ?? "")
                s += left.padding(toLength: max(left.count + 2, 30), withPad: " ", startingAt: 0) + o.help + "\n"
            }
        }
        s += "  --store DIR                 the store (else $HUBLEDGER_STORE, else $XDG_DATA_HOME/hubledger)\n"
        s += "  -h, --help                  show this help\n"
        if !details.isEmpty { s += "\n" + details + "\n" }
        return s
    }
}

/// What the parser found.
struct ParsedArguments: Sendable {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    /// Undeclared `--field value` pairs, in order (only when the spec accepts them).
    var fields: [(String, String)] = []
    /// Every declared option as it came, in command-line order (the value is nil for a flag).
    /// `values` keeps each name's values apart; this keeps how they interleave, for options that
    /// qualify the one before them (`watch --webhook A --region london --webhook B`).
    var occurrences: [(name: String, value: String?)] = []

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }
}

enum ArgumentParser {
    static func parse(_ args: [String], spec: CommandSpec) throws -> ParsedArguments {
        var result = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if arg == "-h" && !onlyPositionals { throw CLIError.help(spec.helpText) }
                result.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = String(arg.dropFirst(2))
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "help" { throw CLIError.help(spec.helpText) }
            // Every command takes the global --store DIR.
            let global = CommandSpec.Option(name: "store", valueName: "DIR", help: "")
            if let option = spec.options.first(where: { $0.name == name }) ?? (name == global.name ? global : nil) {
                if option.valueName == nil {
                    guard inlineValue == nil else { throw CLIError.usage("--\(name) takes no value") }
                    result.flags.insert(name)
                    result.occurrences.append((name, nil))
                    continue
                }
                let value: String
                if let inlineValue { value = inlineValue } else if option.valueIsOptional {
                    let next = i < args.count ? args[i] : nil
                    if let next, !next.hasPrefix("-"), result.positionals.count >= spec.positionals.lowerBound {
                        value = next; i += 1
                    } else {
                        value = ""
                    }
                } else {
                    guard i < args.count else { throw CLIError.usage("--\(name) needs a value (\(option.valueName ?? "VALUE"))") }
                    value = args[i]; i += 1
                }
                if !option.repeats && result.values[name] != nil { throw CLIError.usage("--\(name) given more than once") }
                result.values[name, default: []].append(value)
                result.occurrences.append((name, value))
            } else if spec.acceptsFieldOptions {
                let value: String
                if let inlineValue { value = inlineValue } else {
                    guard i < args.count else { throw CLIError.usage("--\(name) needs a value") }
                    value = args[i]; i += 1
                }
                if result.fields.contains(where: { $0.0 == name }) { throw CLIError.usage("--\(name) given more than once") }
                result.fields.append((name, value))
            } else {
                throw CLIError.usage("unknown option --\(name) for `hubledger \(spec.name)` (see `hubledger \(spec.name) --help`)")
            }
        }
        guard spec.positionals.contains(result.positionals.count) else {
            if result.positionals.count < spec.positionals.lowerBound {
                throw CLIError.usage("missing argument: usage: hubledger \(spec.usage)")
            }
            throw CLIError.usage("unexpected argument '\(result.positionals[spec.positionals.upperBound])': usage: hubledger \(spec.usage)")
        }
        return result
    }
}
