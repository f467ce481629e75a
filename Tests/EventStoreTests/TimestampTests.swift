import EventStore
import Foundation
import TestSupport
import Testing

struct TimestampTests {
    @Test func theEpochFormatsAndParses() throws {
        #expect(Timestamp(microseconds: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
    }

    @Test func knownInstantsParseToTheRightMicroseconds() {
        // 2024-03-01T10:00:00Z = 1709287200 s since the epoch.
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00Z")?.microseconds == 1_709_287_200_000_000)
        #expect(Timestamp(rfc3339: "2000-01-01T00:00:00Z")?.microseconds == 946_684_800_000_000)
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59Z")?.microseconds == -1_000_000)
        #expect(Timestamp(rfc3339: "2038-01-19T03:14:08Z")?.microseconds == 2_147_483_648_000_000)
    }

    @Test func offsetsAreAppliedInTheRightDirection() {
        let utc = Timestamp(rfc3339: "2024-03-01T10:00:00Z")
        #expect(utc != nil)
        #expect(Timestamp(rfc3339: "2024-03-01T11:00:00+01:00") == utc)
        #expect(Timestamp(rfc3339: "2024-03-01T04:30:00-05:30") == utc)
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00+00:00") == utc)
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00-00:00") == utc)
        // An offset can carry the instant across midnight and into another month.
        #expect(Timestamp(rfc3339: "2024-02-29T23:00:00-11:00")?.rfc3339 == "2024-03-01T10:00:00Z")
        #expect(Timestamp(rfc3339: "2024-03-01T00:30:00+14:00")?.rfc3339 == "2024-02-29T10:30:00Z")
    }

    @Test func fractionsAreReadToTheMicrosecond() {
        let base: Int64 = 1_709_287_200_000_000
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00.5Z")?.microseconds == base + 500_000)
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00.25Z")?.microseconds == base + 250_000)
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00.000001Z")?.microseconds == base + 1)
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00.123456Z")?.microseconds == base + 123_456)
        // Digits beyond microseconds are dropped, not rounded into the next second.
        #expect(Timestamp(rfc3339: "2024-03-01T10:00:00.9999999Z")?.microseconds == base + 999_999)
        #expect(Timestamp(rfc3339: "2024-03-01T11:00:00.75+01:00")?.microseconds == base + 750_000)
    }

    @Test func formattingWritesFractionsOnlyWhenThereAreAnyWithoutTrailingZeros() {
        let base: Int64 = 1_709_287_200_000_000
        #expect(Timestamp(microseconds: base).rfc3339 == "2024-03-01T10:00:00Z")
        #expect(Timestamp(microseconds: base + 500_000).rfc3339 == "2024-03-01T10:00:00.5Z")
        #expect(Timestamp(microseconds: base + 120_000).rfc3339 == "2024-03-01T10:00:00.12Z")
        #expect(Timestamp(microseconds: base + 1).rfc3339 == "2024-03-01T10:00:00.000001Z")
        #expect(Timestamp(microseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamp(microseconds: base).dayString == "2024-03-01")
    }

    @Test func variantSpellingsAreAccepted() {
        let utc = Timestamp(rfc3339: "2024-03-01T10:00:00Z")
        #expect(utc != nil)
        #expect(Timestamp(rfc3339: "2024-03-01t10:00:00z") == utc)
        #expect(Timestamp(rfc3339: "2024-03-01 10:00:00Z") == utc)
        // A bare date means midnight UTC.
        #expect(Timestamp(rfc3339: "2024-03-01")?.rfc3339 == "2024-03-01T00:00:00Z")
    }

    @Test func leapDaysExistOnlyInLeapYears() {
        #expect(Timestamp(rfc3339: "2024-02-29T12:00:00Z")?.rfc3339 == "2024-02-29T12:00:00Z")
        #expect(Timestamp(rfc3339: "2000-02-29T00:00:00Z") != nil)      // divisible by 400
        #expect(Timestamp(rfc3339: "2023-02-29T12:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "1900-02-29T00:00:00Z") == nil)      // divisible by 100, not 400
        #expect(Timestamp(rfc3339: "2100-02-29") == nil)
        #expect(Timestamp(rfc3339: "2024-02-30T00:00:00Z") == nil)
    }

    @Test func impossibleDatesAndTimesAreRefused() {
        for text in [
            "2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z",
            "2024-04-31T00:00:00Z", "2024-01-32T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-01T25:00:00Z",
            "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-01-01T10:00:00+24:00",
            "2024-01-01T10:00:00+01:60",
        ] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
    }

    @Test func malformedTextIsRefused() {
        for text in [
            "", "2024", "2024-1-01", "2024/01/01", "24-01-01T00:00:00Z", "2024-01-01T10:00:00", "2024-01-01T10:00Z",
            "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00ZZ", "2024-01-01T10:00:00+0100", "2024-01-01T10:00:00+01",
            "2024-01-01X10:00:00Z", "2024-01-01T1a:00:00Z", "2024-01-01T10:00:00 Z", " 2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00Zjunk", "２０２４-01-01",
        ] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
    }

    @Test func instantsOutsideFourDigitYearsStillFormat() {
        // Sentinels (`Int64.min` stands for "before anything") go through the slower spelling.
        #expect(Timestamp(microseconds: 253_402_300_800_000_000).rfc3339 == "10000-01-01T00:00:00Z")
        #expect(Timestamp(microseconds: -62_167_219_200_000_000).rfc3339 == "0000-01-01T00:00:00Z")
        #expect(Timestamp(microseconds: Int64.min).rfc3339.hasSuffix("Z"))
    }

    @Test func formattedTimestampsParseBackExactlyAcrossTheCalendar() throws {
        // 0001-01-01 to 9999-12-31, with and without fractions, including instants before the epoch.
        let lower: Int64 = -62_135_596_800_000_000, upper: Int64 = 253_402_300_799_999_999
        var rng = SplitMix64(seed: 42)
        var samples: [Int64] = [lower, upper, 0, -1, 1, 951_782_400_000_000 /* 2000-02-29 */]
        for _ in 0..<2_000 {
            let span = UInt64(upper - lower)
            var micros = lower + Int64(rng.next() % span)
            if rng.next(below: 2) == 0 { micros -= micros % 1_000_000 }   // half of them on whole seconds
            samples.append(micros)
        }
        for micros in samples {
            let t = Timestamp(microseconds: micros)
            let text = t.rfc3339
            let back = try #require(Timestamp(rfc3339: text), "\(text)")
            #expect(back == t, "\(text)")
            #expect(text.count >= 20 && text.hasSuffix("Z"))
        }
    }

    @Test func parsedTextWithOffsetsFormatsBackToTheSameInstant() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let t = Timestamp(microseconds: 1_600_000_000_000_000 + Int64(rng.next() % 400_000_000_000_000))
            let offsetMinutes = rng.next(below: 2 * 14 * 60 + 1) - 14 * 60
            let shifted = Timestamp(microseconds: t.microseconds + Int64(offsetMinutes) * 60_000_000)
            // Write the local wall time for that offset, then append the offset.
            let local = String(shifted.rfc3339.dropLast())
            let sign = offsetMinutes < 0 ? "-" : "+"
            let hh = abs(offsetMinutes) / 60, mm = abs(offsetMinutes) % 60
            let text = local + sign + (hh < 10 ? "0" : "") + "\(hh):" + (mm < 10 ? "0" : "") + "\(mm)"
            let parsed = try #require(Timestamp(rfc3339: text), "\(text)")
            #expect(parsed == t, "\(text)")
        }
    }

    @Test func datesConvertToAndFromFoundation() {
        let t = Timestamp(rfc3339: "2024-03-01T10:00:00.25Z")
        #expect(t?.date == Date(timeIntervalSince1970: 1_709_287_200.25))
        #expect(Timestamp(Date(timeIntervalSince1970: 1_709_287_200.25)) == t)
        #expect(t?.adding(seconds: 1.5).rfc3339 == "2024-03-01T10:00:01.75Z")
        #expect(Timestamp(microseconds: 1) > Timestamp(microseconds: 0))
    }
}
