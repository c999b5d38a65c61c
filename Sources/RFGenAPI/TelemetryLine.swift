/// The telemetry event's line, written directly: the one line the daemon writes every tick.
///
/// Measured (issue 19, Benchmarks/README.md): through JSONEncoder, with the API's snake_case keys
/// and null-writing wrapper, a telemetry line costs 35 µs and 140 allocations warm, and about
/// 100 µs on the daemon's event loop, where it runs cold between ticks; at 100 Hz that was most of
/// what the daemon did above the floor of its wake-ups. Written here it costs about 1 µs.
///
/// It writes exactly the bytes `APIJSON.line("event", event, encoder: APIJSON.encoder())` does
/// (keys sorted, absent values as null, numbers as JSONEncoder writes them): `TelemetryLineTests`
/// compares the two on random events, so the Codable conformance stays the definition of the
/// shape and this is only a faster way to the same bytes.
extension APIJSON {
    /// The line of a telemetry event, without its newline.
    /// - Parameter event: any event.
    /// - Returns: nil unless the event is telemetry with every number finite (JSON has no NaN or
    ///   infinity): the caller then uses `line`, which reports what it cannot encode.
    public static func telemetryLine(_ event: Event) -> [UInt8]? {
        guard case .telemetry(let t) = event.body else { return nil }
        var w = LineWriter()
        w.bytes.reserveCapacity(512)
        // Keys in sorted order, as `.sortedKeys` writes them.
        w.raw("{\"data\":{")
        w.number("age_ms", t.ageMs, first: true)
        w.key("alarms")
        w.raw("[")
        for (index, alarm) in t.alarms.enumerated() {
            if index > 0 { w.raw(",") }
            w.integer(alarm)
        }
        w.raw("]")
        w.number("diameter_mm", t.diameterMm)
        w.number("dose_cem43_min", t.doseCem43Min)
        w.number("elapsed_s", t.elapsedS)
        w.number("energy_j", t.energyJ)
        w.number("hold_s", t.holdS)
        w.number("impedance_ohm", t.impedanceOhm)
        w.key("late_us")
        w.integer(t.lateUs)
        w.key("link")
        w.string(t.link)
        w.number("power_w", t.powerW)
        w.number("remaining_s", t.remainingS)
        w.key("rf_on")
        w.raw(t.rfOn ? "true" : "false")
        w.number("setpoint_c", t.setpointC)
        w.number("setpoint_w", t.setpointW)
        w.key("state")
        w.string(t.state)
        w.key("temperatures_c")
        w.raw("[")
        for (index, value) in t.temperaturesC.enumerated() {
            if index > 0 { w.raw(",") }
            w.number(value)
        }
        w.raw("]")
        w.number("tip_temp_c", t.tipTempC)
        w.raw("}")
        w.key("kind")
        w.string(event.body.kind)
        w.key("seq")
        w.integer(event.seq)
        w.key("stream")
        w.string(event.stream.rawValue)
        w.key("type")
        w.string("event")
        w.key("wall_us")
        w.integer(event.wallUs)
        w.raw("}")
        return w.unwritable ? nil : w.bytes
    }
}

/// JSON's pieces as JSONEncoder writes them (with `.withoutEscapingSlashes`).
private struct LineWriter {
    var bytes: [UInt8] = []
    /// Set by a number JSON cannot carry (NaN, an infinity): the line is not used.
    var unwritable = false

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `"name":`, after a comma unless it is the object's first key.
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    /// Decimal digits, written in place: no String is made for them.
    mutating func integer<Value: BinaryInteger>(_ value: Value) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude, as UInt64: every integer the line carries fits (Int64's least included).
        var rest = UInt64(value.magnitude)
        var digits = (UInt64(0), UInt64(0), UInt64(0))  // 24 bytes: UInt64.max has 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
        }
    }

    /// A finite number as JSONEncoder writes it: Swift's shortest round-trip form without a
    /// trailing ".0"; null when absent. NaN or an infinity, which JSON cannot carry, marks the
    /// line `unwritable`.
    mutating func number(_ value: Double?) {
        guard let value else { return raw("null") }
        guard value.isFinite else {
            unwritable = true
            return
        }
        // Its bytes, without a String's edits: `removeLast(2)` on the String cost more than the
        // formatting (about 1,300 instructions a number, measured with callgrind in the daemon).
        var text = value.description
        text.withUTF8 { utf8 in
            var count = utf8.count
            if count >= 2 && utf8[count - 2] == UInt8(ascii: ".") && utf8[count - 1] == UInt8(ascii: "0") {
                count -= 2
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<count]))
        }
    }

    /// `"name":` and a number.
    mutating func number(_ name: StaticString, _ value: Double?, first: Bool = false) {
        key(name, first: first)
        number(value)
    }

    /// A string with JSON's escapes: quote, backslash and control characters; '/' as it is.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        // Most strings (a state's or a link's name) need no escape: copied whole.
        let plain = value.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                return false
            }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
