import Foundation
import RegistryModel
import RegistryStore

/// The service page's "Health over time" panel (SPEC §9): a 24 h uptime bar and a response-time chart, inline
/// SVG drawn here (no chart library, works offline). Readable without colour: every hour of the bar carries its
/// figures as text (`<title>`, and a pattern plus a letter for hours with failures), the chart has labelled axes
/// and a text summary.
extension DashboardRenderer {
    func uptimePanel(_ h: inout HTMLBuffer, _ report: UptimeReport?, now: Date) {
        h.raw("<section class=\"panel\" data-live=\"uptime\" aria-labelledby=\"uptime-title\"><h3 id=\"uptime-title\">Health over time</h3>\n")
        guard let report, !report.minutes.isEmpty || !report.hours.isEmpty else {
            h.raw("<p class=\"muted\" id=\"uptime-empty\">No probe results in the last 30 days.</p>\n</section>\n")
            return
        }
        h.raw("<p id=\"uptime-summary\">Uptime: 24 h ")
        h.text(Self.percent(report.ratio24h))
        h.raw(" · 7 d ")
        h.text(Self.percent(report.ratio7d))
        h.raw(" · 30 d ")
        h.text(Self.percent(report.ratio30d))
        h.raw("</p>\n")
        uptimeBar(&h, report.minutes, now: now)
        responseTimeChart(&h, report.minutes, now: now)
        h.raw("</section>\n")
    }

    package static func percent(_ ratio: Double?) -> String {
        guard let ratio else { return "no data" }
        return String(format: "%.2f%%", ratio * 100)
    }

    /// 24 segments, one per hour of the last 24 h (oldest left): solid when every probe passed, hatched with an
    /// "×" when some failed, outlined and empty without probes. Each segment's `<title>` says its figures.
    private func uptimeBar(_ h: inout HTMLBuffer, _ minutes: [RollupBucket], now: Date) {
        let nowHour = Int64(now.timeIntervalSince1970) / 3600 * 3600
        var byHour: [Int64: (probes: Int, failures: Int)] = [:]
        for bucket in minutes {
            let hour = bucket.start / 3600 * 3600
            byHour[hour, default: (0, 0)].probes += bucket.probes
            byHour[hour, default: (0, 0)].failures += bucket.failures
        }
        let width = 24 * 20
        h.raw("<svg id=\"uptime-bar\" class=\"uptime-bar\" role=\"img\" viewBox=\"0 0 \(width) 44\" width=\"100%\" height=\"44\" ")
        h.raw("aria-labelledby=\"uptime-bar-title\"><title id=\"uptime-bar-title\">Uptime per hour, last 24 hours</title>\n")
        h.raw("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">")
        h.raw(
            "<rect width=\"6\" height=\"6\" fill=\"#c0392b\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#fff\" stroke-width=\"2\"/></pattern></defs>\n"
        )
        for index in 0..<24 {
            let hour = nowHour - Int64(23 - index) * 3600
            let x = index * 20
            let label = RFC3339.format(Date(timeIntervalSince1970: Double(hour)))
            h.raw("<g class=\"uptime-hour\"")
            if let counts = byHour[hour], counts.probes > 0 {
                let state = counts.failures == 0 ? "up" : "degraded"
                h.attribute("data-state", state)
                h.raw("><title>")
                h.text("\(label): \(counts.probes - counts.failures) of \(counts.probes) probes passed")
                h.raw("</title>")
                h.raw("<rect x=\"\(x + 1)\" y=\"2\" width=\"18\" height=\"28\" rx=\"2\" fill=\"\(state == "up" ? "#2e8540" : "url(#hatch)")\"/>")
                if state == "degraded" {
                    h.raw("<text x=\"\(x + 10)\" y=\"42\" text-anchor=\"middle\" font-size=\"11\">×</text>")
                }
            } else {
                h.attribute("data-state", "none")
                h.raw("><title>")
                h.text("\(label): no probes")
                h.raw("</title>")
                h.raw(
                    "<rect x=\"\(Double(x) + 1.5)\" y=\"2.5\" width=\"17\" height=\"27\" rx=\"2\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"2 2\"/>"
                )
            }
            h.raw("</g>\n")
        }
        h.raw(
            "</svg>\n<p class=\"muted legend\">Each block is one hour, oldest left: solid = all probes passed, hatched with × = some failed, dashed outline = no probes.</p>\n"
        )
    }

    /// Average response time per minute over the last 24 h as a polyline, min–max as a band, with a labelled axis.
    private func responseTimeChart(_ h: inout HTMLBuffer, _ minutes: [RollupBucket], now: Date) {
        guard !minutes.isEmpty else { return }
        let (width, height, left, top, bottom) = (480.0, 160.0, 44.0, 8.0, 20.0)
        let end = Double(Int64(now.timeIntervalSince1970))
        let begin = end - Double(UptimeRollups.minuteWindow)
        let maxMs = max(1, minutes.map(\.maxMs).filter(\.isFinite).max() ?? 1)
        let plotW = width - left - 4
        let plotH = height - top - bottom
        func x(_ t: Int64) -> Double { left + (Double(t) + 30 - begin) / (end - begin) * plotW }
        func y(_ ms: Double) -> Double { top + plotH - min(max(ms, 0), maxMs) / maxMs * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let average = minutes.reduce(0) { $0 + $1.sumMs } / Double(max(1, minutes.reduce(0) { $0 + $1.probes }))
        h.raw("<svg id=\"latency-chart\" class=\"latency-chart\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" ")
        h.raw("aria-labelledby=\"latency-title latency-desc\"><title id=\"latency-title\">Response time per minute, last 24 hours</title>")
        h.raw("<desc id=\"latency-desc\">")
        h.text(
            "\(minutes.count) minutes with probes; average \(DashboardFormat.milliseconds(average)), highest \(DashboardFormat.milliseconds(maxMs))")
        h.raw("</desc>\n")
        // Axes and labels.
        h.raw("<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"#888\"/>")
        h.raw("<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(width - 4))\" y2=\"\(f(top + plotH))\" stroke=\"#888\"/>\n")
        h.raw("<text x=\"\(f(left - 4))\" y=\"\(f(top + 8))\" text-anchor=\"end\" font-size=\"10\">")
        h.text(DashboardFormat.milliseconds(maxMs))
        h.raw("</text><text x=\"\(f(left - 4))\" y=\"\(f(top + plotH))\" text-anchor=\"end\" font-size=\"10\">0 ms</text>")
        h.raw("<text x=\"\(f(left))\" y=\"\(f(height - 4))\" font-size=\"10\">−24 h</text>")
        h.raw("<text x=\"\(f(width - 4))\" y=\"\(f(height - 4))\" text-anchor=\"end\" font-size=\"10\">now</text>\n")
        // Min–max band (one thin bar per minute) and the average line.
        h.raw("<g class=\"latency-range\" fill=\"#9ab\" fill-opacity=\"0.5\">")
        for bucket in minutes where bucket.minMs.isFinite {
            let top = y(bucket.maxMs)
            let low = y(bucket.minMs)
            h.raw("<rect x=\"\(f(x(bucket.start) - 0.5))\" y=\"\(f(top))\" width=\"1\" height=\"\(f(max(0.5, low - top)))\"/>")
        }
        h.raw("</g>\n<polyline class=\"latency-avg\" fill=\"none\" stroke=\"#1f5f99\" stroke-width=\"1.5\" points=\"")
        h.raw(minutes.map { "\(f(x($0.start))),\(f(y($0.avgMs)))" }.joined(separator: " "))
        h.raw("\"/>\n</svg>\n")
    }
}
