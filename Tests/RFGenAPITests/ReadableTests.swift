import RFGenAPI
import Testing

struct ReadableTests {
    @Test("Wall times as ISO 8601 UTC to the microsecond, before 1970 too")
    func utc() {
        #expect(UTCTime.iso8601(microseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(UTCTime.iso8601(microseconds: 1_796_137_706_500_001) == "2026-12-01T15:08:26.500001Z")
        #expect(UTCTime.iso8601(microseconds: -1) == "1969-12-31T23:59:59.999999Z")
    }

    @Test("Doses to three significant digits, the mantissa rounding into the next power of ten")
    func scientific() {
        #expect(Scientific.text(15 * 1_099_511_627_776) == "1.65e13")
        #expect(Scientific.text(9.996) == "1.00e1" && Scientific.text(1) == "1.00e0")
        #expect(Scientific.text(0.00123) == "1.23e-3" && Scientific.text(0) == "0")
        #expect(Scientific.parts(-1) == nil && Scientific.parts(.infinity) == nil)
    }
}
