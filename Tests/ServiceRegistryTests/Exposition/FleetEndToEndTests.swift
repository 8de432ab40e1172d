import Foundation
import Testing

@testable import RegistryModel

/// A helper process a test starts (Alertmanager, a Python HTTP server): output to a file, stopped by PID
/// (SIGTERM, then SIGKILL) when asked or when released, whatever happened in the test.
final class TestProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    init(_ executable: String, _ arguments: [String], log: String) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// The configuration blocks of docs/fleet.md marked `<!-- checked: FILE -->`, by file name.
enum FleetDocument {
    static let path = TestPaths.packageRoot.appendingPathComponent("docs/fleet.md").path

    static func blocks() throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var result: [String: String] = [:]
        for part in text.components(separatedBy: "<!-- checked: ").dropFirst() {
            let name = String(part.prefix { $0 != " " })
            guard let start = part.range(of: "```yaml\n"), let end = part.range(of: "```", range: start.upperBound..<part.endIndex) else { continue }
            result[name] = String(part[start.upperBound..<end.lowerBound])
        }
        return result
    }

    /// Writes the blocks (and the shipped rules where prometheus.yml expects them) into `directory`.
    static func write(_ blocks: [String: String], rules: String, into directory: TemporaryDirectory) throws {
        for (name, text) in blocks {
            let file = directory.file(name)
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: directory.file("rules"), withIntermediateDirectories: true)
        try rules.write(toFile: directory.file("rules/service-registry.rules.yml"), atomically: true, encoding: .utf8)
    }

    /// Replaces every `key: value` of the given keys (YAML, one per line) with `key: replacement`.
    static func setting(_ keys: [String], to replacement: String, in text: String) -> String {
        keys.reduce(text) { text, key in
            text.replacingOccurrences(of: #"(?m)^(\s*)\#(key): \S+$"#, with: "$1\(key): \(replacement)", options: .regularExpression)
        }
    }
}

/// A small HTTP server in Python: GET /metrics answers a one-line exposition, any other GET 200 `ok`; POST
/// bodies are appended, one per line, to the file given (the Alertmanager webhook receiver).
enum PythonHTTPServer {
    static let script = """
        import http.server, sys
        port, posts = int(sys.argv[1]), sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"demo_up 1\\n" if self.path == "/metrics" else b"ok\\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with open(posts, "ab") as f:
                    f.write(body.replace(b"\\n", b" ") + b"\\n")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            request_queue_size = 128
        Server(("127.0.0.1", port), Handler).serve_forever()
        """

    static func start(port: Int, posts: String, directory: TemporaryDirectory, name: String) throws -> TestProcess {
        guard let python = executableOnPath("python3") else { throw DaemonError("python3 is missing") }
        let file = directory.file("server.py")
        if !FileManager.default.fileExists(atPath: file) { try script.write(toFile: file, atomically: true, encoding: .utf8) }
        let server = try TestProcess(python, [file, "\(port)", posts], log: directory.file("\(name).log"))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? HTTP.request("GET", "http://127.0.0.1:\(port)/", timeout: 2))?.status == 200 { return server }
            if !server.process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw DaemonError("python server \(name) did not start: \(server.logText)")
    }
}

/// Issue 16: three registries on loopback, one real Prometheus configured as docs/fleet.md says (the shipped
/// rules with `for:` shortened mechanically), one real Alertmanager with the route of docs/fleet.md (its waits
/// shortened mechanically), and a webhook receiver. A target behind registry B goes down: a ServiceUnhealthy
/// notification naming B's instance and the service arrives; it comes back: a resolved notification;
/// registry C stops: ServiceRegistryDown for C. B runs with `--metrics-detail basic`, A and C with full.
@Suite(.serialized) struct FleetEndToEndTests {
    static let alertmanager = "/usr/bin/prometheus-alertmanager"
    static let amtool = "/usr/bin/amtool"

    /// Every configuration block of docs/fleet.md, as written there, passes promtool / amtool.
    @Test func documentedConfigurationsAreValid() throws {
        try ExpositionSamples.requireTool(PromtoolTests.promtool)
        let blocks = try FleetDocument.blocks()
        #expect(
            Set(blocks.keys) == [
                "prometheus.yml", "registries/fleet.yml", "prometheus-dns-sd.yml", "alertmanager.yml",
                "prometheus-federation.yml", "prometheus-remote-write.yml",
            ])
        let directory = TemporaryDirectory("fleet-doc")
        let rules = try String(
            contentsOfFile: TestPaths.packageRoot.appendingPathComponent("alerts/service-registry.rules.yml").path, encoding: .utf8)
        try FleetDocument.write(blocks, rules: rules, into: directory)
        for name in blocks.keys where name.hasPrefix("prometheus") {
            let check = try ExpositionSamples.run(PromtoolTests.promtool, ["check", "config", directory.file(name)])
            #expect(check.status == 0, "\(name): \(check.stdout)\(check.stderr)")
        }
        let main = try ExpositionSamples.run(PromtoolTests.promtool, ["check", "config", directory.file("prometheus.yml")])
        #expect(main.stdout.contains("SUCCESS: \(try AlertRules.load().count) rules found"), "\(main.stdout)")
        try ExpositionSamples.requireTool(Self.amtool)
        let am = try ExpositionSamples.run(Self.amtool, ["check-config", directory.file("alertmanager.yml")])
        #expect(am.status == 0 && am.stdout.contains("SUCCESS"), "\(am.stdout)\(am.stderr)")
    }

    @Test func threeRegistriesOnePrometheusOneAlertmanager() async throws {
        for tool in [PrometheusServer.binary, Self.alertmanager] { try ExpositionSamples.requireTool(tool) }
        let started = Date()
        let directory = TemporaryDirectory("fleet-e2e")
        let posts = directory.file("webhook.jsonl")
        _ = FileManager.default.createFile(atPath: posts, contents: nil)

        // The services' endpoints: one that stays up (behind A and C), one that goes down (behind B).
        let stablePort = DaemonProcess.freePort()
        let flakyPort = DaemonProcess.freePort()
        let hookPort = DaemonProcess.freePort()
        let stable = try PythonHTTPServer.start(port: stablePort, posts: directory.file("unused"), directory: directory, name: "stable")
        var flaky: TestProcess? = try PythonHTTPServer.start(port: flakyPort, posts: directory.file("unused"), directory: directory, name: "flaky")
        let hook = try PythonHTTPServer.start(port: hookPort, posts: posts, directory: directory, name: "webhook")
        defer {
            stable.stop()
            flaky?.stop()
            hook.stop()
        }

        // Three registries, real processes, probing every second; B in basic mode.
        let dataA = TemporaryDirectory("fleet-a")
        let dataB = TemporaryDirectory("fleet-b")
        let dataC = TemporaryDirectory("fleet-c")
        func registry(_ data: TemporaryDirectory, _ extra: [String] = []) throws -> DaemonProcess {
            try DaemonProcess(arguments: ["--data-dir", data.path, "--probe-interval", "1", "--probe-timeout", "1", "--scan-interval", "0"] + extra)
        }
        let a = try registry(dataA)
        let b = try registry(dataB, ["--metrics-detail", "basic"])
        let c = try registry(dataC)
        defer {
            for daemon in [a, b, c] where daemon.process.isRunning {
                daemon.signal(SIGKILL)
                _ = daemon.waitForExit()
            }
        }
        let addressA = "127.0.0.1:\(a.port)"
        let addressB = "127.0.0.1:\(b.port)"
        let addressC = "127.0.0.1:\(c.port)"
        for (daemon, name, port) in [(a, "a-web", stablePort), (b, "b-api", flakyPort), (c, "c-web", stablePort)] {
            let reply = try await HTTP.request(
                "POST", "\(daemon.baseURL)/api/services", body: #"{"name":"\#(name)","url":"http://127.0.0.1:\#(port)/health"}"#)
            #expect(reply.status == 200, "\(reply.body)")
        }

        // Prometheus and Alertmanager configured from docs/fleet.md, changed only mechanically: the example host
        // names become the loopback addresses, every interval and wait 1s, every rule's `for:` 1s.
        let blocks = try FleetDocument.blocks()
        var prometheusConfig = try #require(blocks["prometheus.yml"])
        var fileSD = try #require(blocks["registries/fleet.yml"])
        var alertmanagerConfig = try #require(blocks["alertmanager.yml"])
        let amPort = DaemonProcess.freePort()
        for (example, address) in [
            ("host-1.example.net:8000", addressA), ("host-2.example.net:8000", addressB), ("host-3.example.net:8000", addressC),
            ("alertmanager.example.net:9093", "127.0.0.1:\(amPort)"), ("alert-hook.example.net:5001", "127.0.0.1:\(hookPort)"),
        ] {
            prometheusConfig = prometheusConfig.replacingOccurrences(of: example, with: address)
            fileSD = fileSD.replacingOccurrences(of: example, with: address)
            alertmanagerConfig = alertmanagerConfig.replacingOccurrences(of: example, with: address)
        }
        #expect(!(prometheusConfig + fileSD + alertmanagerConfig).contains("example.net"), "an example host was not replaced")
        prometheusConfig = FleetDocument.setting(["scrape_interval", "evaluation_interval", "refresh_interval"], to: "1s", in: prometheusConfig)
        alertmanagerConfig = FleetDocument.setting(["group_wait", "group_interval"], to: "1s", in: alertmanagerConfig)
        try FleetDocument.write(
            ["prometheus.yml": prometheusConfig, "registries/fleet.yml": fileSD, "alertmanager.yml": alertmanagerConfig],
            rules: try PrometheusEndToEndTests.shortRules(), into: directory)

        let alertmanager = try TestProcess(
            Self.alertmanager,
            [
                "--config.file=\(directory.file("alertmanager.yml"))", "--storage.path=\(directory.file("am-data"))",
                "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=", "--log.level=warn",
            ], log: directory.file("alertmanager.log"))
        defer { alertmanager.stop() }
        let prometheus = try PrometheusServer(configFile: directory.file("prometheus.yml"), directory: directory)
        defer { prometheus.stop() }

        /// Notifications received so far: (status of the alert, its labels), one entry per alert per notification.
        @Sendable func notifications() -> [(status: String, labels: [String: String], groupInstance: String?)] {
            let text = (try? String(contentsOfFile: posts, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").flatMap { line -> [(status: String, labels: [String: String], groupInstance: String?)] in
                guard let json = try? JSONValue.parse(Array(line.utf8)) else { return [] }
                let group = json["groupLabels"]?["instance"]?.string
                return (json["alerts"]?.array ?? []).map { alert in
                    var labels: [String: String] = [:]
                    if case .object(let object)? = alert["labels"] { for (k, v) in object { labels[k] = v.string } }
                    return (alert["status"]?.string ?? "", labels, group)
                }
            }
        }
        func waitFor(_ what: String, seconds: Double, _ condition: @escaping @Sendable () -> Bool) async throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try await onThread(condition) { return true }
                if !prometheus.process.isRunning || !alertmanager.process.isRunning { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            Issue.record(
                """
                timed out waiting for \(what) after \(Int(Date().timeIntervalSince(started)))s
                notifications: \(notifications().map { "\($0.status) \($0.labels)" })
                prometheus: \(prometheus.logText.suffix(2000))
                alertmanager: \(alertmanager.logText.suffix(2000))
                """)
            return false
        }
        @Sendable func isAlert(
            _ n: (status: String, labels: [String: String], groupInstance: String?), _ name: String, _ instance: String, _ status: String
        ) -> Bool {
            n.status == status && n.labels["alertname"] == name && n.labels["instance"] == instance && n.groupInstance == instance
        }

        // 1. Prometheus scrapes the three registries (file_sd) and the three services (http_sd on each registry).
        let scraping = try await waitFor("all targets up", seconds: 60) {
            let targets = prometheus.api("/api/v1/targets")?["activeTargets"]?.array ?? []
            let up = targets.filter { $0["health"]?.string == "up" }
            return up.filter { $0["labels"]?["job"]?.string == "service-registry" }.count == 3
                && up.filter { $0["labels"]?["job"]?.string == "registered-services" }.count == 3
        }
        guard scraping else { return }
        let targets = try await onThread { prometheus.api("/api/v1/targets")?["activeTargets"]?.array ?? [] }
        let bAPI = targets.first { $0["labels"]?["service"]?.string == "b-api" }
        #expect(bAPI?["labels"]?["registry"]?.string == addressB, "b-api was announced by B's /api/sd: \(String(describing: bAPI))")
        // B exports no phase series (basic), A and C do.
        let phases = try await onThread {
            prometheus.api("/api/v1/query?query=count%20by%20(instance)%20(service_registry_probe_phase_duration_seconds)")
        }
        let phaseInstances = Set(phases?["result"]?.array?.compactMap { $0["metric"]?["instance"]?.string } ?? [])
        #expect(phaseInstances == [addressA, addressC], "\(phaseInstances)")

        // 2. The target behind B goes down: one ServiceUnhealthy notification for B's instance and b-api.
        flaky?.stop()
        flaky = nil
        let fired = try await waitFor("ServiceUnhealthy for B", seconds: 60) {
            notifications().contains { isAlert($0, "ServiceUnhealthy", addressB, "firing") && $0.labels["name"] == "b-api" }
        }
        guard fired else { return }

        // 3. It comes back: the resolved notification.
        flaky = try PythonHTTPServer.start(port: flakyPort, posts: directory.file("unused"), directory: directory, name: "flaky-again")
        let resolved = try await waitFor("ServiceUnhealthy resolved for B", seconds: 60) {
            notifications().contains { isAlert($0, "ServiceUnhealthy", addressB, "resolved") && $0.labels["name"] == "b-api" }
        }
        guard resolved else { return }

        // 4. Registry C stops: ServiceRegistryDown for C.
        c.signal(SIGTERM)
        await #expect(c.waitForExit() == 0)
        let down = try await waitFor("ServiceRegistryDown for C", seconds: 60) {
            notifications().contains { isAlert($0, "ServiceRegistryDown", addressC, "firing") }
        }
        guard down else { return }

        // Nothing about the healthy services behind A and C, and no registry-down alert for A or B.
        let all = notifications()
        #expect(!all.contains { $0.labels["alertname"] == "ServiceUnhealthy" && $0.labels["instance"] != addressB }, "\(all)")
        // (The "no registry target at all" case may fire before the first scrape; it has no instance.)
        #expect(!all.contains { $0.labels["alertname"] == "ServiceRegistryDown" && $0.labels["instance"].map { $0 != addressC } == true }, "\(all)")
        let unhealthy = all.first { isAlert($0, "ServiceUnhealthy", addressB, "firing") }
        #expect(unhealthy?.labels["severity"] == "critical")
        #expect(unhealthy?.labels["id"] == "1")
        #expect(Date().timeIntervalSince(started) < 180)
    }
}
