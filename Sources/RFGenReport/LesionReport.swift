import Foundation
import RFGenAPI

/// A report of one or more lesions as one self-contained HTML file: inline SVG plots, inline CSS,
/// no script, nothing fetched from a network, laid out for A4 paper. Pure: it reads exported
/// records (`RecordDocument`, the API's own form) and returns text, so that `rfctl report` and the
/// tests render the same thing.
///
/// Everything that came from outside (levels, reasons, alarm details, the generator's model and
/// serial, which a device sends as it likes) is escaped before it goes into the page.
public enum LesionReport {
    /// The most points one line of a plot holds: a 15-minute lesion at 100 Hz has 90,000 samples,
    /// far more than a page shows; each bucket keeps its lowest and highest value, so a peak
    /// survives the thinning.
    public static let maxPointsPerLine = 1200

    /// - Parameters:
    ///   - documents: the lesions, in the order they are to appear (oldest first for a procedure).
    ///   - title: the report's heading.
    ///   - generatedUs: when the report was made, µs since the epoch (the caller reads the clock).
    public static func html(documents: [RecordDocument], title: String, generatedUs: Int64) -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="meta">Made \(escape(UTCTime.iso8601(microseconds: generatedUs))) from rfgend's treatment \
            records. Estimated diameters come from a model of the tip temperature (docs/DOSE.md): \
            an estimate, not a measurement.</p>

            """
        page += summaryTable(documents)
        for document in documents { page += section(document) }
        page += "</body>\n</html>\n"
        return page
    }

    static let style = """
        @page { size: A4; margin: 12mm; }
        body { font: 10pt/1.35 "DejaVu Sans", Arial, sans-serif; color: #111; max-width: 186mm; margin: 8mm auto; }
        h1 { font-size: 16pt; margin: 0 0 2mm; }
        h2 { font-size: 12pt; margin: 5mm 0 1mm; }
        p.meta, p.small { color: #444; font-size: 8.5pt; margin: 1mm 0; }
        table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
        th, td { border-bottom: 0.3mm solid #bbb; padding: 0.8mm 1.2mm; text-align: right; vertical-align: top; }
        td { white-space: nowrap; }
        td.text { white-space: normal; }
        th:first-child, td:first-child, td.text { text-align: left; }
        .incomplete { color: #b00020; font-weight: bold; }
        .complete { color: #106b21; font-weight: bold; }
        section.lesion { break-inside: avoid; page-break-inside: avoid; margin-top: 4mm; }
        svg { width: 100%; height: auto; display: block; }
        ul.alarms { margin: 1mm 0; padding-left: 5mm; font-size: 8.5pt; }
        @media print { section.lesion { break-before: auto; } }
        """

    // MARK: - The summary table

    static func summaryTable(_ documents: [RecordDocument]) -> String {
        var rows = ""
        for document in documents {
            let r = document.record
            let completeness: String
            switch r.complete {
            case true?: completeness = "<span class=\"complete\">complete</span>"
            case false?:
                completeness =
                    "<span class=\"incomplete\">incomplete</span>"
                    + (r.incompleteReason.map { ": " + escape($0) } ?? "")
            case nil: completeness = r.outcome == "running" ? "running" : "not judged (older record)"
            }
            rows += """
                <tr><td>\(escape(r.level.isEmpty ? "-" : r.level))</td><td>\(r.id)</td>\
                <td>\(escape(shortTime(r.startedUs)))</td>\
                <td>\(duration(r.holdS))</td><td>\(fixed(r.energyJ, 0)) J</td><td>\(fixed(r.peakC, 1)) °C</td>\
                <td>\(r.doseCem43Min.map { scientific($0) + " min" } ?? "—")</td>\
                <td>\(r.diameterMm.map { "≈ " + fixed($0, 1) + " mm" } ?? "—")</td>\
                <td class="text">\(escape(r.outcome))\(r.endReason.map { ": " + escape($0) } ?? "")</td>\
                <td class="text">\(completeness)</td></tr>

                """
        }
        return """
            <h2>Summary</h2>
            <table>
            <thead><tr><th>Level</th><th>Record</th><th>Started (UTC)</th><th>Time at temperature</th><th>Energy</th>\
            <th>Peak</th><th>CEM43 dose</th><th>Est. diameter</th><th>End</th><th>Complete</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>

            """
    }

    // MARK: - One lesion

    static func section(_ document: RecordDocument) -> String {
        let r = document.record
        var text = "<section class=\"lesion\">\n<h2>\(escape(r.level.isEmpty ? "-" : r.level)) · record \(r.id)</h2>\n"
        var facts: [String] = ["started \(escape(r.startedUtc ?? UTCTime.iso8601(microseconds: r.startedUs)))"]
        if let ended = r.endedUtc { facts.append("ended \(escape(ended))") }
        if let p = r.profileParameters {
            if p.mode == "power" {
                facts.append(
                    "profile \(escape(p.name)) (power-controlled): \(fixed(p.powerLimitW, 1)) W for \(duration(p.holdS)), "
                        + "tip at most \(fixed(p.targetC, 1)) °C, at most \(fixed(p.energyCapJ, 0)) J"
                )
            } else {
                facts.append(
                    "profile \(escape(p.name)): \(fixed(p.targetC, 1)) ± \(fixed(p.holdBandC, 1)) °C for \(duration(p.holdS)), "
                        + "ramp \(fixed(p.rampCPerS, 1)) °C/s, at most \(fixed(p.powerLimitW, 1)) W and \(fixed(p.energyCapJ, 0)) J"
                )
            }
        } else {
            facts.append("profile \(escape(r.profile))")
        }
        if let g = r.generator {
            facts.append("generator \(escape(g.model)) serial \(escape(g.serial)) firmware \(escape(g.firmware))")
        }
        if let version = r.daemonVersion { facts.append("rfgend \(escape(version))") }
        facts.append("operator uid \(r.operatorUid)")
        text += "<p class=\"small\">\(facts.joined(separator: " · "))</p>\n"
        text += Plot(document: document).svg()
        if !document.alarms.isEmpty {
            text += "<ul class=\"alarms\">\n"
            for alarm in document.alarms {
                let at = Double(alarm.wallUs - r.startedUs) / 1e6
                text +=
                    "<li>\(fixed(at, 1)) s: <b>\(escape(alarm.priority)) \(escape(alarm.cause))</b>: \(escape(alarm.detail))</li>\n"
            }
            text += "</ul>\n"
        }
        return text + "</section>\n"
    }

    // MARK: - Formatting

    /// Text made safe for HTML element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters a generator might send have no place in a page.
                if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "—"
    }

    static func scientific(_ value: Double) -> String {
        guard let (mantissa, exponent) = Scientific.parts(value) else { return "0" }
        return "\(mantissa) × 10<sup>\(exponent)</sup>"
    }

    /// To the second, for the table: `2026-12-01 15:08:26Z`.
    static func shortTime(_ microseconds: Int64) -> String {
        let full = UTCTime.iso8601(microseconds: microseconds)
        return String(full.prefix(10)) + " " + String(full.dropFirst(11).prefix(8)) + "Z"
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        return "\(s / 60):" + (s % 60 < 10 ? "0" : "") + "\(s % 60)"
    }
}
