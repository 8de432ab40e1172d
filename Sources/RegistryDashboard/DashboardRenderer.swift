import Foundation
import RegistryModel
import RegistryStore

/// Renders the dashboard's pages from a store snapshot. Pure: no I/O, no probing (a hanging service
/// must not slow a page down), every dynamic value escaped through `HTML.escape`.
public struct DashboardRenderer: Sendable {
    /// Whether writes need a bearer token (the script then asks for it once and keeps it).
    public var authRequired: Bool

    public init(authRequired: Bool = false) {
        self.authRequired = authRequired
    }

    // MARK: Pages

    /// `GET /`: counts, actions, filters and one page of the table, filtered and sorted as `query` says (SPEC §10:
    /// never every row of a large registry). `data-index` is the store version the page shows: the script resumes
    /// the change stream from there, so nothing between the render and the subscription is missed.
    ///
    /// `forUpdate`: the page the script fetches to update a view in place. It leaves out what changes without a visible
    /// change (the version, times relative to now: its `<time>` elements hold the timestamp, which the script shows
    /// as relative), so its ETag changes only with what it shows and an unchanged view costs a 304.
    public func indexPage(
        _ snapshot: ServiceSnapshot, query: DashboardQuery = DashboardQuery(), now: Date = Date(),
        forUpdate: Bool = false
    ) -> String {
        let (shown, matching) = query.window(snapshot)
        let page = query.shownPage(matching: matching)
        let now: Date? = forUpdate ? nil : now
        var h = HTMLBuffer(capacity: 8192 + shown.count * 900)
        head(&h, title: "Service registry", page: "index", index: forUpdate ? nil : snapshot.version)
        h.raw("<main id=\"main\">\n")
        counts(&h, snapshot.summary)
        h.raw("<section class=\"toolbar\" aria-label=\"Actions\">\n")
        h.raw("<button type=\"button\" id=\"scan-button\" class=\"button\">Scan now</button>\n")
        h.raw("<span id=\"scan-result\" class=\"inline-status\" role=\"status\"></span>\n")
        h.raw("<a href=\"/scan\" class=\"muted-link\">Scan page</a>\n")
        h.raw("</section>\n")
        h.raw("<details id=\"add-service\" class=\"panel\"><summary>Add a service</summary>\n")
        serviceForm(&h, record: nil)
        h.raw("</details>\n")
        filters(&h, query)
        h.raw("<div id=\"view\"")
        h.attribute("data-page", String(page))
        h.raw(">\n<p id=\"summary\" class=\"summary\">")
        h.text(Self.summaryText(shown: shown.count, page: page, matching: matching, total: snapshot.count))
        h.raw(
            "</p>\n<div class=\"table-wrap\">\n<table id=\"services\" role=\"table\">\n<caption class=\"visually-hidden\">Services</caption>\n<thead><tr>"
        )
        for (key, title) in Self.columns {
            h.raw("<th scope=\"col\"")
            h.attribute("data-sort", key.rawValue)
            if key == query.sort { h.attribute("aria-sort", query.descending ? "descending" : "ascending") }
            h.raw("><a class=\"sort\"")
            h.attribute("href", "/" + query.queryString(sortingBy: key))
            h.attribute("data-sort", key.rawValue)
            h.raw(">")
            h.text(title)
            h.raw("<span class=\"arrow\" aria-hidden=\"true\"></span></a></th>")
        }
        h.raw("<th scope=\"col\"><span class=\"visually-hidden\">Details</span></th></tr></thead>\n<tbody>\n")
        for record in shown { row(&h, record, now: now) }
        h.raw("</tbody>\n</table>\n</div>\n")
        h.raw("<p id=\"empty\" class=\"empty\"\(shown.isEmpty ? "" : " hidden")>No services match these filters.</p>\n")
        pager(&h, query, page: page, matching: matching)
        h.raw("</div>\n")
        h.raw("<p id=\"refresh-status\" class=\"refresh-status\" aria-live=\"polite\"></p>\n")
        h.raw("</main>\n")
        foot(&h)
        return h.text
    }

    /// "Showing 6 of 6 services" when one page holds every match, else "Showing 101–200 of 12,345 matching (100,000 in all)".
    static func summaryText(shown: Int, page: Int, matching: Int, total: Int) -> String {
        if page == 1 && shown == matching { return "Showing \(matching) of \(total) services" }
        let first = (page - 1) * DashboardQuery.pageSize + 1
        return "Showing \(first)–\(first + shown - 1) of \(matching) matching (\(total) in all)"
    }

    /// Previous and next pages as plain links (they work without JavaScript; the script follows them in place).
    private func pager(_ h: inout HTMLBuffer, _ query: DashboardQuery, page: Int, matching: Int) {
        let pages = max(1, (matching + DashboardQuery.pageSize - 1) / DashboardQuery.pageSize)
        h.raw("<nav id=\"pager\" class=\"pager\" aria-label=\"Pages\"\(pages > 1 ? "" : " hidden")>")
        if page > 1 {
            h.raw("<a rel=\"prev\" class=\"button\"")
            h.attribute("href", "/" + query.queryString(page: page - 1))
            h.raw(">← Previous</a> ")
        }
        h.raw("<span class=\"page-of\">")
        h.text("Page \(page) of \(pages)")
        h.raw("</span>")
        if page < pages {
            h.raw(" <a rel=\"next\" class=\"button\"")
            h.attribute("href", "/" + query.queryString(page: page + 1))
            h.raw(">Next →</a>")
        }
        h.raw("</nav>\n")
    }

    /// `GET /services/{id}`: every field, labels, the history as a timeline (newest first), check now,
    /// the edit form and delete.
    /// Sections marked `data-live` are what the script replaces when the service changes (`index`: the store version
    /// the page shows, where its change stream resumes); the edit form is never replaced.
    public func servicePage(
        _ record: ServiceRecord, history: [HistoryEvent], now: Date = Date(), uptime: UptimeReport? = nil,
        index: UInt64? = nil
    ) -> String {
        var h = HTMLBuffer(capacity: 16_384)
        head(&h, title: "\(record.name) · Service registry", page: "service", serviceID: record.id, index: index)
        h.raw("<main id=\"main\">\n<p class=\"breadcrumb\"><a href=\"/\">← All services</a></p>\n")
        h.raw("<h2 class=\"service-title\">")
        h.text(record.name)
        h.raw("</h2>\n<p class=\"badges\" data-live=\"badges\">")
        healthBadge(&h, record)
        h.raw(" ")
        statusBadge(&h, record.status)
        h.raw("</p>\n<section class=\"toolbar\" aria-label=\"Actions\">\n")
        h.raw("<button type=\"button\" id=\"check-button\" class=\"button\">Check now</button>\n")
        h.raw("<button type=\"button\" id=\"delete-button\" class=\"button danger\">Delete…</button>\n")
        h.raw("<span id=\"action-result\" class=\"inline-status\" role=\"status\"></span>\n</section>\n")

        h.raw(
            "<section class=\"panel\" data-live=\"fields\" aria-labelledby=\"fields-title\"><h3 id=\"fields-title\">Fields</h3>\n<dl class=\"fields\">\n"
        )
        field(&h, "id", String(record.id))
        field(&h, "name", record.name)
        linkField(&h, "url", record.url)
        field(&h, "status", record.status.rawValue)
        field(&h, "health_status", record.healthStatus.rawValue)
        field(&h, "description", record.description)
        linkField(&h, "health_url", record.healthURL)
        field(&h, "source", record.source.rawValue)
        field(&h, "unit", record.unit)
        field(&h, "active_state", record.activeState)
        field(&h, "sub_state", record.subState)
        field(&h, "port", record.port.map(String.init))
        field(&h, "ports", record.ports.isEmpty ? nil : record.ports.map(String.init).joined(separator: ", "))
        h.raw("<div><dt>last_health_check</dt><dd>")
        time(&h, record.lastHealthCheck, now: now)
        h.raw("</dd></div>\n")
        field(&h, "last_status_code", record.lastStatusCode.map(String.init))
        field(&h, "last_response_time_ms", record.lastResponseTimeMs.map { DashboardFormat.milliseconds($0) })
        field(&h, "last_error", record.lastError)
        field(&h, "probe_interval_seconds", record.probeIntervalSeconds.map { DashboardFormat.number($0) + " s" })
        field(&h, "probe_timeout_seconds", record.probeTimeoutSeconds.map { DashboardFormat.number($0) + " s" })
        field(&h, "follow_redirects", record.followRedirects ? "yes" : "no")
        field(&h, "created_at", RFC3339.format(record.createdAt))
        field(&h, "updated_at", RFC3339.format(record.updatedAt))
        h.raw("</dl>\n</section>\n")
        checksPanel(&h, record)
        uptimePanel(&h, uptime, now: now)

        h.raw("<section class=\"panel\" data-live=\"labels\" aria-labelledby=\"labels-title\"><h3 id=\"labels-title\">Labels</h3>\n")
        if record.labels.isEmpty {
            h.raw("<p class=\"muted\">No labels.</p>\n")
        } else {
            h.raw("<ul class=\"labels\">")
            for key in record.labels.keys.sorted() {
                h.raw("<li><span class=\"label-key\">")
                h.text(key)
                h.raw("</span><span class=\"label-value\">")
                h.text(record.labels[key] ?? "")
                h.raw("</span></li>")
            }
            h.raw("</ul>\n")
        }
        h.raw("</section>\n")

        h.raw("<section class=\"panel\" data-live=\"history\" aria-labelledby=\"history-title\"><h3 id=\"history-title\">History</h3>\n")
        if history.isEmpty {
            h.raw("<p class=\"muted\">No transitions recorded yet.</p>\n")
        } else {
            h.raw("<ol class=\"timeline\" id=\"timeline\">\n")
            for event in history.reversed() {
                h.raw("<li")
                h.attribute("class", "event event-\(event.kind.rawValue) to-\(event.to)")
                h.raw(">")
                time(&h, event.at, now: now)
                h.raw(" <span class=\"event-text\">")
                h.text(event.kind.rawValue)
                h.raw(": ")
                h.text(event.from)
                h.raw(" → <strong>")
                h.text(event.to)
                h.raw("</strong></span>")
                if let detail = event.detail {
                    h.raw(" <span class=\"event-detail\">")
                    h.text(detail)
                    h.raw("</span>")
                }
                h.raw("</li>\n")
            }
            h.raw("</ol>\n")
        }
        h.raw("</section>\n")

        h.raw("<section class=\"panel\" aria-labelledby=\"edit-title\"><h3 id=\"edit-title\">Edit</h3>\n")
        serviceForm(&h, record: record)
        h.raw("</section>\n")

        h.raw("<dialog id=\"delete-dialog\" aria-labelledby=\"delete-title\"><form method=\"dialog\">\n<h3 id=\"delete-title\">Delete ")
        h.text(record.name)
        h.raw("?</h3>\n")
        if record.source == .systemd {
            h.raw("<p>Discovery will not re-create it: the unit is remembered as ignored.</p>\n")
        }
        h.raw("<div class=\"buttons\"><button value=\"cancel\" class=\"button\">Cancel</button> ")
        h.raw("<button value=\"delete\" id=\"delete-confirm\" class=\"button danger\">Delete</button></div>\n</form></dialog>\n")
        h.raw("</main>\n")
        foot(&h)
        return h.text
    }

    /// A page for a service id that does not exist (served with 404).
    public func notFoundPage(_ message: String) -> String {
        var h = HTMLBuffer()
        head(&h, title: "Not found · Service registry", page: "notfound")
        h.raw("<main id=\"main\"><p class=\"breadcrumb\"><a href=\"/\">← All services</a></p><h2>")
        h.text(message)
        h.raw("</h2></main>\n")
        foot(&h)
        return h.text
    }

    // MARK: Parts

    package static let columns: [(DashboardQuery.SortKey, String)] = [
        (.name, "Name"), (.description, "Description"), (.status, "Status"), (.health, "Health"),
        (.response, "Response"), (.port, "Port"), (.checked, "Last check"),
    ]

    private func head(_ h: inout HTMLBuffer, title: String, page: String, serviceID: Int? = nil, index: UInt64? = nil) {
        h.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        h.raw("<meta name=\"color-scheme\" content=\"light dark\">\n<title>")
        h.text(title)
        h.raw("</title>\n<link rel=\"icon\" href=\"data:,\">\n")
        h.raw("<link rel=\"stylesheet\" href=\"/static/app.css?v=\(DashboardAssets.stylesheet.version)\">\n")
        h.raw("<script src=\"/static/app.js?v=\(DashboardAssets.script.version)\" defer></script>\n</head>\n<body")
        h.attribute("data-page", page)
        h.attribute("data-auth", authRequired ? "token" : "open")
        if let index { h.attribute("data-index", String(index)) }
        if let serviceID { h.attribute("data-service-id", String(serviceID)) }
        h.raw(">\n<a class=\"skip-link\" href=\"#main\">Skip to content</a>\n")
        h.raw("<header class=\"site-header\"><h1><a href=\"/\">Service registry</a></h1>")
        h.raw("<nav aria-label=\"Site\"><a href=\"/\">Services</a> <a href=\"/scan\">Scan</a> <a href=\"/openapi.json\">API</a></nav></header>\n")
    }

    private func foot(_ h: inout HTMLBuffer) {
        // The token prompt: a dialog element (not window.prompt) so it is styled, keyboard-usable and testable.
        h.raw("<dialog id=\"token-dialog\" aria-labelledby=\"token-title\"><form method=\"dialog\" id=\"token-form\">\n")
        h.raw(
            "<h3 id=\"token-title\">API token</h3>\n<p id=\"token-message\">This registry needs its API token for changes. It is kept in this browser.</p>\n"
        )
        h.raw("<label for=\"token-input\">Token</label> <input type=\"password\" id=\"token-input\" autocomplete=\"current-password\" required>\n")
        // Save first: Enter in the field submits with the first button.
        h.raw("<div class=\"buttons\"><button value=\"ok\" id=\"token-ok\" class=\"button primary\">Save</button> ")
        h.raw("<button value=\"cancel\" class=\"button\" formnovalidate>Cancel</button></div>\n</form></dialog>\n")
        h.raw("</body>\n</html>\n")
    }

    private func counts(_ h: inout HTMLBuffer, _ summary: ServiceSummary) {
        h.raw("<section class=\"counts\" aria-label=\"Counts\">\n")
        func count(_ key: String, _ n: Int, _ title: String) {
            h.raw("<div")
            h.attribute("class", "count count-\(key)")
            h.raw("><span class=\"count-n\"")
            h.attribute("data-count", key)
            h.raw(">\(n)</span> <span class=\"count-label\">")
            h.text(title)
            h.raw("</span></div>\n")
        }
        count("total", summary.total, "services")
        for value in HealthStatus.allCases { count(value.rawValue, summary.health[value] ?? 0, value.rawValue) }
        for value in ServiceStatus.allCases { count(value.rawValue, summary.status[value] ?? 0, value.rawValue) }
        h.raw("</section>\n")
    }

    private func filters(_ h: inout HTMLBuffer, _ query: DashboardQuery) {
        h.raw("<form id=\"filters\" class=\"filters\" method=\"get\" action=\"/\" role=\"search\">\n")
        func select(_ name: String, _ title: String, _ values: [String], _ selected: String?) {
            h.raw("<label class=\"filter\"><span>")
            h.text(title)
            h.raw("</span> <select")
            h.attribute("name", name)
            h.attribute("id", "filter-\(name)")
            h.raw("><option value=\"\">all</option>")
            for value in values {
                h.raw("<option")
                h.attribute("value", value)
                if value == selected { h.raw(" selected") }
                h.raw(">")
                h.text(value)
                h.raw("</option>")
            }
            h.raw("</select></label>\n")
        }
        select("status", "Status", ServiceStatus.allCases.map(\.rawValue), query.status?.rawValue)
        select("health", "Health", HealthStatus.allCases.map(\.rawValue), query.health?.rawValue)
        select("source", "Source", ServiceSource.allCases.map(\.rawValue), query.source?.rawValue)
        h.raw(
            "<label class=\"filter search\"><span>Search</span> <input type=\"search\" name=\"q\" id=\"filter-q\" placeholder=\"name or description\""
        )
        h.attribute("value", query.search)
        h.raw("></label>\n<input type=\"hidden\" name=\"sort\"")
        h.attribute("value", query.sort.rawValue)
        h.raw("><input type=\"hidden\" name=\"dir\"")
        h.attribute("value", query.descending ? "desc" : "asc")
        h.raw(">\n<noscript><button type=\"submit\" class=\"button\">Apply</button></noscript>\n</form>\n")
    }

    package func row(_ h: inout HTMLBuffer, _ record: ServiceRecord, now: Date?) {
        h.raw("<tr")
        h.attribute("data-id", String(record.id))
        h.attribute("data-signature", Self.signature(record))
        h.raw(">")
        h.raw("<td data-col=\"name\">")
        if let url = HTML.linkableURL(record.url) {
            h.raw("<a class=\"service-link\"")
            h.attribute("href", url)
            h.raw(">")
            h.text(record.name)
            h.raw("</a>")
        } else {
            h.raw("<span class=\"service-name\">")
            h.text(record.name)
            h.raw("</span>")
        }
        h.raw("</td><td data-col=\"description\">")
        h.text(record.description ?? "")
        h.raw("</td><td data-col=\"status\">")
        statusBadge(&h, record.status)
        h.raw("</td><td data-col=\"health\">")
        healthBadge(&h, record)
        h.raw("</td><td data-col=\"response\" class=\"num\">")
        h.text(DashboardFormat.milliseconds(record.lastResponseTimeMs))
        h.raw("</td><td data-col=\"port\" class=\"num\">")
        h.text(record.port.map(String.init) ?? "—")
        h.raw("</td><td data-col=\"checked\">")
        time(&h, record.lastHealthCheck, now: now)
        h.raw("</td><td data-col=\"details\"><a")
        h.attribute("href", "/services/\(record.id)")
        h.raw(">Details<span class=\"visually-hidden\"> of ")
        h.text(record.name)
        h.raw("</span></a></td></tr>\n")
    }

    /// What a row shows changes only with these (updated_at moves on every other field change); the script
    /// computes the same string from the API's JSON and rebuilds a row only when it differs, so its first
    /// refresh leaves the server-rendered rows alone.
    static func signature(_ record: ServiceRecord) -> String {
        [
            record.name, record.status.rawValue, record.healthStatus.rawValue, record.port.map(String.init) ?? "",
            RFC3339.format(record.updatedAt), record.lastHealthCheck.map(RFC3339.format) ?? "",
        ].joined(separator: "\n")
    }

    private func healthBadge(_ h: inout HTMLBuffer, _ record: ServiceRecord) {
        let health = record.healthStatus.rawValue
        h.raw("<span")
        h.attribute("class", "badge health health-\(health)")
        if let error = record.lastError { h.attribute("title", error) }
        h.raw("><span class=\"dot\" aria-hidden=\"true\"></span>")
        h.text(health)
        h.raw("</span>")
    }

    private func statusBadge(_ h: inout HTMLBuffer, _ status: ServiceStatus) {
        h.raw("<span")
        h.attribute("class", "badge status status-\(status.rawValue)")
        h.raw(">")
        h.text(status.rawValue)
        h.raw("</span>")
    }

    /// A `<time>`: relative to `now`, or the timestamp itself when `now` is nil.
    private func time(_ h: inout HTMLBuffer, _ date: Date?, now: Date?) {
        guard let date else {
            h.raw("<span class=\"muted\">never</span>")
            return
        }
        let stamp = RFC3339.format(date)
        h.raw("<time")
        h.attribute("datetime", stamp)
        h.attribute("title", stamp)
        h.raw(">")
        h.text(now.map { DashboardFormat.relative(date, now: $0) } ?? stamp)
        h.raw("</time>")
    }

    private func field(_ h: inout HTMLBuffer, _ name: String, _ value: String?) {
        h.raw("<div><dt>")
        h.text(name)
        h.raw("</dt><dd")
        h.attribute("data-field", name)
        h.raw(">")
        if let value { h.text(value) } else { h.raw("<span class=\"muted\">—</span>") }
        h.raw("</dd></div>\n")
    }

    private func linkField(_ h: inout HTMLBuffer, _ name: String, _ value: String?) {
        guard let url = HTML.linkableURL(value) else { return field(&h, name, URLCredentials.redacted(value)) }
        h.raw("<div><dt>")
        h.text(name)
        h.raw("</dt><dd")
        h.attribute("data-field", name)
        h.raw("><a rel=\"noopener noreferrer\"")
        h.attribute("href", url)
        h.raw(">")
        h.text(URLCredentials.redacted(value ?? url))
        h.raw("</a></dd></div>\n")
    }

    /// The add form (no record) or the edit form (pre-filled). `novalidate`: the server's 422 messages are
    /// the single source of truth, shown next to the field they name.
    private func serviceForm(_ h: inout HTMLBuffer, record: ServiceRecord?) {
        let prefix = record == nil ? "add" : "edit"
        h.raw("<form class=\"service-form\" novalidate")
        h.attribute("id", "\(prefix)-form")
        h.attribute("data-mode", record == nil ? "create" : "update")
        if let record { h.attribute("data-id", String(record.id)) }
        h.raw(">\n")
        func input(
            _ name: String, _ title: String, type: String = "text", value: String?, required: Bool = false,
            extra: String = "", hint: String? = nil
        ) {
            let id = "\(prefix)-\(name)"
            h.raw("<div class=\"field\"><label")
            h.attribute("for", id)
            h.raw(">")
            h.text(title)
            if required { h.raw(" <span class=\"required\" aria-hidden=\"true\">*</span>") }
            h.raw("</label>")
            if type == "textarea" {
                h.raw("<textarea rows=\"3\"")
            } else {
                h.raw("<input")
                h.attribute("type", type)
                if let value { h.attribute("value", value) }
            }
            h.attribute("id", id)
            h.attribute("name", name)
            h.attribute("aria-describedby", "\(id)-error" + (hint == nil ? "" : " \(id)-hint"))
            if required { h.raw(" required") }
            h.raw(extra)
            h.raw(">")
            if type == "textarea" {
                // A newline right after <textarea> is dropped by parsers: start with one so values starting with a newline survive.
                h.raw("\n")
                h.text(value ?? "")
                h.raw("</textarea>")
            }
            if let hint {
                h.raw("<small class=\"hint\"")
                h.attribute("id", "\(id)-hint")
                h.raw(">")
                h.text(hint)
                h.raw("</small>")
            }
            h.raw("<p class=\"error\"")
            h.attribute("id", "\(id)-error")
            h.attribute("data-error-for", name)
            h.raw("></p></div>\n")
        }
        input("name", "Name", value: record?.name, required: true, extra: " autocomplete=\"off\"")
        input(
            "url", "URL", type: "url", value: URLCredentials.redacted(record?.url), required: record?.source != .systemd,
            extra: " placeholder=\"http://127.0.0.1:8080\"")
        input("description", "Description", type: "textarea", value: record?.description)
        h.raw("<div class=\"field\"><label")
        h.attribute("for", "\(prefix)-status")
        h.raw(">Status</label><select")
        h.attribute("id", "\(prefix)-status")
        h.raw(" name=\"status\"")
        h.attribute("aria-describedby", "\(prefix)-status-error")
        h.raw(">")
        for status in ServiceStatus.allCases {
            h.raw("<option")
            h.attribute("value", status.rawValue)
            if status == (record?.status ?? .active) { h.raw(" selected") }
            h.raw(">")
            h.text(status.rawValue)
            h.raw("</option>")
        }
        h.raw("</select><p class=\"error\"")
        h.attribute("id", "\(prefix)-status-error")
        h.raw(" data-error-for=\"status\"></p></div>\n")
        input("port", "Port", type: "number", value: record?.port.map(String.init), extra: " inputmode=\"numeric\"")
        input("health_url", "Health URL", type: "url", value: URLCredentials.redacted(record?.healthURL), hint: "probed instead of the URL when set")
        input(
            "labels", "Labels", type: "textarea",
            value: record.map { r in r.labels.keys.sorted().map { "\($0)=\(r.labels[$0] ?? "")" }.joined(separator: "\n") },
            hint: "one key=value per line")
        input(
            "probe_interval_seconds", "Probe interval (s)", type: "number",
            value: record?.probeIntervalSeconds.map(DashboardFormat.number), extra: " step=\"any\"", hint: "empty: the global default")
        input(
            "probe_timeout_seconds", "Probe timeout (s)", type: "number",
            value: record?.probeTimeoutSeconds.map(DashboardFormat.number), extra: " step=\"any\"", hint: "empty: the global default")
        h.raw("<div class=\"field checkbox\"><input type=\"checkbox\" name=\"follow_redirects\"")
        h.attribute("id", "\(prefix)-follow_redirects")
        if record?.followRedirects == true { h.raw(" checked") }
        h.raw("><label")
        h.attribute("for", "\(prefix)-follow_redirects")
        h.raw(">Follow redirects</label><p class=\"error\" data-error-for=\"follow_redirects\"></p></div>\n")
        h.raw("<p class=\"error form-error\" data-error-for=\"\" role=\"alert\"></p>\n")
        h.raw("<div class=\"buttons\"><button type=\"submit\" class=\"button primary\">")
        h.text(record == nil ? "Add service" : "Save changes")
        h.raw("</button> <span class=\"inline-status form-status\" role=\"status\"></span></div>\n</form>\n")
    }
}
