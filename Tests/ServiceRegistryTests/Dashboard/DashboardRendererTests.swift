import Foundation
import Testing

@testable import RegistryDashboard
@testable import RegistryModel
@testable import RegistryStore

@Suite struct HTMLEscapingTests {
    @Test func escapesTheFiveSpecialCharacters() {
        #expect(HTML.escape(#"<a href="x" title='y'>&</a>"#) == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    }

    @Test func leavesOtherTextAlone() {
        #expect(HTML.escape("nginx.service — café 日本 ✓") == "nginx.service — café 日本 ✓")
        #expect(HTML.escape("") == "")
    }

    @Test func escapesAmpersandsOnceOnly() {
        #expect(HTML.escape("&amp;") == "&amp;amp;")
        #expect(HTML.escape(HTML.escape("<")) == "&amp;lt;")
    }

    @Test func onlyHTTPURLsAreLinkable() {
        #expect(HTML.linkableURL("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x")
        #expect(HTML.linkableURL("HTTPS://example.com") == "HTTPS://example.com")
        #expect(HTML.linkableURL("javascript:alert(1)") == nil)
        #expect(HTML.linkableURL(" javascript:alert(1)") == nil)
        #expect(HTML.linkableURL("data:text/html,<script>") == nil)
        #expect(HTML.linkableURL("http://a b") == nil)
        #expect(HTML.linkableURL("http://a\nb") == nil)
        #expect(HTML.linkableURL(nil) == nil)
    }

    @Test func percentEncodesQueryValues() {
        #expect(HTML.queryValue("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
    }
}

@Suite struct DashboardRendererTests {
    static let hostile = #"<img src=x onerror=alert(1)>"#
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func record(
        _ id: Int, _ name: String, status: ServiceStatus = .active, healthy: Bool? = nil,
        description: String? = nil, url: String? = "http://127.0.0.1:8080/", port: Int? = 8080
    ) -> ServiceRecord {
        var record = ServiceRecord(
            id: id, name: name, url: url, status: status, port: port, description: description,
            labels: ["team": #"a"b<c>"#], createdAt: now, updatedAt: now)
        if let healthy {
            record.lastProbe = ProbeResult(
                finishedAt: now.addingTimeInterval(-42), healthy: healthy, statusCode: healthy ? 200 : nil,
                totalSeconds: 0.0123, error: healthy ? nil : #"connection refused <"x">"#)
        }
        return record
    }

    static func snapshot(_ records: [ServiceRecord]) throws -> (ServiceSnapshot, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        try store.transactionSync { txn in for r in records { try txn.save(r) } }
        for r in records { if let probe = r.lastProbe { store.setProbeResult(id: r.id, probe) } }
        return (store.snapshot(), directory)
    }

    /// Every `<` in the page starts a tag the renderer wrote; data never contributes markup.
    static func tags(_ html: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "/" || $0 == "!" }
            names.insert(String(name).lowercased().replacingOccurrences(of: "/", with: ""))
        }
        return names
    }

    @Test func indexEscapesEveryValue() throws {
        let (snapshot, directory) = try Self.snapshot([
            Self.record(
                1, Self.hostile, healthy: false, description: #"</td><script>alert("d")</script>"#,
                url: #"http://127.0.0.1:1/"onmouseover="alert(1)"#)
        ])
        _ = directory
        let html = DashboardRenderer().indexPage(snapshot, now: Self.now)
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("&lt;/td&gt;&lt;script&gt;alert(&quot;d&quot;)&lt;/script&gt;"))
        #expect(html.contains(#"href="http://127.0.0.1:1/&quot;onmouseover=&quot;alert(1)""#))
        #expect(html.contains(#"title="connection refused &lt;&quot;x&quot;&gt;""#))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<script>"))
        #expect(
            Self.tags(html).isSubset(of: [
                "!doctype", "html", "head", "meta", "title", "link", "script", "body", "a", "header", "h1",
                "nav", "main", "section", "div", "span", "button", "details", "summary", "form", "label",
                "input", "textarea", "select", "option", "small", "p", "table", "caption", "thead", "tr",
                "th", "tbody", "td", "time", "dialog", "h3", "noscript",
            ]))
    }

    @Test func servicePageEscapesFieldsLabelsAndHistory() throws {
        let record = Self.record(7, Self.hostile, healthy: false, description: "<b>bold</b>")
        let history = [HistoryEvent(at: Self.now, kind: .health, from: "healthy", to: "unhealthy", detail: "<i>why</i>")]
        let html = DashboardRenderer().servicePage(record, history: history, now: Self.now)
        #expect(html.contains("<title>&lt;img src=x onerror=alert(1)&gt; · Service registry</title>"))
        #expect(html.contains(#"<span class="label-value">a&quot;b&lt;c&gt;</span>"#))
        #expect(html.contains("&lt;i&gt;why&lt;/i&gt;"))
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt;"))
        #expect(html.contains(#"value="&lt;img src=x onerror=alert(1)&gt;""#))
        #expect(!html.contains("<img") && !html.contains("<b>") && !html.contains("<i>"))
    }

    @Test func nonHTTPURLIsTextNotLink() {
        // The API refuses such URLs; records written another way must still not become javascript: links.
        let record = Self.record(3, "odd", url: "javascript:alert(1)")
        let html = DashboardRenderer().servicePage(record, history: [], now: Self.now)
        #expect(!html.contains(#"href="javascript"#))
        #expect(html.contains(">javascript:alert(1)<"))
    }

    @Test func countsFiltersAndSortOnTheServer() throws {
        let (snapshot, directory) = try Self.snapshot([
            Self.record(1, "b-web", healthy: true), Self.record(2, "a-db", status: .failed, healthy: false),
            Self.record(3, "c-cache", status: .inactive), Self.record(4, "d-api", healthy: true, port: nil),
        ])
        _ = directory
        let renderer = DashboardRenderer()
        let all = renderer.indexPage(snapshot, now: Self.now)
        for (key, n) in [("total", 4), ("healthy", 2), ("unhealthy", 1), ("unknown", 1), ("active", 2), ("inactive", 1), ("failed", 1)] {
            #expect(all.contains(#"data-count="\#(key)">\#(n)</span>"#), "count \(key)")
        }
        func ids(_ html: String) -> [Int] {
            html.components(separatedBy: "<tr data-id=\"").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        }
        #expect(ids(all) == [2, 1, 3, 4])  // by name
        #expect(ids(renderer.indexPage(snapshot, query: DashboardQuery(parameters: [("status", "failed")]), now: Self.now)) == [2])
        #expect(ids(renderer.indexPage(snapshot, query: DashboardQuery(parameters: [("q", "WEB")]), now: Self.now)) == [1])
        #expect(ids(renderer.indexPage(snapshot, query: DashboardQuery(parameters: [("sort", "health")]), now: Self.now)) == [2, 3, 1, 4])
        // Missing ports last in both directions.
        #expect(ids(renderer.indexPage(snapshot, query: DashboardQuery(parameters: [("sort", "port"), ("dir", "desc")]), now: Self.now)).last == 4)
        #expect(
            ids(renderer.indexPage(snapshot, query: DashboardQuery(parameters: [("sort", "bogus"), ("status", "nope")]), now: Self.now)) == [
                2, 1, 3, 4,
            ])
    }

    /// The page window (one pass keeping the best candidates) gives exactly the pages of a full sort, for every sort
    /// column and direction, with duplicates, missing values and filters; a page past the last shows the last.
    @Test func pagesEqualAFullSortForEverySortKey() throws {
        var generator = SystemRandomNumberGenerator()
        var records: [ServiceRecord] = []
        for id in 1...530 {
            let healthy: Bool? = [true, false, nil].randomElement(using: &generator)!
            records.append(
                Self.record(
                    id, ["web", "Web", "db", "cache", "api", "Zed"].randomElement(using: &generator)! + "-\(id % 50)-\(id)",
                    status: ServiceStatus.allCases.randomElement(using: &generator)!, healthy: healthy,
                    description: Bool.random(using: &generator) ? nil : "d\(id % 5)",
                    port: Bool.random(using: &generator) ? nil : Int.random(in: 1...20, using: &generator)))
        }
        let (snapshot, directory) = try Self.snapshot(records)
        _ = directory
        for key in DashboardQuery.SortKey.allCases {
            for direction in ["asc", "desc"] {
                for filter in [[], [("q", "WEB")], [("status", "failed")]] as [[(String, String)]] {
                    let base = filter + [("sort", key.rawValue), ("dir", direction)]
                    var query = DashboardQuery(parameters: base)
                    query.page = 1_000_000
                    let full = Self.fullSort(snapshot.records.filter(query.matches), query)
                    var paged: [Int] = []
                    for page in 1...max(1, (full.count + 99) / 100) {
                        let window = DashboardQuery(parameters: base + [("page", String(page))]).window(snapshot)
                        #expect(window.matching == full.count)
                        paged += window.records.map(\.id)
                    }
                    #expect(paged == full.map(\.id), "\(base)")
                    // Past the last page: the last page.
                    #expect(
                        query.window(snapshot).records.map(\.id)
                            == Array(full.map(\.id).suffix(full.count % 100 == 0 ? min(100, full.count) : full.count % 100)))
                }
            }
        }
        // Bad page values are page 1.
        for bad in ["0", "-1", "x", "1e3", ""] { #expect(DashboardQuery(parameters: [("page", bad)]).page == 1) }
        // The page's pager links carry the view and the page; the summary says where we are.
        let html = DashboardRenderer().indexPage(snapshot, query: DashboardQuery(parameters: [("sort", "port"), ("page", "2")]), now: Self.now)
        #expect(html.contains(#"<a rel="prev" class="button" href="/?sort=port">"#))
        #expect(html.contains(#"<a rel="next" class="button" href="/?sort=port&amp;page=3">"#))
        #expect(html.contains("Showing 101–200 of 530 matching (530 in all)"))
        #expect(html.components(separatedBy: "<tr data-id=").count - 1 == 100)
    }

    /// The reference order: a full sort with the documented rules (missing last either way, then by id).
    static func fullSort(_ records: [ServiceRecord], _ query: DashboardQuery) -> [ServiceRecord] {
        func value(_ r: ServiceRecord) -> (text: String?, number: Double?) {
            switch query.sort {
            case .name: (r.name.lowercased(), nil)
            case .description: (r.description?.lowercased(), nil)
            case .status: (nil, Double(DashboardQuery.statusRank(r.status)))
            case .health: (nil, Double(DashboardQuery.healthRank(r.healthStatus)))
            case .response: (nil, r.lastResponseTimeMs)
            case .port: (nil, r.port.map(Double.init))
            case .checked: (nil, r.lastHealthCheck?.timeIntervalSince1970)
            }
        }
        return records.sorted { a, b in
            let (x, y) = (value(a), value(b))
            let xMissing = x.text == nil && x.number == nil
            let yMissing = y.text == nil && y.number == nil
            if xMissing != yMissing { return yMissing }
            if !xMissing {
                if let p = x.text, let q = y.text, p != q { return query.descending ? p > q : p < q }
                if let p = x.number, let q = y.number, p != q { return query.descending ? p > q : p < q }
            }
            return a.id < b.id
        }
    }

    @Test func formatsValues() {
        #expect(DashboardFormat.relative(nil, now: Self.now) == "never")
        #expect(DashboardFormat.relative(Self.now.addingTimeInterval(5), now: Self.now) == "just now")
        #expect(DashboardFormat.relative(Self.now.addingTimeInterval(-42), now: Self.now) == "42 s ago")
        #expect(DashboardFormat.relative(Self.now.addingTimeInterval(-600), now: Self.now) == "10 min ago")
        #expect(DashboardFormat.relative(Self.now.addingTimeInterval(-7300), now: Self.now) == "2 h ago")
        #expect(DashboardFormat.relative(Self.now.addingTimeInterval(-200_000), now: Self.now) == "2 d ago")
        #expect(DashboardFormat.milliseconds(nil) == "—")
        #expect(DashboardFormat.milliseconds(0.84) == "0.8 ms")
        #expect(DashboardFormat.milliseconds(12.5) == "13 ms")
    }
}
