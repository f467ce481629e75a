import EventStore
import TestSupport
import Testing

struct JSONTests {
    // MARK: Parser: what it accepts

    @Test func theParserReadsEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" { "n" : null , "t":true,"f":false, "i":-42, "d":1.5e2, "s":"h\u00e9\n", "a":[1,[2,{}]], "o":{"k":"v"} } "#)
        let o = try #require(value.objectValue)
        #expect(o["n"] == .null)
        #expect(o["t"] == .bool(true))
        #expect(o["f"] == .bool(false))
        #expect(o["i"] == .int(-42))
        #expect(o["d"] == .double(150))
        #expect(o["s"] == .string("hé\n"))
        #expect(o["a"] == .array([.int(1), .array([.int(2), .object(JSONObject())])]))
        #expect(o["o"] == .object(JSONObject([(key: "k", value: .string("v"))])))
    }

    @Test func integersStayIntegersAndFractionsOrExponentsBecomeDoubles() throws {
        #expect(try JSONParser.parse("0") == .int(0))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("1E2") == .double(100))
        #expect(try JSONParser.parse("-2.5e-3") == .double(-0.0025))
        // Too large for Int64: kept as a double rather than refused.
        #expect(try JSONParser.parse("18446744073709551616") == .double(18446744073709551616.0))
    }

    @Test func theParserDecodesEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\uD83D\uDE00x""#) == .string("😀x"))
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONParser.parse("\"caf\u{e9} 😀\"") == .string("café 😀"))
    }

    @Test func objectKeysKeepTheOrderTheyWereWrittenIn() throws {
        let value = try JSONParser.parse(#"{"zebra":1,"apple":2,"mango":{"z":1,"a":2},"banana":3}"#)
        let o = try #require(value.objectValue)
        #expect(o.keys == ["zebra", "apple", "mango", "banana"])
        #expect(o["mango"]?.objectValue?.keys == ["z", "a"])
        // Order matters to equality: the same pairs in another order are a different object (and hash).
        let reordered = try JSONParser.parse(#"{"apple":2,"zebra":1,"mango":{"z":1,"a":2},"banana":3}"#)
        #expect(value != reordered)
        #expect(value.jsonText == #"{"zebra":1,"apple":2,"mango":{"z":1,"a":2},"banana":3}"#)
    }

    @Test func nestingOf64LevelsIsAccepted() throws {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        var value = try JSONParser.parse(text)
        var depth = 1
        while case .array(let items) = value, let first = items.first { value = first; depth += 1 }
        #expect(depth == 64)
    }

    // MARK: Parser: what it refuses

    @Test func duplicateKeysAreRefused() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"o":{"x":1,"y":2,"x":3}}"#) }
        // Same key in different objects is fine.
        #expect(throws: Never.self) { try JSONParser.parse(#"{"a":{"a":1},"b":{"a":2}}"#) }
        // Keys compare after unescaping.
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"a":1,"\u0061":2}"#) }
    }

    @Test func leadingZerosAreRefused() throws {
        for text in ["01", "-01", "00", "[007]", #"{"n":012}"#, "00.5"] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(text) }
        }
        #expect(try JSONParser.parse("0.5") == .double(0.5))
        #expect(try JSONParser.parse("10") == .int(10))
    }

    @Test func malformedNumbersAreRefused() {
        for text in ["-", "+1", ".5", "1.", "1e", "1e+", "0x10", "1.5.2", "NaN", "Infinity", "1e400", "--1"] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(text) }
        }
    }

    @Test func loneSurrogatesAreRefused() {
        for text in [#""\ud800""#, #""\uDBFF x""#, #""\udc00""#, #""\uDFFF""#, #""\ud800\u0041""#, #""\ud800\ud800""#, #""\ude00\ud83d""#] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(text) }
        }
    }

    @Test func invalidUTF8IsRefusedInsideAndOutsideStrings() throws {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],                    // a byte that never appears in UTF-8
            [0x22, 0xC3, 0x22],                    // truncated two-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],              // overlong encoding of '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],        // an encoded surrogate (CESU-8)
            [0x22, 0x5C, 0x6E, 0xFE, 0x22],        // after an escape (the slow path)
            [0x5B, 0xE2, 0x82, 0x5D],              // outside any string
        ]
        for bytes in cases {
            #expect(throws: JSONParser.Failure.self, "\(bytes)") { try JSONParser.parse(bytes) }
        }
        #expect(try JSONParser.parse([0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func nestingDeeperThan64LevelsIsRefused() throws {
        // JSONParser.maximumDepth is 64: "nesting deeper than this is refused".
        for depth in [65, 66, 100, 10_000] {
            let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let acceptedArrays = (try? JSONParser.parse(arrays)) != nil
            #expect(!acceptedArrays, "\(depth) nested arrays were accepted")
            let objects = String(repeating: #"{"k":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            let acceptedObjects = (try? JSONParser.parse(objects)) != nil
            #expect(!acceptedObjects, "\(depth) nested objects were accepted")
        }
        let failure = try #require(throws: JSONParser.Failure.self) {
            try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        }
        #expect(failure.reason.contains("64"))
    }

    @Test func unescapedControlCharactersInStringsAreRefused() throws {
        for c in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8] {
            #expect(throws: JSONParser.Failure.self, "byte \(c)") { try JSONParser.parse([0x22, 0x61, c, 0x22]) }
            // Also after an escape, on the slow path.
            #expect(throws: JSONParser.Failure.self, "byte \(c) after escape") { try JSONParser.parse([0x22, 0x5C, 0x6E, c, 0x22]) }
        }
        #expect(try JSONParser.parse([0x22, 0x7F, 0x22]) == .string("\u{7F}"))   // DEL is allowed
    }

    @Test func structuralErrorsAreRefusedWithAnOffset() throws {
        for text in ["", " ", "[1,]", "[1 2]", #"{"a":1,}"#, #"{"a" 1}"#, "{a:1}", "{'a':1}", #"{"a":1"#, "[", #""abc"#,
                     "tru", "nul", "falsy", "[1] [2]", "1 2", #""\x""#, #""\u12G4""#, #""\u12""#, "// comment\n1"] {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(text) }
        }
        let failure = try #require(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"a":1,"b":x}"#) }
        #expect(failure.offset == 11)
        #expect(failure.description.contains("byte 12"))
    }

    // MARK: Writer

    /// The writer copies a string's bytes a run at a time between escapes, and writes integers' digits
    /// itself: every string (escapes at the start, the end, side by side, none) and integer must come
    /// out as the parser reads it back, and integers as Swift spells them.
    @Test func stringsAndIntegersWrittenInPiecesReadBackTheSame() throws {
        var rng = SplitMix64(seed: 11)
        let alphabet: [String] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "/", "é", "😀"]
        var strings = ["", "\"", "\\\\", "\n\n", "plain text, no escapes at all", "\u{1}start", "end\u{1}"]
        for _ in 0..<500 {
            strings.append(String((0..<rng.next(below: 40)).map { _ in Character(alphabet[rng.next(below: alphabet.count)]) }))
        }
        for s in strings {
            #expect(try JSONParser.parse(JSONValue.string(s).jsonText) == .string(s), "\(s.debugDescription)")
        }
        var integers: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.min + 1]
        for _ in 0..<500 { integers.append(Int64(bitPattern: rng.next()) >> Int64(rng.next(below: 63))) }
        for i in integers { #expect(JSONValue.int(i).jsonText == String(i)) }
    }

    @Test func theWriterEscapesWhatJSONRequiresAndNothingElse() {
        #expect(JSONValue.string("a\"b\\c\n\r\t\u{1}\u{1F}/é😀").jsonText == #""a\"b\\c\n\r\t\u0001\u001f/é😀""#)
        #expect(JSONValue.array([.null, .bool(true), .bool(false), .int(-7), .double(0.25)]).jsonText == "[null,true,false,-7,0.25]")
        #expect(JSONValue.object(JSONObject()).jsonText == "{}")
        #expect(JSONValue.array([]).jsonText == "[]")
        #expect(JSONValue.double(.infinity).jsonText == "null")
        #expect(JSONValue.double(3.0).jsonText == "3")
        #expect(JSONValue.double(-120.0).jsonText == "-120")
    }

    @Test func writerOutputParsesBackToTheSameValue() throws {
        let values: [JSONValue] = [
            .null, true, false, 0, -1, .int(Int64.max), .int(Int64.min), 0.5, -1234.5678, 1e300, 2.5e-300, 0.1,
            "", "plain", "quote \" backslash \\ slash / newline \n tab \t nul \u{0} bell \u{7} del \u{7F}",
            "é ß 中文 😀 \u{2028}\u{2029}",
            [], [[], [[]]], [1, "two", 3.5, nil, true],
            ["z": 1, "a": ["nested": [1, 2, ["deep": "yes"]]], "": "empty key", "m": nil],
        ]
        for value in values {
            let text = value.jsonText
            #expect(try JSONParser.parse(text) == value, "\(text)")
            // Writing is deterministic: a second round gives identical bytes.
            #expect(try JSONParser.parse(text).jsonText == text)
        }
    }

    @Test func randomlyGeneratedValuesRoundTripThroughTextAndBinary() throws {
        var rng = SplitMix64(seed: 0x5EED_1234)
        for _ in 0..<300 {
            let value = JSONTests.randomValue(&rng, depth: 0)
            let text = value.jsonText
            #expect(try JSONParser.parse(text) == value, "\(text)")
            var binary: [UInt8] = []
            value.encodeBinary(into: &binary)
            let decoded = binary.withUnsafeBytes { raw -> JSONValue? in
                var reader = ByteReader(raw)
                let v = JSONValue.decodeBinary(&reader)
                return reader.remaining == 0 ? v : nil
            }
            #expect(decoded == value, "\(text)")
        }
    }

    // MARK: Binary form

    @Test func binaryEncodingRoundTripsEveryKindOfValueAndKeepsKeyOrder() throws {
        let value: JSONValue = [
            "zulu": nil, "alpha": true, "false": false, "int": .int(Int64.min), "max": .int(Int64.max),
            "double": -0.0009765625, "string": "héllo 😀", "array": [1, [2, [3]], [:]],
            "object": ["y": 1, "x": 2],
        ]
        var bytes: [UInt8] = []
        value.encodeBinary(into: &bytes)
        #expect(bytes.first == 7)  // object tag (docs/FORMAT.md)
        let decoded = try bytes.withUnsafeBytes { raw -> JSONValue in
            var reader = ByteReader(raw)
            let v = try #require(JSONValue.decodeBinary(&reader))
            #expect(reader.remaining == 0)
            return v
        }
        #expect(decoded == value)
        #expect(decoded.objectValue?.keys == ["zulu", "alpha", "false", "int", "max", "double", "string", "array", "object"])
        #expect(decoded.objectValue?["object"]?.objectValue?.keys == ["y", "x"])
    }

    @Test func binaryEncodingOfScalarsHasTheDocumentedLayout() {
        func encode(_ v: JSONValue) -> [UInt8] { var out: [UInt8] = []; v.encodeBinary(into: &out); return out }
        #expect(encode(.null) == [0])
        #expect(encode(false) == [1])
        #expect(encode(true) == [2])
        #expect(encode(.int(1)) == [3, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(encode(.int(-1)) == [3] + [UInt8](repeating: 0xFF, count: 8))
        #expect(encode(.double(1.0)) == [4, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
        #expect(encode("ab") == [5, 2, 0, 0, 0, 0x61, 0x62])
        #expect(encode([true]) == [6, 1, 0, 0, 0, 2])
        #expect(encode(["k": nil]) == [7, 1, 0, 0, 0, 1, 0, 0, 0, 0x6B, 0])
    }

    @Test func decodingRefusesTruncatedOrMalformedBinary() {
        func decode(_ bytes: [UInt8]) -> JSONValue? {
            bytes.withUnsafeBytes { raw in var r = ByteReader(raw); return JSONValue.decodeBinary(&r) }
        }
        let value: JSONValue = ["a": [1, "xyz", 2.5, ["b": true]]]
        var full: [UInt8] = []
        value.encodeBinary(into: &full)
        #expect(decode(full) == value)
        for cut in 0..<full.count {
            #expect(decode(Array(full[0..<cut])) == nil, "cut at \(cut)")
        }
        #expect(decode([8]) == nil)                                // unknown tag
        #expect(decode([0xFF]) == nil)
        #expect(decode([5, 1, 0, 0, 0, 0xFF]) == nil)              // string that is not UTF-8
        #expect(decode([6, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)        // absurd element count
        #expect(decode([7, 1, 0, 0, 0, 1, 0, 0, 0, 0xC3, 0]) == nil) // key that is not UTF-8
        // Nesting beyond the parser's limit is refused rather than recursing without bound.
        let deep = [UInt8](repeating: 6, count: 1) + [1, 0, 0, 0]
        #expect(decode([UInt8]((0..<200).flatMap { _ in deep }) + [0]) == nil)
    }

    // MARK: Helpers

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let kind = depth >= 4 ? rng.next(below: 5) : rng.next(below: 7)
        switch kind {
        case 0: return .null
        case 1: return .bool(rng.next(below: 2) == 1)
        case 2: return .int(Int64(bitPattern: rng.next()) >> Int64(rng.next(below: 60)))
        case 3:
            // Non-integral finite doubles (integral ones print as integers by design).
            let d = Double(Int64(bitPattern: rng.next()) >> 24) + 0.25 * Double(1 + rng.next(below: 3))
            return .double(d)
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<rng.next(below: 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o = JSONObject()
            for i in 0..<rng.next(below: 5) { o[randomString(&rng) + "#\(i)"] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    static func randomString(_ rng: inout SplitMix64) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "é", "中", "😀", "\u{7F}", "\u{2028}"]
        return String((0..<rng.next(below: 12)).map { _ in alphabet[rng.next(below: alphabet.count)] })
    }
}

