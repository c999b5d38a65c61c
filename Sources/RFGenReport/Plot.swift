import Foundation
import RFGenAPI

/// One lesion's plots as inline SVG: tip temperature with the set point, power, impedance and the
/// dose, one panel each, on one shared time axis; the phases shaded behind every panel, each alarm
/// a red line through all of them where it happened.
struct Plot {
    let document: RecordDocument

    static let width = 700.0
    static let left = 58.0
    static let right = 12.0
    static let panelHeight = 92.0
    static let gap = 14.0
    static let top = 18.0

    /// A panel: its title, unit, and the lines in it.
    struct Panel {
        var title: String
        var lines: [(values: [Double?], style: String)]
        /// Fixed bounds, or nil to fit the values.
        var range: ClosedRange<Double>?
    }

    static let phaseColours: [String: String] = [
        "impedance_check": "#e8e8e8",
        "ramp": "#fdebd3",
        "hold": "#fbd5d5",
    ]

    func svg() -> String {
        let samples = document.samples
        let start = document.record.startedUs
        let end = max(
            document.record.endedUs ?? samples.last?.wallUs ?? start,
            samples.last?.wallUs ?? start,
            start + 1_000_000
        )
        let seconds = Double(end - start) / 1e6
        let times = samples.map { Double($0.wallUs - start) / 1e6 }
        let panels = [
            Panel(
                title: "Temperature (°C): tip, channel 2, set point",
                lines: [
                    (samples.map(\.tipTempC), "stroke:#c62828;stroke-width:1.2"),
                    (samples.map(\.secondTempC), "stroke:#ef9a9a;stroke-width:0.8"),
                    (samples.map(\.setpointC), "stroke:#111;stroke-width:0.8;stroke-dasharray:4 3"),
                ],
                range: 30...100
            ),
            Panel(
                title: "Power (W)",
                lines: [(samples.map { $0.powerW }, "stroke:#1565c0;stroke-width:1")],
                range: nil
            ),
            Panel(
                title: "Impedance (Ω)",
                lines: [(samples.map(\.impedanceOhm), "stroke:#2e7d32;stroke-width:1")],
                range: nil
            ),
            Panel(
                title: "CEM43 dose at the tip (log10 min)",
                lines: [
                    (
                        samples.map { $0.doseCem43Min.flatMap { $0 > 0 ? log10($0) : nil } },
                        "stroke:#6a1b9a;stroke-width:1.2"
                    )
                ],
                range: nil
            ),
        ]
        let plotWidth = Self.width - Self.left - Self.right
        let height = Self.top + Double(panels.count) * (Self.panelHeight + Self.gap) + 16
        func x(_ t: Double) -> Double { Self.left + plotWidth * min(max(t / seconds, 0), 1) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(Self.width)) \(Int(height))" \
            role="img" aria-label="lesion plots" font-family="DejaVu Sans, Arial, sans-serif" font-size="9">

            """
        // Phases behind each panel's lines: one band per run of equal phase.
        var bands: [(phase: String, from: Double, to: Double, colour: String)] = []
        var bandStart = 0
        for index in samples.indices {
            let last = index == samples.count - 1
            if last || samples[index + 1].phase != samples[bandStart].phase {
                if let phase = samples[bandStart].phase, let colour = Self.phaseColours[phase] {
                    let from = x(times[bandStart])
                    let to = x(last ? times[index] : times[index + 1])
                    bands.append((phase, from, max(to, from + 0.5), colour))
                }
                bandStart = index + 1
            }
        }
        for (number, panel) in panels.enumerated() {
            let y0 = Self.top + Double(number) * (Self.panelHeight + Self.gap)
            let all = panel.lines.flatMap { $0.values.compactMap { $0 } }
            var range = panel.range ?? ((all.min() ?? 0)...(all.max() ?? 1))
            if let fixed = panel.range, let low = all.min(), let high = all.max() {
                range = min(fixed.lowerBound, low)...max(fixed.upperBound, high)
            }
            if range.upperBound - range.lowerBound < 1e-9 { range = range.lowerBound...(range.lowerBound + 1) }
            if panel.range == nil, range.lowerBound > 0 { range = 0...range.upperBound * 1.05 }
            func y(_ value: Double) -> Double {
                y0 + Self.panelHeight * (1 - (value - range.lowerBound) / (range.upperBound - range.lowerBound))
            }
            svg += "<text x=\"\(r(Self.left))\" y=\"\(r(y0 - 3))\" font-weight=\"bold\">\(panel.title)</text>\n"
            for band in bands {
                svg +=
                    "<rect class=\"phase\" data-phase=\"\(band.phase)\" x=\"\(r(band.from))\" y=\"\(r(y0))\" "
                    + "width=\"\(r(band.to - band.from))\" height=\"\(r(Self.panelHeight))\" fill=\"\(band.colour)\"/>\n"
            }
            svg +=
                "<rect x=\"\(r(Self.left))\" y=\"\(r(y0))\" width=\"\(r(plotWidth))\" height=\"\(r(Self.panelHeight))\" "
                + "fill=\"none\" stroke=\"#999\" stroke-width=\"0.5\"/>\n"
            let middle = (range.lowerBound + range.upperBound) / 2
            for tick in [range.lowerBound, middle, range.upperBound] {
                let at = y(tick) + 3
                svg +=
                    "<text x=\"\(r(Self.left - 4))\" y=\"\(r(at))\" text-anchor=\"end\">\(label(tick))</text>\n"
            }
            for line in panel.lines {
                for run in Self.polylines(times: times, values: line.values, limit: LesionReport.maxPointsPerLine) {
                    let points = run.map { "\(r(x($0.t))),\(r(y($0.v)))" }.joined(separator: " ")
                    svg += "<polyline fill=\"none\" style=\"\(line.style)\" points=\"\(points)\"/>\n"
                }
            }
        }
        // The shared time axis, under the last panel.
        let axis = Self.top + Double(panels.count) * (Self.panelHeight + Self.gap) - Self.gap + 11
        for step in 0...5 {
            let t = seconds * Double(step) / 5
            // The ends' labels inside the plot's width, so that neither is cut at the page's edge.
            let anchor = step == 0 ? "start" : step == 5 ? "end" : "middle"
            svg += "<text x=\"\(r(x(t)))\" y=\"\(r(axis))\" text-anchor=\"\(anchor)\">\(label(t)) s</text>\n"
        }
        for alarm in document.alarms {
            let at = x(Double(alarm.wallUs - start) / 1e6)
            svg +=
                "<line class=\"alarm\" x1=\"\(r(at))\" x2=\"\(r(at))\" y1=\"\(r(Self.top))\" y2=\"\(r(axis - 10))\" "
                + "stroke=\"#d50000\" stroke-width=\"1.2\"/>\n"
                // The name on the side with room for it.
                + (at > Self.left + plotWidth * 0.7
                    ? "<text x=\"\(r(at - 3))\" y=\"\(r(Self.top + 9))\" fill=\"#d50000\" text-anchor=\"end\">"
                    : "<text x=\"\(r(at + 3))\" y=\"\(r(Self.top + 9))\" fill=\"#d50000\">")
                + "\(LesionReport.escape(alarm.cause))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// The line's points, split where values are unknown (a gap in the line, never a made-up
    /// value), each run thinned to its buckets' lowest and highest points.
    static func polylines(times: [Double], values: [Double?], limit: Int) -> [[(t: Double, v: Double)]] {
        let bucket = max(1, (values.count + limit / 2 - 1) / (limit / 2))
        var runs: [[(t: Double, v: Double)]] = []
        var current: [(t: Double, v: Double)] = []
        var index = 0
        while index < values.count {
            let end = min(index + bucket, values.count)
            var low: (t: Double, v: Double)?
            var high: (t: Double, v: Double)?
            var broken = false
            for i in index..<end {
                guard let v = values[i] else {
                    broken = true
                    continue
                }
                if low.map({ v < $0.v }) ?? true { low = (times[i], v) }
                if high.map({ v > $0.v }) ?? true { high = (times[i], v) }
            }
            if let low, let high {
                current += low.t <= high.t ? [low, high] : [high, low]
                if low.t == high.t { current.removeLast() }
            }
            if broken, !current.isEmpty {
                runs.append(current)
                current = []
            }
            index = end
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    private func r(_ value: Double) -> String { LesionReport.fixed(value, 1) }

    /// An axis label: whole numbers from 100, one decimal from 1, two below (0.05 W, not 0.1).
    private func label(_ value: Double) -> String {
        if abs(value) >= 100 || value == value.rounded() { return String(Int(value.rounded())) }
        return LesionReport.fixed(value, abs(value) >= 1 ? 1 : 2)
    }
}
