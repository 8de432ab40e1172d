import Foundation
import RegistryModel

extension DashboardRenderer {
    /// The service page's "Checks" panel (SPEC §9): each check's kind, target, status as a word (never colour
    /// alone), output (a heartbeat's text, a probe's error) and when it last had a result. Every value escaped.
    func checksPanel(_ h: inout HTMLBuffer, _ record: ServiceRecord) {
        h.raw("<section class=\"panel\" data-live=\"checks\" aria-labelledby=\"checks-title\"><h3 id=\"checks-title\">Checks</h3>\n")
        let checks = record.checks
        if checks.isEmpty {
            h.raw("<p class=\"muted\">No checks: nothing to probe, no TTL, not discovered.</p>\n</section>\n")
            return
        }
        h.raw("<div class=\"checks-wrap\"><table class=\"checks\" id=\"checks\"><thead><tr><th scope=\"col\">kind</th><th scope=\"col\">target</th>")
        h.raw("<th scope=\"col\">status</th><th scope=\"col\">output</th><th scope=\"col\">at</th></tr></thead>\n<tbody>\n")
        for check in checks {
            h.raw("<tr")
            h.attribute("data-kind", check.kind.rawValue)
            h.raw("><td>")
            h.text(check.kind.rawValue)
            h.raw("</td><td>")
            h.text(check.target.map(URLCredentials.redacted), placeholder: "—")
            h.raw("</td><td")
            h.attribute("class", "check-status check-\(check.status.rawValue)")
            h.raw(">")
            h.text(check.status.rawValue)
            h.raw("</td><td class=\"check-output\">")
            h.text(check.output.map(URLCredentials.redacted), placeholder: "—")
            h.raw("</td><td>")
            h.text(check.at.map(RFC3339.format), placeholder: "—")
            h.raw("</td></tr>\n")
        }
        h.raw("</tbody></table></div>\n")
        var settings: [String] = []
        if let ttl = record.ttlSeconds { settings.append("ttl_seconds \(ttl)") }
        if let rise = record.rise { settings.append("rise \(rise)") }
        if let fall = record.fall { settings.append("fall \(fall)") }
        if let after = record.deregisterAfterSeconds { settings.append("deregister_after_seconds \(after)") }
        if !settings.isEmpty {
            h.raw("<p class=\"muted\">")
            h.text(settings.joined(separator: " · "))
            h.raw("</p>\n")
        }
        h.raw("</section>\n")
    }
}
