import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryModel

/// A real Prometheus server (Debian `prometheus`) on 127.0.0.1 with temporary storage; killed on release,
/// whatever happened in the test.
final class PrometheusServer: @unchecked Sendable {
    static let binary = "/usr/bin/prometheus"
    let process = Process()
    let port = DaemonProcess.freePort()
    let log: String
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(configFile: String, directory: TemporaryDirectory) throws {
        try ExpositionSamples.requireTool(Self.binary)
        log = directory.file("prometheus.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--config.file=\(configFile)", "--storage.tsdb.path=\(directory.file("tsdb"))",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// GET on the Prometheus API, parsed; nil while it is not answering yet.
    func api(_ path: String) -> JSONValue? {
        guard let reply = try? HTTP.request("GET", baseURL + path, timeout: 5), reply.status == 200 else { return nil }
        return reply.json?["data"]
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

@Suite(.serialized) struct PrometheusEndToEndTests {
    /// The shipped rules with every `for:` shortened to 1s, so alerts fire within the test's time.
    static func shortRules() throws -> String {
        let path = TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.rules.yml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.replacingOccurrences(of: #"for: \d+[smh]"#, with: "for: 1s", options: .regularExpression)
    }

    @Test func prometheusScrapesDiscoversAndAlerts() async throws {
        try ExpositionSamples.requireTool(PrometheusServer.binary)
        // The real prober, probing every service each second.
        try await withLiveRegistry(components: { try RegistryComponents.withProber($0, interval: 1) }) { client, components in
            let registry = "127.0.0.1:\(client.port!)"
            let closedPort = DaemonProcess.freePort()
            // A healthy target (the registry's own /health) and a failing one (nothing listens on the port).
            let healthy = try await client.send(
                .post, "/api/services", #"{"name":"healthy-svc","url":"http://\#(registry)/health","labels":{"team":"core"}}"#)
            let failing = try await client.send(.post, "/api/services", #"{"name":"failing-svc","url":"http://127.0.0.1:\#(closedPort)/"}"#)
            // Hostile name and label value: Prometheus's own parser (it scrapes OpenMetrics) must read them back intact.
            let hostileName = #"hostile "q" \ }{ ☃ 🚀"#
            let hostileLabel = "line1\nline2 \"quoted\" \\ }"
            let hostile = try await client.send(
                .post, "/api/services",
                #"{"name":"hostile \"q\" \\ }{ ☃ 🚀","url":"http://\#(registry)/health","labels":{"note":"line1\nline2 \"quoted\" \\ }"}}"#)
            #expect(hostile.status == 200, "\(hostile.text)")
            let healthyID = try #require(healthy.json?["id"]?.int)
            let failingID = try #require(failing.json?["id"]?.int)

            // The prober probes both for real: /health answers 200, the closed port refuses.
            let probed = Date().addingTimeInterval(15)
            while Date() < probed,
                components.store.snapshot().record(id: healthyID)?.healthStatus != .healthy
                    || components.store.snapshot().record(id: failingID)?.healthStatus != .unhealthy
            {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(components.store.snapshot().record(id: healthyID)?.healthStatus == .healthy)
            #expect(components.store.snapshot().record(id: failingID)?.lastError?.contains("refused") == true)

            let directory = TemporaryDirectory("prometheus-e2e")
            let rulesFile = directory.file("rules.yml")
            try Self.shortRules().write(toFile: rulesFile, atomically: true, encoding: .utf8)
            let config = """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files:
                  - \(rulesFile)
                scrape_configs:
                  - job_name: service-registry
                    static_configs:
                      - targets: ['\(registry)']
                  - job_name: registered-services
                    http_sd_configs:
                      - url: http://\(registry)/api/sd
                        refresh_interval: 1s
                    relabel_configs:
                      - source_labels: [__meta_service_registry_name]
                        target_label: service
                """
            let configFile = directory.file("prometheus.yml")
            try config.write(toFile: configFile, atomically: true, encoding: .utf8)
            let prometheus = try PrometheusServer(configFile: configFile, directory: directory)
            defer { prometheus.stop() }

            // Prometheus needs ~5-10 s for its first scrapes and rule evaluations; poll with a bounded deadline.
            let deadline = Date().addingTimeInterval(60)
            var firing: [JSONValue] = []
            var targets: [JSONValue] = []
            var registryUp = false
            while Date() < deadline {
                #expect(prometheus.process.isRunning, "prometheus exited: \(prometheus.logText)")
                if !prometheus.process.isRunning { return }
                // curl blocks: on a thread of its own, so the registry keeps answering Prometheus meanwhile.
                let (targetsData, alertsData) = try await onThread { (prometheus.api("/api/v1/targets"), prometheus.api("/api/v1/alerts")) }
                targets = targetsData?["activeTargets"]?.array ?? []
                registryUp = targets.contains { $0["labels"]?["job"]?.string == "service-registry" && $0["health"]?.string == "up" }
                let alerts = alertsData?["alerts"]?.array ?? []
                // Only the registry's own job: the SD job also scrapes healthy-svc, which is the registry itself.
                firing = alerts.filter {
                    $0["labels"]?["alertname"]?.string == "ServiceUnhealthy" && $0["state"]?.string == "firing"
                        && $0["labels"]?["job"]?.string == "service-registry"
                }
                let discovered = targets.filter { $0["labels"]?["job"]?.string == "registered-services" }.count
                if registryUp && !firing.isEmpty && discovered == 3 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(registryUp, "the registry's /metrics was not scraped: \(targets)")

            // Discovery through /api/sd: both services are targets, with our labels.
            let discovered = targets.filter { $0["labels"]?["job"]?.string == "registered-services" }
            let byName = Dictionary(discovered.compactMap { t in t["discoveredLabels"]?["__meta_service_registry_name"]?.string.map { ($0, t) } }) {
                a, _ in a
            }
            #expect(Set(byName.keys) == ["healthy-svc", "failing-svc", hostileName], "targets: \(targets)")
            #expect(byName["healthy-svc"]?["discoveredLabels"]?["__address__"]?.string == registry)
            #expect(byName["healthy-svc"]?["discoveredLabels"]?["__meta_service_registry_label_team"]?.string == "core")
            #expect(byName["failing-svc"]?["discoveredLabels"]?["__address__"]?.string == "127.0.0.1:\(closedPort)")
            #expect(byName["healthy-svc"]?["labels"]?["service"]?.string == "healthy-svc")

            // ServiceUnhealthy fires for the failing service and not for the healthy one.
            let names = firing.compactMap { $0["labels"]?["name"]?.string }
            #expect(names == ["failing-svc"], "firing: \(firing)")
            #expect(firing.first?["labels"]?["severity"]?.string == "critical")
            #expect(firing.first?["annotations"]?["summary"]?.string == "Service failing-svc is unhealthy")

            // The hostile values went through the exposition and Prometheus's parser unchanged.
            let info = try await onThread { prometheus.api("/api/v1/query?query=service_registry_service_info%7Bjob%3D%22service-registry%22%7D") }
            let series = info?["result"]?.array?.compactMap { $0["metric"] } ?? []
            let stored = series.first { $0["name"]?.string == hostileName }
            #expect(stored != nil, "\(series)")
            #expect(stored?["label_note"]?.string == hostileLabel)

            // The server loaded every rule of the file.
            let groups = try await onThread { prometheus.api("/api/v1/rules") }?["groups"]?.array ?? []
            #expect(groups.flatMap { $0["rules"]?.array ?? [] }.count == (try AlertRules.load()).count)
        }
    }
}
