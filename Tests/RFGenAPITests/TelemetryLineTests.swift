import PropertyBased
import RFGenAPI
import Testing

struct TelemetryLineTests {
    /// A number of the kinds a telemetry line carries, and the edges of Swift's shortest form:
    /// integral values (written without ".0"), negative zero, exponents both ways.
    static func number(using rng: inout any SeededRandomNumberGenerator) -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: Double(Int.random(in: -1000...1000, using: &rng))
        case 1: (Double.random(in: -200...200, using: &rng) * 100).rounded() / 100
        case 2: Double.random(in: -1...1, using: &rng) * pow10(Int.random(in: -20...20, using: &rng))
        case 3: [0.0, -0.0, 1e16, 1e-7, 123_456_789_012_345_680_000.0, 0.1 + 0.2].randomElement(using: &rng)!
        case 4: Double.random(in: 0...1e6, using: &rng)
        default: Double(bitPattern: UInt64.random(in: 0...0x7FEF_FFFF_FFFF_FFFF, using: &rng))
        }
    }

    static func pow10(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<abs(exponent) { value *= 10 }
        return exponent < 0 ? 1 / value : value
    }

    /// Identifiers as the daemon writes them, and strings that need JSON's escapes.
    static func text(using rng: inout any SeededRandomNumberGenerator) -> String {
        ["hold", "up", "impedance_check", "a\"quote", "back\\slash", "a/b", "tab\tnew\nline", "\u{01}\u{1F}", "°C é 😀"]
            .randomElement(using: &rng)!
    }

    static func event(using rng: inout any SeededRandomNumberGenerator) -> Event {
        func maybe() -> Double? { Bool.random(using: &rng) ? number(using: &rng) : nil }
        var data = TelemetryData(
            state: text(using: &rng),
            rfOn: Bool.random(using: &rng),
            link: text(using: &rng),
            tipTempC: maybe(),
            temperaturesC: (0..<Int.random(in: 0...4, using: &rng)).map { _ in maybe() },
            powerW: maybe(),
            setpointW: maybe(),
            impedanceOhm: maybe(),
            ageMs: maybe(),
            setpointC: maybe(),
            elapsedS: number(using: &rng),
            holdS: number(using: &rng),
            remainingS: maybe(),
            energyJ: number(using: &rng),
            alarms: (0..<Int.random(in: 0...3, using: &rng)).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng)
            },
            lateUs: Int64.random(in: Int64.min...Int64.max, using: &rng)
        )
        data.doseCem43Min = maybe()
        data.diameterMm = maybe()
        return Event(
            seq: UInt64.random(in: 0...UInt64.max, using: &rng),
            wallUs: Int64.random(in: Int64.min...Int64.max, using: &rng),
            body: .telemetry(data)
        )
    }

    @Test("The telemetry line written directly is byte for byte the line JSONEncoder writes")
    func sameBytesAsTheEncoder() throws {
        let encoder = APIJSON.encoder()
        for seed in 1...UInt64(2000) {
            var rng: any SeededRandomNumberGenerator = Xoshiro(seed: (seed, 0x9E37_79B9_7F4A_7C15, seed &* 31, 7))
            let event = Self.event(using: &rng)
            let expected = try APIJSON.line("event", event, encoder: encoder)
            let direct = try #require(APIJSON.telemetryLine(event))
            #expect(
                String(decoding: direct, as: UTF8.self) == String(decoding: expected, as: UTF8.self),
                "seed \(seed)"
            )
            if direct != expected { break }
        }
    }

    @Test("Other events, and a number JSON cannot carry, are left to the encoder, which reports them")
    func leavesTheRestToTheEncoder() {
        let link = Event(seq: 1, wallUs: 2, body: .link(LinkChange(link: "up", linkState: "ready")))
        #expect(APIJSON.telemetryLine(link) == nil)
        var rng: any SeededRandomNumberGenerator = Xoshiro(seed: (1, 2, 3, 4))
        guard case .telemetry(var data) = Self.event(using: &rng).body else { return }
        data.energyJ = .nan
        #expect(APIJSON.telemetryLine(Event(seq: 1, wallUs: 2, body: .telemetry(data))) == nil)
        data.energyJ = 0
        data.temperaturesC = [.infinity]
        #expect(APIJSON.telemetryLine(Event(seq: 1, wallUs: 2, body: .telemetry(data))) == nil)
    }
}
