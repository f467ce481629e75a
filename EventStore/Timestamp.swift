import Foundation

/// A point in time, in whole microseconds since 1970-01-01T00:00:00Z.
///
/// Both `occurredAt` and `recordedAt` are stored this way: integers compare
/// and subtract exactly, and RFC 3339 text round-trips through them.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public init(_ date: Date) {
        self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The system clock now.
    public static var now: Timestamp { Timestamp(Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
    public var secondsSinceEpoch: Double { Double(microseconds) / 1_000_000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    public func adding(seconds: Double) -> Timestamp {
        Timestamp(microseconds: microseconds + Int64((seconds * 1_000_000).rounded()))
    }

    public var description: String { rfc3339 }

    /// RFC 3339 in UTC; fractional seconds only when there are any.
    public var rfc3339: String {
        let (days, rest) = microseconds.floorDivided(by: 86_400_000_000)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        let secondsOfDay = rest / 1_000_000
        let micros = rest % 1_000_000
        guard (0...9999).contains(y) else { return Timestamp.padded(y, m, d, secondsOfDay, micros) }
        // Written digit by digit into the string's own storage: `log --json` formats two per event.
        return String(unsafeUninitializedCapacity: 27) { out in
            func two(_ v: Int64, at i: Int) {
                out[i] = UInt8(ascii: "0") + UInt8(v / 10)
                out[i + 1] = UInt8(ascii: "0") + UInt8(v % 10)
            }
            two(y / 100, at: 0); two(y % 100, at: 2); out[4] = UInt8(ascii: "-")
            two(m, at: 5); out[7] = UInt8(ascii: "-"); two(d, at: 8); out[10] = UInt8(ascii: "T")
            two(secondsOfDay / 3600, at: 11); out[13] = UInt8(ascii: ":")
            two(secondsOfDay / 60 % 60, at: 14); out[16] = UInt8(ascii: ":"); two(secondsOfDay % 60, at: 17)
            var end = 19
            if micros != 0 {
                // Fractional seconds without their trailing zeros.
                var digits = micros, width = 6
                while digits % 10 == 0 { digits /= 10; width -= 1 }
                out[19] = UInt8(ascii: ".")
                for i in stride(from: 19 + width, to: 19, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(digits % 10)
                    digits /= 10
                }
                end = 20 + width
            }
            out[end] = UInt8(ascii: "Z")
            return end + 1
        }
    }

    /// RFC 3339 spelled through `pad`, for years outside 0000–9999 (only sentinels and arithmetic reach them).
    static func padded(_ y: Int64, _ m: Int64, _ d: Int64, _ secondsOfDay: Int64, _ micros: Int64) -> String {
        var s = "\(Timestamp.pad(y, 4))-\(Timestamp.pad(m, 2))-\(Timestamp.pad(d, 2))T"
        s += "\(Timestamp.pad(secondsOfDay / 3600, 2)):\(Timestamp.pad(secondsOfDay / 60 % 60, 2)):\(Timestamp.pad(secondsOfDay % 60, 2))"
        if micros != 0 {
            var frac = Timestamp.pad(micros, 6)
            while frac.hasSuffix("0") { frac.removeLast() }
            s += "." + frac
        }
        return s + "Z"
    }

    /// The calendar date (YYYY-MM-DD, UTC).
    public var dayString: String { String(rfc3339.prefix(10)) }

    /// Parses an RFC 3339 date-time, or a bare date as the last microsecond of that day (UTC): "as of 5 March",
    /// "until 5 March", "review by 5 March" all take the whole day in. Every option that reads a day so uses this.
    public init?(dateTimeOrEndOfDay text: String) {
        guard let t = Timestamp(rfc3339: text) else { return nil }
        self = text.utf8.count == 10 ? Timestamp(microseconds: t.microseconds + 86_400_000_000 - 1) : t
    }

    /// Parses an RFC 3339 date-time only, refusing a bare date: when in the day an event happened orders it
    /// against the day's others, and midnight UTC would put an attendance before its session.
    public init?(rfc3339DateTime text: String) {
        guard text.utf8.count > 10 else { return nil }
        self.init(rfc3339: text)
    }

    /// Parses RFC 3339 (`2024-03-01T10:00:00Z`, `…+01:00`, fractions to microseconds),
    /// refusing impossible dates such as 2024-02-30; a bare date `YYYY-MM-DD` means midnight UTC.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<from + count {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 10, let year = num(0, 4), b[4] == UInt8(ascii: "-"), let month = num(5, 2),
              b[7] == UInt8(ascii: "-"), let day = num(8, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year) else { return nil }
        var seconds: Int64 = 0, micros: Int64 = 0, offset: Int64 = 0
        if b.count > 10 {
            guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]),
                  let hh = num(11, 2), b.count > 13, b[13] == UInt8(ascii: ":"), let mm = num(14, 2),
                  b.count > 16, b[16] == UInt8(ascii: ":"), let ss = num(17, 2),
                  hh < 24, mm < 60, ss < 60 else { return nil }
            seconds = hh * 3600 + mm * 60 + ss
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var digits = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    if digits < 6 { micros = micros * 10 + Int64(b[i] - 48) }
                    digits += 1; i += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 6) { micros *= 10 }
            }
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                guard i + 1 == b.count else { return nil }
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2),
                      oh < 24, om < 60 else { return nil }
                offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            } else {
                return nil
            }
        }
        let days = Timestamp.days(fromCivil: year, month, day)
        self.microseconds = ((days * 86_400) + seconds - offset) * 1_000_000 + micros
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil and its inverse.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

extension Int64 {
    func floorDivided(by d: Int64) -> (Int64, Int64) {
        var q = self / d, r = self % d
        if r < 0 { q -= 1; r += d }
        return (q, r)
    }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(microseconds: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microseconds)
    }
}
