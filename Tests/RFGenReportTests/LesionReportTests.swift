import Foundation
import RFGenAPI
import RFGenReport
import Testing

/// The HTML report (issue 16 item 4), from records in the API's export form.
struct LesionReportTests {
    /// A lesion's record as `records.export` gives it: `seconds` of samples at `hz`, the ramp to
    /// 85 °C in the first 48 s then the hold; an alarm at `alarmAt` seconds if given.
    static func document(
        id: Int64,
        level: String,
        seconds: Double,
        hz: Double = 10,
        complete: Bool,
        alarmAt: Double? = nil,
        model: String = "RFG-1"
    ) -> RecordDocument {
        let start: Int64 = 1_796_137_706_000_000
        var record = RecordSummary(
            id: id,
            profile: "bvn",
            level: level,
            operatorUid: 1000,
            startedUs: start,
            endedUs: start + Int64(seconds * 1e6),
            outcome: complete ? "done" : "faulted",
            endReason: complete ? "hold complete" : "high impedance_rise: 2.1 × the lowest <impedance>",
            holdS: complete ? 60 : 12,
            energyJ: 210,
            peakC: 85.4
        )
        record.startedUtc = UTCTime.iso8601(microseconds: start)
        record.complete = complete
        record.incompleteReason = complete ? nil : "time at temperature 12 s of the 60 s asked"
        record.doseCem43Min = complete ? 1.2e12 : 2e11
        record.diameterMm = complete ? 8.4 : 6.1
        record.generator = GeneratorInfo(model: model, serial: "SN&7", firmware: "1.0.0")
        record.profileParameters = ProfileInfo(
            name: "bvn",
            targetC: 85,
            rampCPerS: 1,
            holdS: 60,
            holdBandC: 2,
            powerLimitW: 15,
            energyCapJ: 12_000
        )
        record.daemonVersion = "0.5.0"
        var samples: [RecordSample] = []
        for i in 0..<Int(seconds * hz) {
            let t = Double(i) / hz
            let tip = min(85, 37 + t)
            samples.append(
                RecordSample(
                    wallUs: start + Int64(t * 1e6),
                    elapsedS: t,
                    phase: t < 1 ? "impedance_check" : tip < 83 ? "ramp" : "hold",
                    tipTempC: i % 50 == 7 ? nil : tip,
                    secondTempC: tip - 0.3,
                    setpointC: min(85, 37 + t),
                    powerW: tip < 83 ? 4 : 1.8,
                    setpointW: 2,
                    impedanceOhm: 1200 - 4 * (tip - 37),
                    rfOn: t >= 1,
                    doseCem43Min: pow(2, tip - 43) * t / 60,
                    diameterMm: max(0, (tip - 60) / 3)
                )
            )
        }
        let alarms = alarmAt.map {
            [
                RecordAlarm(
                    wallUs: start + Int64($0 * 1e6),
                    cause: "impedance_rise",
                    priority: "high",
                    detail: "rose & <fell>"
                )
            ]
        }
        return RecordDocument(record: record, alarms: alarms ?? [], samples: samples)
    }

    static let three = [
        document(id: 1, level: "L4", seconds: 110, complete: true),
        document(id: 2, level: "L5", seconds: 62, complete: false, alarmAt: 61.5, model: "<script>alert(1)</script>"),
        document(id: 3, level: "L5", seconds: 110, complete: true),
    ]

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test("Three levels, one retried after a fault: a summary row each, plots each, the fault marked and named")
    func threeLevels() {
        let html = LesionReport.html(documents: Self.three, title: "Procedure P-1", generatedUs: 0)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains("<h1>Procedure P-1</h1>"))
        // The summary: one row a lesion, in order, each with its completeness.
        #expect(Self.count("<tr><td>", in: html) == 3)
        let rows = html.components(separatedBy: "<tr><td>").dropFirst().map { String($0.prefix(while: { $0 != "\n" })) }
        #expect(rows.map { String($0.prefix(2)) } == ["L4", "L5", "L5"])
        #expect(rows[0].contains("complete") && !rows[0].contains("incomplete") && rows[0].contains("≈ 8.4 mm"))
        #expect(rows[1].contains("incomplete</span>: time at temperature 12 s of the 60 s asked"), "\(rows[1])")
        #expect(rows[1].contains("1:00") == false && rows[1].contains("0:12"), "time at temperature 12 s")
        #expect(rows[2].contains("1.20 × 10<sup>12</sup> min"))
        // Plots: four panels a lesion on one time axis; phases shaded; the alarm a line, named.
        #expect(Self.count("<svg ", in: html) == 3)
        for title in ["Temperature (°C)", "Power (W)", "Impedance (Ω)", "CEM43 dose at the tip"] {
            #expect(Self.count(title, in: html) == 3, "\(title) in every lesion's plots")
        }
        #expect(html.contains("data-phase=\"ramp\"") && html.contains("data-phase=\"hold\""))
        #expect(html.contains("data-phase=\"impedance_check\""))
        #expect(Self.count("<line class=\"alarm\"", in: html) == 1)
        #expect(html.contains("61.5 s: <b>high impedance_rise</b>: rose &amp; &lt;fell&gt;"))
        // An unknown reading breaks the line rather than joining across it.
        #expect(Self.count("<polyline", in: html) > 3 * 5)
    }

    @Test("Self-contained and inert: no script, nothing fetched, text from the records and the device escaped")
    func selfContained() {
        let html = LesionReport.html(documents: Self.three, title: "<b>x</b>", generatedUs: 0)
        #expect(!html.lowercased().contains("<script"), "the generator's model is text, not a script")
        #expect(html.contains("generator &lt;script&gt;alert(1)&lt;/script&gt; serial SN&amp;7"))
        #expect(html.contains("<h1>&lt;b&gt;x&lt;/b&gt;</h1>"))
        #expect(html.contains("2.1 × the lowest &lt;impedance&gt;"))
        for fetch in ["src=", "href=", "url(", "@import", "https://"] {
            #expect(!html.contains(fetch), "\(fetch) would fetch something")
        }
        // The one URL is the SVG namespace, a name, never fetched.
        #expect(Self.count("http://", in: html) == Self.count("xmlns=\"http://www.w3.org/2000/svg\"", in: html))
        #expect(html.contains("@page { size: A4;") && html.contains("break-inside: avoid"))
    }

    @Test("A 15-minute lesion at 100 Hz is thinned to the page, keeping each bucket's peak")
    func thinned() throws {
        var long = Self.document(id: 9, level: "S1", seconds: 900, hz: 100, complete: true)
        long.samples[45_000].tipTempC = 94.2
        let html = LesionReport.html(documents: [long], title: "t", generatedUs: 0)
        let lines = html.components(separatedBy: "<polyline").dropFirst()
        for line in lines {
            let points = line.prefix(while: { $0 != ">" }).split(separator: " ").count
            #expect(points <= LesionReport.maxPointsPerLine + 2, "\(points) points in one line")
        }
        #expect(html.utf8.count < 1_500_000, "\(html.utf8.count) bytes")
        // The spike survives: the temperature axis reaches it, and a point is drawn at its height.
        #expect(html.contains(">94<") || html.contains(">94.2<") || html.contains("y=\""), "axis")
        let plotTop = 18.0
        let spikeY = plotTop + 92 * (1 - (94.2 - 30) / (100 - 30))
        #expect(html.contains(",\(String(format: "%.1f", spikeY))"), "a point at 94.2 °C (y \(spikeY))")
    }
}
