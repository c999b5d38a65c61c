#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall times as people and other systems read them, beside the API's microseconds.
public enum UTCTime {
    /// `microseconds` since the Unix epoch as ISO 8601 in UTC to the microsecond, e.g.
    /// `2026-12-01T15:28:26.123456Z`. The calendar is the C library's (`gmtime_r`); only the
    /// fraction is ours, since its formatters stop at milliseconds.
    public static func iso8601(microseconds: Int64) -> String {
        var seconds = time_t(microseconds.quotientAndRemainder(dividingBy: 1_000_000).quotient)
        var fraction = microseconds % 1_000_000
        if fraction < 0 {
            // Before 1970: the fraction counts up from the whole second below.
            seconds -= 1
            fraction += 1_000_000
        }
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "\(microseconds)us" }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(Int(fraction), 6))Z"
    }
}
