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

/// Doses as people read them: CEM43 at the tip runs to 10^13 minutes and more.
public enum Scientific {
    /// `value` to three significant digits as a mantissa (1.00-9.99, two decimals) and a power
    /// of ten; nil for zero, negative or non-finite values.
    public static func parts(_ value: Double) -> (mantissa: String, exponent: Int)? {
        guard value > 0, value.isFinite else { return nil }
        var exponent = Int(log10(value).rounded(.down))
        var hundredths = Int((value / pow(10, Double(exponent)) * 100).rounded())
        if hundredths >= 1000 {
            hundredths /= 10
            exponent += 1
        }
        let decimals = hundredths % 100
        return ("\(hundredths / 100).\(decimals < 10 ? "0" : "")\(decimals)", exponent)
    }

    /// `1.65e13`; `0` for zero.
    public static func text(_ value: Double) -> String {
        guard let (mantissa, exponent) = parts(value) else { return value == 0 ? "0" : "\(value)" }
        return "\(mantissa)e\(exponent)"
    }
}

/// Values as the API writes them: at the resolution they are measured or kept with, so that a
/// reading reads `136.16`, not `136.15941485599996` (the float noise of sums and ramps), and a
/// capture holds no digits that mean nothing.
public enum Resolution {
    /// Hundredths (°C, as the wire carries temperatures).
    public static func centi(_ value: Double) -> Double { (value * 100).rounded() / 100 }
    /// Thousandths (s to the ms, J to the mJ, W to the mW, as the wire carries power).
    public static func milli(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    /// Tenths (Ω, as the wire carries impedance; mm of an estimated diameter).
    public static func deci(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    /// Four significant digits, for values that span decades (a CEM43 dose from 10⁻⁶ to 10⁴ min).
    public static func significant(_ value: Double) -> Double {
        guard value.isFinite, value != 0 else { return value }
        let digits = 4 - Int((log10(abs(value))).rounded(.down)) - 1
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
