import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryExposition
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryStore

/// promtool on a real scrape, on the alert rules, and on the dashboard; plus the check that the dashboard and
/// the rules use only metrics we export. promtool runs off the cooperative pool (`blocking`).
@Suite(.serialized) struct PromtoolTests {
    static let promtool = "/usr/bin/promtool"

    /// A live registry (real socket) holding services in every state, with a prober's and discovery's
    /// statistics present (test doubles), scraped with curl: the bytes Prometheus would get.
    static func liveScrape(accept: String? = nil, detail: MetricsDetail = .full) async throws -> String {
        let components: @Sendable (RegistryConfiguration) throws -> RegistryComponents = { configuration in
            var components = RegistryComponents(store: try ServiceStore(directory: configuration.dataDirectory))
            components.probeStatistics = FixedProbeStatistics(values: ExpositionSamples.counters, lag: 0.25)
            components.discoveryStatistics = FixedDiscoveryStatistics(statistics: ExpositionSamples.scan)
            try ExpositionSamples.populate(components.store)
            return components
        }
        return try await withLiveRegistry(configure: { $0.metricsDetail = detail }, components: components) { client, _ in
            var arguments = ["-sS", "--fail", "http://127.0.0.1:\(client.port!)/metrics"]
            if let accept { arguments += ["-H", "Accept: \(accept)"] }
            // Blocking: on a thread of its own, so the registry's handlers keep their threads.
            let reply = try await onThread { [arguments] in try ExpositionSamples.run("/usr/bin/curl", arguments) }
            #expect(reply.status == 0, "\(reply.stderr)")
            return reply.stdout
        }
    }

    @Test func promtoolCheckMetricsOnALiveScrapeIsClean() async throws {
        try ExpositionSamples.requireTool(Self.promtool)
        let scrape = try await Self.liveScrape()
        // Every state is really there (so the check covers it).
        for needle in [
            "service_registry_service_healthy{id=\"1\"", "service_registry_service_healthy{id=\"2\"",
            "service_registry_probe_http_status_code{id=\"4\",name=\"timeout\"} 0",
            "service_registry_probe_ssl_earliest_cert_expiry_seconds{id=\"3\"",
            "state=\"failed\"} 1", "state=\"activating\"} 1", "state=\"deactivating\"} 1", "service_registry_scan_errors_total 2",
            "service_registry_probe_queue_lag_seconds 0.25", #"name="api \"v2\" \\ back\nslash""#,
        ] {
            #expect(scrape.contains(needle), "missing \(needle)")
        }
        let result = try await blocking { try ExpositionSamples.run(Self.promtool, ["check", "metrics"], input: Data(scrape.utf8)) }
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "promtool said: \(result.stdout)\(result.stderr)")
    }

    /// Every metric of SPEC §5 is in a live scrape of a registry whose prober and discovery have run, and
    /// every family the collectors declare shows up.
    @Test func everySpecMetricIsExported() async throws {
        let exported = try await Self.liveScrape().sampleNames
        let spec = [
            "service_registry_service_info", "service_registry_service_up", "service_registry_service_healthy",
            "service_registry_probe_duration_seconds", "service_registry_probe_phase_duration_seconds",
            "service_registry_probe_http_status_code", "service_registry_probe_last_timestamp_seconds",
            "service_registry_probe_ssl_earliest_cert_expiry_seconds", "service_registry_probes_total",
            "service_registry_probe_failures_total", "service_registry_service_port", "service_registry_systemd_unit_state",
            "service_registry_build_info", "service_registry_services", "service_registry_scan_duration_seconds",
            "service_registry_last_scan_timestamp_seconds", "service_registry_scan_errors_total",
            "service_registry_probe_queue_lag_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
            "process_open_fds", "process_start_time_seconds",
        ]
        #expect(Set(spec).subtracting(exported).isEmpty, "missing: \(Set(spec).subtracting(exported).sorted())")
        let declared = Set(MetricsRenderer.families.map(\.name))
        #expect(declared.subtracting(exported).isEmpty, "declared but not exported: \(declared.subtracting(exported).sorted())")
        #expect(exported.subtracting(declared).isEmpty, "exported but not declared: \(exported.subtracting(declared).sorted())")
    }

    @Test func promtoolCheckAndTestRules() async throws {
        try ExpositionSamples.requireTool(Self.promtool)
        let rules = TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.rules.yml").path
        let tests = TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.tests.yml").path
        let check = try await blocking { try ExpositionSamples.run(Self.promtool, ["check", "rules", rules]) }
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // Every `- alert:` of the file is a rule promtool found (the count follows the file, not a number here).
        #expect(check.stdout.contains("SUCCESS: \(try AlertRules.load().count) rules found"), "\(check.stdout)")
        let test = try await blocking { try ExpositionSamples.run(Self.promtool, ["test", "rules", tests]) }
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"))
    }

    /// Each alert of the issue, CamelCase, with `for:`, a severity and templated summary and description,
    /// and a promtool case where it fires and one where it does not.
    @Test func everyAlertIsCompleteAndTested() throws {
        let rules = try AlertRules.load()
        let expected = [
            "ServiceUnhealthy", "ServiceFailed", "ServiceProbeStale", "ServiceSlowResponse", "ServiceFlapping",
            "ServiceCertificateExpiringSoon", "ServiceRegistryDown", "ServiceRegistryScanFailing", "ServiceRegistryScanStale",
            "ServiceHeartbeatMissing", "ServiceDeregistered", "ServiceRegistryStorageNearlyFull", "ServiceRegistryRollupsHeldBack",
        ]
        #expect(rules.map(\.name) == expected)
        for rule in rules {
            #expect(rule.name.first!.isUppercase && !rule.name.contains("_"))
            #expect(rule.field("for") != nil, "\(rule.name) has no for:")
            #expect(["critical", "warning"].contains(rule.field("severity") ?? ""), "\(rule.name) severity")
            #expect(rule.field("summary")?.contains("$labels.") == true, "\(rule.name) summary is not templated")
            #expect(rule.field("description")?.contains("$labels.") == true, "\(rule.name) description is not templated")
        }
        #expect(rules.first { $0.name == "ServiceUnhealthy" }?.field("for") == "2m")
        let tests = try String(
            contentsOfFile: TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.tests.yml").path, encoding: .utf8)
        for name in expected {
            let cases = tests.components(separatedBy: "alertname: \(name)\n").dropFirst()
            let firing = cases.filter { !$0.hasPrefix("        exp_alerts: []") }
            let quiet = cases.filter { $0.hasPrefix("        exp_alerts: []") }
            #expect(!firing.isEmpty && !quiet.isEmpty, "\(name) needs a firing and a not-firing case")
        }
    }

    /// In a fleet one Prometheus evaluates the rules over every registry: each alert must say which host
    /// (`instance`) it is about, in its description and its labels. The promtool cases check the labels:
    /// every expected firing alert has an `instance`, except ServiceRegistryDown with no target at all.
    @Test func everyAlertNamesItsInstance() throws {
        for rule in try AlertRules.load() {
            #expect(rule.field("description")?.contains("$labels.instance") == true, "\(rule.name) description lacks the instance")
            #expect(
                rule.field("expr").map { !$0.contains("sum(") && !$0.contains("sum by") && !$0.contains("without") } == true,
                "\(rule.name) aggregates: check that instance survives")
        }
        let tests = try String(
            contentsOfFile: TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.tests.yml").path, encoding: .utf8)
        let cases = tests.components(separatedBy: "\n  - name: ").dropFirst()
        var expected = 0
        for testCase in cases where !testCase.hasPrefix("ServiceRegistryDown fires when no registry target exists at all") {
            for line in testCase.split(separator: "\n") where line.contains("exp_labels:") {
                expected += 1
                #expect(line.contains("instance: "), "no instance in: \(line)")
            }
        }
        #expect(expected >= 10)
    }

    /// Every metric name in the dashboard's and the rules' expressions is one a live scrape exports
    /// (`up` is Prometheus's own series for a scrape target).
    @Test func dashboardAndRulesUseOnlyExportedMetrics() async throws {
        let exported = try await Self.liveScrape().sampleNames
        let expressions = try Dashboard.load().expressions + AlertRules.load().compactMap { $0.field("expr") }
        #expect(expressions.count > 25)
        var used = Set<String>()
        for expression in expressions { used.formUnion(PromQLNames.metricNames(in: expression)) }
        #expect(used.count > 15)
        let unknown = used.subtracting(exported).subtracting(["up"])
        #expect(unknown.isEmpty, "not exported: \(unknown.sorted())")
    }

    @Test func metricNameExtractionSeesThroughPromQL() {
        let names = PromQLNames.metricNames(
            in:
                #"sum by (name, state) (rate(foo_total{a="b{c}",job=~"x|y"}[5m])) / on(id) group_left(name) bar_seconds offset 5m > bool 3 * vector(0) or absent(up{job="z"})"#
        )
        #expect(names == ["foo_total", "bar_seconds", "up"])
    }

    /// Every dashboard expression parses: promtool checks them as recording rules, with Grafana's
    /// variables replaced by values.
    @Test func dashboardExpressionsParse() async throws {
        try ExpositionSamples.requireTool(Self.promtool)
        let dashboard = try Dashboard.load()
        let directory = TemporaryDirectory()
        var yaml = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in dashboard.expressions.enumerated() {
            let concrete = Dashboard.substituteVariables(expression)
            let quoted = "'" + concrete.replacingOccurrences(of: "'", with: "''") + "'"
            yaml += "      - record: dashboard_expression_\(index)\n        expr: \(quoted)\n"
        }
        let path = directory.file("dashboard.rules.yml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try await blocking { try ExpositionSamples.run(Self.promtool, ["check", "rules", path]) }
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: \(dashboard.expressions.count) rules found"))
    }

    @Test func dashboardStructure() throws {
        let dashboard = try Dashboard.load()
        let json = dashboard.json
        #expect((json["schemaVersion"]?.int ?? 0) >= 36)
        let variables = try #require(json["templating"]?["list"]?.array)
        let byName = Dictionary(uniqueKeysWithValues: variables.compactMap { v in v["name"]?.string.map { ($0, v) } })
        #expect(byName["datasource"]?["type"]?.string == "datasource")
        #expect(byName["datasource"]?["query"]?.string == "prometheus")
        #expect(byName["instance"]?["type"]?.string == "query")
        #expect(byName["name"]?["type"]?.string == "query")
        let panels = try #require(json["panels"]?.array)
        let titles = panels.compactMap { $0["title"]?.string }
        for title in [
            "Services up", "Services down", "Services unhealthy", "Services", "Response time", "Probe failure rate",
            "Certificate expiry", "systemd unit states", "Scan duration", "Probe lag", "Memory and CPU",
            "Checks by kind and status", "Critical checks",
        ] {
            #expect(titles.contains(title), "missing panel \(title)")
        }
        #expect(panels.filter { $0["type"]?.string == "stat" }.count >= 3)
        for panel in panels where panel["type"]?.string != "row" {
            #expect(panel["datasource"]?["uid"]?.string == "${datasource}", "\(panel["title"]?.string ?? "?") does not use $datasource")
            #expect(panel["gridPos"]?["w"]?.int != nil)
        }
        let ids = panels.compactMap { $0["id"]?.int }
        #expect(ids.count == Set(ids).count)
        // The services table: health, response time, port and age of the last probe.
        let table = try #require(panels.first { $0["title"]?.string == "Services" })
        let tableExpressions = table["targets"]?.array?.compactMap { $0["expr"]?.string } ?? []
        for metric in [
            "service_registry_service_healthy", "service_registry_probe_duration_seconds", "service_registry_service_port",
            "service_registry_probe_last_timestamp_seconds",
        ] {
            #expect(tableExpressions.contains { $0.contains(metric) }, "table lacks \(metric)")
        }
    }
}

/// The Grafana dashboard file.
struct Dashboard {
    let json: JSONValue

    static func load() throws -> Dashboard {
        let path = TestPaths.packageRoot.appendingPathComponent("dashboards/service-registry.json").path
        return Dashboard(json: try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
    }

    /// Every PromQL expression: panel targets (rows included) and query variables.
    var expressions: [String] {
        var result: [String] = []
        func visit(_ panels: [JSONValue]) {
            for panel in panels {
                result += panel["targets"]?.array?.compactMap { $0["expr"]?.string } ?? []
                visit(panel["panels"]?.array ?? [])
            }
        }
        visit(json["panels"]?.array ?? [])
        for variable in json["templating"]?["list"]?.array ?? [] where variable["type"]?.string == "query" {
            if let query = variable["query"]?["query"]?.string ?? variable["query"]?.string {
                result.append(Dashboard.variableQueryExpression(query))
            }
        }
        return result
    }

    /// `label_values(expr, label)` is Grafana's, not PromQL: its selector is the PromQL part.
    static func variableQueryExpression(_ query: String) -> String {
        guard query.hasPrefix("label_values("), let comma = query.lastIndex(of: ",") else { return query }
        return String(query[query.index(query.startIndex, offsetBy: "label_values(".count)..<comma])
    }

    static func substituteVariables(_ expression: String) -> String {
        expression.replacingOccurrences(of: "$__rate_interval", with: "5m")
            .replacingOccurrences(of: "$__interval", with: "1m")
            .replacingOccurrences(of: "$instance", with: ".*")
            .replacingOccurrences(of: "$name", with: ".*")
    }
}

/// The alert rules file, read block by block (each rule starts at `- alert:`; every value is on one line).
struct AlertRules {
    struct Rule {
        let name: String
        let lines: [String]
        func field(_ key: String) -> String? {
            for line in lines {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix(key + ":") else { continue }
                var value = trimmed.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value
            }
            return nil
        }
    }

    static func load() throws -> [Rule] {
        let path = TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.rules.yml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.components(separatedBy: "- alert: ").dropFirst().map { block in
            let lines = block.components(separatedBy: "\n")
            return Rule(name: lines[0].trimmingCharacters(in: .whitespaces), lines: Array(lines.dropFirst()))
        }
    }
}

/// Metric names in a PromQL expression: identifiers that are not inside strings or label matchers, not
/// function calls, not keywords or grouping labels, not durations or numbers.
enum PromQLNames {
    static let keywords: Set<String> = [
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
        "bool", "offset", "inf", "nan", "atan2",
        // Aggregation operators may be followed by `by (...)` before their parenthesis.
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    ]

    static func metricNames(in expression: String) -> Set<String> {
        let chars = Array(expression)
        var names = Set<String>()
        var i = 0
        var braceDepth = 0
        var bracketDepth = 0
        var lastWord = ""
        while i < chars.count {
            let c = chars[i]
            if c == "\"" || c == "'" || c == "`" {
                // Skip a string literal (with backslash escapes).
                i += 1
                while i < chars.count && chars[i] != c { i += chars[i] == "\\" ? 2 : 1 }
                i += 1
                continue
            }
            if c == "{" { braceDepth += 1 } else if c == "}" { braceDepth -= 1 }
            if c == "[" { bracketDepth += 1 } else if c == "]" { bracketDepth -= 1 }
            if c == "(" && ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(lastWord) {
                // A label list: skip to the closing parenthesis.
                while i < chars.count && chars[i] != ")" { i += 1 }
                i += 1
                lastWord = ""
                continue
            }
            if c.isLetter || c == "_" || c == ":" {
                var j = i
                while j < chars.count && (chars[j].isLetter || chars[j].isNumber || chars[j] == "_" || chars[j] == ":") { j += 1 }
                let word = String(chars[i..<j])
                var k = j
                while k < chars.count && chars[k] == " " { k += 1 }
                let isCall = k < chars.count && chars[k] == "("
                let precededByDigit = i > 0 && chars[i - 1].isNumber
                if braceDepth == 0 && bracketDepth == 0 && !isCall && !precededByDigit && !keywords.contains(word.lowercased()) {
                    names.insert(word)
                }
                lastWord = word.lowercased()
                i = j
                continue
            }
            if !c.isWhitespace { lastWord = "" }
            i += 1
        }
        return names
    }
}
