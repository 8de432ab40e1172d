import Foundation
import Testing

@testable import RegistryExposition
@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryTLS

/// `--metrics-detail full|basic`: the number of series per service in each mode (docs/fleet.md and
/// docs/metrics.md quote these figures), and the flag and its environment variable on a real daemon.
@Suite struct MetricsDetailTests {
    /// The four kinds of probed service a fleet has: plain HTTP or HTTPS, registered through the API or
    /// discovered from a systemd unit.
    static let records: [ServiceRecord] = {
        let epoch = ExpositionSamples.epoch
        func record(_ id: Int, https: Bool, unit: Bool) -> ServiceRecord {
            ServiceRecord(
                id: id, name: "svc-\(id)", url: "\(https ? "https" : "http")://127.0.0.1:\(8000 + id)/", status: .active,
                port: 8000 + id, source: unit ? .systemd : .api, unit: unit ? "svc-\(id).service" : nil,
                activeState: unit ? "active" : nil, subState: unit ? "running" : nil, labels: ["team": "core"],
                lastProbe: ExpositionSamples.probe(
                    healthy: true, status: 200, seconds: 0.01,
                    expiry: https ? epoch.addingTimeInterval(86_400 * 30) : nil),
                createdAt: epoch, updatedAt: epoch)
        }
        return [
            record(1, https: false, unit: false), record(2, https: true, unit: false),
            record(3, https: false, unit: true), record(4, https: true, unit: true),
        ]
    }()

    /// Series per service id in a rendered exposition.
    static func seriesPerService(_ detail: MetricsDetail) -> (counts: [Int: Int], text: String) {
        let counters = ProbeCounterTable(uniqueKeysWithValues: records.map { ($0.id, ProbeCounters(probes: 5, failures: 0)) })
        let scrape = Scrape(records: records, probeCounters: counters, probeQueueLagSeconds: 0, detail: detail)
        let text = String(decoding: MetricsRenderer.render(scrape, format: .text), as: UTF8.self)
        var counts: [Int: Int] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            for record in records where line.contains("{id=\"\(record.id)\",") { counts[record.id, default: 0] += 1 }
        }
        return (counts, text)
    }

    @Test func seriesPerServiceInEachMode() {
        let full = Self.seriesPerService(.full)
        // info, up, healthy, port; duration, 5 phases, status code, last timestamp; probes, failures; interval, timeout
        // (16), + 4 check_status (one-hot over passing/warning/critical/unknown) per check: the http check, and the
        // systemd check of a unit; + certificate expiry for HTTPS, + 5 unit states for a systemd unit.
        #expect(full.counts == [1: 20, 2: 21, 3: 29, 4: 30])
        let basic = Self.seriesPerService(.basic)
        // The same without the 5 phase series and the 5 unit-state series.
        #expect(basic.counts == [1: 15, 2: 16, 3: 19, 4: 20])
        #expect(!basic.text.contains("service_registry_probe_phase_duration_seconds"))
        #expect(!basic.text.contains("service_registry_systemd_unit_state"))
        // Everything else basic exports is exactly what full exports (process_* values change between renders).
        func lines(_ text: String) -> Set<Substring> { Set(text.split(separator: "\n").filter { !$0.hasPrefix("process_") }) }
        #expect(lines(basic.text) == lines(full.text).filter { !$0.contains("phase_duration") && !$0.contains("unit_state") })
    }

    @Test func promtoolCheckMetricsIsCleanInBasicMode() throws {
        try ExpositionSamples.requireTool(PromtoolTests.promtool)
        let text = Self.seriesPerService(.basic).text
        let result = try ExpositionSamples.run(PromtoolTests.promtool, ["check", "metrics"], input: Data(text.utf8))
        #expect(result.status == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "\(result.stdout)\(result.stderr)")
    }

    /// The daemon reads `--metrics-detail` and `SERVICE_REGISTRY_METRICS_DETAIL` (the flag wins), and rejects
    /// anything else with exit 2.
    @Test func flagAndEnvironmentOnARealDaemon() throws {
        func phaseSeries(_ arguments: [String], environment: [String: String] = [:]) throws -> Bool {
            let data = TemporaryDirectory()
            let daemon = try DaemonProcess(
                arguments: ["--data-dir", data.path, "--probe-interval", "1", "--scan-interval", "0"] + arguments,
                environment: environment)
            let registered = try HTTP.request("POST", "\(daemon.baseURL)/api/services", body: #"{"name":"self","url":"\#(daemon.baseURL)/health"}"#)
            #expect(registered.status == 200, "\(registered.body)")
            // Wait for the first probe (its duration series), then look for phase series.
            let deadline = Date().addingTimeInterval(20)
            var metrics = ""
            while Date() < deadline {
                metrics = (try? HTTP.request("GET", "\(daemon.baseURL)/metrics"))?.body ?? ""
                if metrics.contains("service_registry_probe_duration_seconds{") { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(metrics.contains("service_registry_probe_duration_seconds{"), "never probed: \(daemon.readOutput())")
            return metrics.contains("service_registry_probe_phase_duration_seconds{")
        }
        #expect(try phaseSeries([]))
        #expect(try !phaseSeries(["--metrics-detail", "basic"]))
        #expect(try !phaseSeries([], environment: ["SERVICE_REGISTRY_METRICS_DETAIL": "basic"]))
        #expect(try phaseSeries(["--metrics-detail", "full"], environment: ["SERVICE_REGISTRY_METRICS_DETAIL": "basic"]))

        let data = TemporaryDirectory()
        let bad = try DaemonProcess(arguments: ["--data-dir", data.path, "--metrics-detail", "verbose"], waitReady: false)
        #expect(bad.waitForExit() == 2)
        #expect(bad.readOutput().contains("--metrics-detail verbose: must be full or basic"), "\(bad.readOutput())")
    }
}

/// The dashboard and the rules with registries in either mode, and the fleet view.
@Suite(.serialized) struct FleetDashboardTests {
    /// In basic mode every panel shows data except those whose description says they need full, and every
    /// rule's metrics are exported, except ServiceFailed's unit-state branch (its info-series branch is
    /// tested by promtool in `alerts/service-registry.tests.yml`).
    @Test func dashboardAndRulesWorkInBasicMode() async throws {
        let basic = try await PromtoolTests.liveScrape(detail: .basic).sampleNames
        let full = try await PromtoolTests.liveScrape(detail: .full).sampleNames
        #expect(full.subtracting(basic) == ["service_registry_probe_phase_duration_seconds", "service_registry_systemd_unit_state"])
        var needFull: [String] = []
        func visit(_ panels: [JSONValue]) {
            for panel in panels {
                let expressions = panel["targets"]?.array?.compactMap { $0["expr"]?.string } ?? []
                let used = expressions.reduce(into: Set<String>()) { $0.formUnion(PromQLNames.metricNames(in: $1)) }
                if !used.subtracting(basic).subtracting(["up"]).isEmpty {
                    let title = panel["title"]?.string ?? "?"
                    needFull.append(title)
                    #expect(panel["description"]?.string?.contains("--metrics-detail full") == true, "\(title) needs full but does not say so")
                }
                visit(panel["panels"]?.array ?? [])
            }
        }
        visit(try Dashboard.load().json["panels"]?.array ?? [])
        #expect(needFull.sorted() == ["systemd unit states", "systemd units by state"])
        for rule in try AlertRules.load() {
            var expression = rule.field("expr") ?? ""
            if rule.name == "ServiceFailed" {
                // The basic branch: what is left after the `or`.
                let parts = expression.components(separatedBy: " or ")
                #expect(parts.count == 2)
                expression = parts.last!.components(separatedBy: " unless ").first!
            }
            let unknown = PromQLNames.metricNames(in: expression).subtracting(basic).subtracting(["up"])
            #expect(unknown.isEmpty, "\(rule.name) uses \(unknown) which basic does not export")
        }
    }

    /// The fleet view: registries up/down, services and unhealthy services per instance, worst hosts first.
    @Test func fleetView() throws {
        let panels = try #require(try Dashboard.load().json["panels"]?.array)
        let byTitle = Dictionary(panels.compactMap { p in p["title"]?.string.map { ($0, p) } }) { a, _ in a }
        let fleetRow = try #require(byTitle["Fleet: all registries"])
        #expect(fleetRow["gridPos"]?["y"]?.int == 0, "the fleet view comes first")
        let table = try #require(byTitle["Hosts, worst first"])
        let expressions = table["targets"]?.array?.compactMap { $0["expr"]?.string } ?? []
        #expect(expressions.allSatisfy { $0.contains("by (instance)") }, "\(expressions)")
        #expect(expressions.contains { $0.contains("service_registry_service_info") }, "services per instance")
        #expect(expressions.contains { $0.contains("1 - service_registry_service_healthy") }, "unhealthy per instance")
        #expect(table["options"]?["sortBy"]?[0]?["displayName"]?.string == "Unhealthy")
        #expect(table["options"]?["sortBy"]?[0]?["desc"] == .bool(true))
        let renamed = table["transformations"]?.array?.compactMap { $0["options"]?["renameByName"] }.first
        #expect(renamed?["Value #B"]?.string == "Unhealthy")
        let bars = try #require(byTitle["Unhealthy services per instance"])
        #expect(bars["targets"]?[0]?["expr"]?.string?.hasPrefix("sort_desc(") == true)
        for title in ["Registries up", "Registries down", "Services in the fleet", "Unhealthy services in the fleet"] {
            #expect(byTitle[title] != nil, "missing \(title)")
        }
        // Both views side by side: the per-service panels follow under their own row.
        #expect(byTitle["Services"] != nil && byTitle["Response time"] != nil)
    }
}
