/// A strict JSON (RFC 8259) parser over UTF-8 bytes.
///
/// Written here rather than borrowed from Foundation because imports must
/// tell a boolean from a number, keep key order, bound nesting depth, and
/// say exactly where a malformed line goes wrong.
public struct JSONParser {
    /// What went wrong and at which byte offset of the input.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset + 1): \(reason)" }
    }

    /// Nesting deeper than this is refused rather than risk the stack.
    public static let maximumDepth = 64

    public static func parse(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { buffer throws in try parse(UnsafeRawBufferPointer(buffer)) }
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { buffer throws in try parse(buffer) }
    }

    public static func parse(_ buffer: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = Cursor(bytes: buffer)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == buffer.count else { throw JSONParser.Failure(offset: parser.index, reason: "unexpected text after the value") }
        return value
    }

    /// Decodes UTF-8, refusing ill-formed input; ASCII (the common case) skips the slow validating path.
    /// Whether the bytes are valid UTF-8, without making a String of them (ASCII is checked first).
    static func isValidUTF8(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw.isASCII || String(validating: raw, as: UTF8.self) != nil
    }

    static func utf8String(_ raw: UnsafeRawBufferPointer) -> String? {
        if raw.isASCII { return raw.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) } }
        return String(validating: raw, as: UTF8.self)
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func fail(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

        mutating func value(depth: Int) throws -> JSONValue {
            guard let c = peek else { throw fail("unexpected end of input") }
            if (c == UInt8(ascii: "{") || c == UInt8(ascii: "[")) && depth >= JSONParser.maximumDepth {
                throw fail("nested more than \(JSONParser.maximumDepth) levels deep")
            }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character '\(Self.printable(c))'")
            }
        }

        static func printable(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7f ? String(UnicodeScalar(c)) : "\\u{\(String(c, radix: 16))}"
        }

        mutating func literal(_ word: StaticString) throws {
            let start = index
            for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
                guard peek == expected else { index = start; throw fail("unexpected word (expected \(word))") }
                index += 1
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            index += 1
            var pairs: [(key: String, value: JSONValue)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { index += 1; return .object(JSONObject(pairs)) }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a key in double quotes") }
                let key = try string()
                if pairs.contains(where: { $0.key == key }) { throw fail("duplicate key \"\(key)\"") }
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
                index += 1
                skipSpace()
                pairs.append((key, try value(depth: depth + 1)))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(JSONObject(pairs))
                default: throw fail("expected ',' or '}' in object")
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(items)
                default: throw fail("expected ',' or ']' in array")
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 97...102: d = UInt32(c - 87)
                case 65...70: d = UInt32(c - 55)
                default: throw fail("bad hex digit in \\u escape")
                }
                v = v << 4 | d; index += 1
            }
            return v
        }

        mutating func string() throws -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    guard let s = JSONParser.utf8String(slice) else { throw JSONParser.Failure(offset: start, reason: "string is not valid UTF-8") }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw fail("control character in string (escape it)") }
                index += 1
            }
            var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            while true {
                guard let c = peek else { throw fail("unterminated string") }
                if c == UInt8(ascii: "\"") { index += 1; break }
                if c < 0x20 { throw fail("control character in string (escape it)") }
                if c != UInt8(ascii: "\\") { out.append(c); index += 1; continue }
                index += 1
                guard let e = peek else { throw fail("unterminated escape") }
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw fail("lone surrogate in \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail("bad surrogate pair in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw fail("lone surrogate in \\u escape")
                    }
                    guard let u = UnicodeScalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("unknown escape '\\\(Self.printable(e))'")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw JSONParser.Failure(offset: start, reason: "string is not valid UTF-8") }
            return s
        }

        mutating func number() throws -> JSONValue {
            let start = index
            var isInteger = true
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, first >= 48 && first <= 57 else { throw fail("expected a digit") }
            if first == 48 {
                index += 1
                if let c = peek, c >= 48 && c <= 57 { throw fail("leading zero in number") }
            } else {
                while let c = peek, c >= 48 && c <= 57 { index += 1 }
            }
            if peek == UInt8(ascii: ".") {
                isInteger = false; index += 1
                guard let c = peek, c >= 48 && c <= 57 else { throw fail("expected a digit after '.'") }
                while let c = peek, c >= 48 && c <= 57 { index += 1 }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                isInteger = false; index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard let c = peek, c >= 48 && c <= 57 else { throw fail("expected a digit in exponent") }
                while let c = peek, c >= 48 && c <= 57 { index += 1 }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw JSONParser.Failure(offset: start, reason: "number out of range") }
            return .double(d)
        }
    }
}
