import Foundation
import Logging
import Testing

@testable import RegistryDiscovery
@testable import RegistryModel
@testable import RegistryStore

/// Unit files for the integration tests. Programs run from /usr/bin: the manager's PATH has no pyenv shims.
/// `Nice=15`: their start-up must not starve timing-sensitive tests running in parallel.
enum TestUnits {
    static func httpServer(port: Int, description: String, extra: String = "") -> String {
        """
        [Unit]
        Description=\(description)
        \(extra)
        [Service]
        Nice=15
        ExecStart=/usr/bin/python3 -m http.server \(port) --bind 127.0.0.1
        """
    }

    /// The main process is a shell; the listener is its child (the trailing command keeps sh from exec'ing).
    static func childListener(port: Int) -> String {
        """
        [Unit]
        Description=Shell parent with a listening child
        [Service]
        Nice=15
        ExecStart=/bin/sh -c '/usr/bin/python3 -m http.server \(port) --bind 127.0.0.1; exit 0'
        """
    }

    static func twoPorts(_ a: Int, _ b: Int, script: String) -> String {
        """
        [Unit]
        Description=Listens on two ports
        [Service]
        Nice=15
        ExecStart=/usr/bin/python3 \(script) \(a) \(b)
        """
    }

    static let twoPortsScript = """
        import socket, sys, time
        sockets = []
        for port in sys.argv[1:]:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(port)))
            s.listen()
            sockets.append(s)
        time.sleep(100000)
        """

    static let failing = "[Unit]\nDescription=Exits with status 3\n[Service]\nNice=15\nExecStart=/bin/sh -c 'exit 3'\n"
    static let sleeper = "[Unit]\nDescription=Sleeps\n[Service]\nNice=15\nExecStart=/bin/sleep 100000\n"
}

/// A registry daemon (the real executable) discovering from the suite's user manager.
private func daemon(_ manager: SystemdUserManager, include: String, extra: [String] = [], directory: TemporaryDirectory) async throws -> DaemonProcess
{
    let arguments = ["--data-dir", directory.path, "--systemd-scope", "user", "--scan-interval", "0", "--include-unit", include] + extra
    let environment = manager.environment
    return try await blocking { try DaemonProcess(arguments: arguments, environment: environment) }
}

private func scan(_ daemon: DaemonProcess) async throws -> (discovered: Int?, updated: Int?, services: [String: JSONValue]) {
    let reply = try await request("POST", "\(daemon.baseURL)/api/scan")
    guard reply.status == 200, let json = reply.json else { throw DaemonError("scan answered \(reply.status): \(reply.body)") }
    var services: [String: JSONValue] = [:]
    for record in json["services"]?.array ?? [] { if let name = record["name"]?.string { services[name] = record } }
    return (json["discovered"]?.int, json["updated"]?.int, services)
}

private func ints(_ value: JSONValue?) -> [Int] { value?.array?.compactMap(\.int) ?? [] }

@Suite(
    .serialized, .enabled(if: SystemdUserManager.isAvailable, Comment(rawValue: SystemdUserManager.unavailableReason ?? "")),
    .systemdUserManager)
struct SystemdDiscoveryIntegrationTests {
    var manager: SystemdUserManager { SystemdUserManager.current! }

    @Test func scanFindsPortsAndStatesAndCountsChanges() async throws {
        let m = manager
        let (webPort, childPort, portA) = (freeWebPort(), freeWebPort(), freeWebPort())
        let portB = DaemonProcess.freePort()  // outside the web range: listed in ports, never the port
        try await blocking {
            let script = m.base + "/two_ports.py"
            try TestUnits.twoPortsScript.write(toFile: script, atomically: true, encoding: .utf8)
            try m.install(
                "srt-a-web.service", TestUnits.httpServer(port: webPort, description: "Main process listens", extra: "After=srt-a-idle.service"))
            try m.install("srt-a-child.service", TestUnits.childListener(port: childPort))
            try m.install("srt-a-two.service", TestUnits.twoPorts(portA, portB, script: script))
            try m.install("srt-a-broken.service", TestUnits.failing)
            try m.install("srt-a-idle.service", TestUnits.sleeper)  // loaded (web references it) but never started
            try m.systemctl("start", "srt-a-web.service", "srt-a-child.service", "srt-a-two.service", "srt-a-broken.service")
            try m.waitFor("srt-a-broken.service", activeState: "failed")
            for port in [webPort, childPort, portA, portB] { try waitUntilListening(port) }
        }

        let directory = TemporaryDirectory()
        let d = try await daemon(m, include: "srt-a-*", directory: directory)
        let first = try await scan(d)
        #expect(first.discovered == 5 && first.updated == 0)
        #expect(
            Set(first.services.keys) == [
                "srt-a-web.service", "srt-a-child.service", "srt-a-two.service", "srt-a-broken.service", "srt-a-idle.service",
            ])

        let web = try #require(first.services["srt-a-web.service"])
        #expect(ints(web["ports"]) == [webPort] && web["port"]?.int == webPort)
        #expect(web["url"]?.string == "http://127.0.0.1:\(webPort)")
        #expect(web["status"]?.string == "active" && web["active_state"]?.string == "active" && web["sub_state"]?.string == "running")
        #expect(web["source"]?.string == "systemd" && web["unit"]?.string == "srt-a-web.service")
        #expect(web["description"]?.string == "Main process listens")

        let child = try #require(first.services["srt-a-child.service"])
        #expect(ints(child["ports"]) == [childPort] && child["port"]?.int == childPort)
        #expect(try await blocking { try m.property("srt-a-child.service", "MainPID") } != "0")

        let two = try #require(first.services["srt-a-two.service"])
        #expect(ints(two["ports"]) == [portA, portB] && two["port"]?.int == portA)

        let broken = try #require(first.services["srt-a-broken.service"])
        #expect(broken["status"]?.string == "failed" && broken["active_state"]?.string == "failed" && broken["url"] == .null)

        let idle = try #require(first.services["srt-a-idle.service"])
        #expect(idle["status"]?.string == "inactive" && idle["active_state"]?.string == "inactive" && ints(idle["ports"]) == [])

        let second = try await scan(d)
        #expect(second.discovered == 0 && second.updated == 0 && second.services.count == 5)

        // Stopped between scans: nothing references it any more, so systemd may unload it; still inactive, not gone.
        try await blocking { try m.systemctl("stop", "srt-a-web.service") }
        let third = try await scan(d)
        #expect(third.discovered == 0 && third.updated == 1)
        let stopped = try #require(third.services["srt-a-web.service"])
        #expect(stopped["status"]?.string == "inactive" && stopped["active_state"]?.string == "inactive" && ints(stopped["ports"]) == [])
        #expect(stopped["url"]?.string == "http://127.0.0.1:\(webPort)")  // still probed, so it shows as down

        let health = try await request("GET", "\(d.baseURL)/health")
        #expect(health.status == 200)
        try await blocking { try m.systemctl("stop", "srt-a-child.service", "srt-a-two.service") }
    }

    @Test func manualOverrideKeptAndDeletedUnitIgnored() async throws {
        let m = manager
        let port = freeWebPort()
        try await blocking {
            try m.install("srt-b-web.service", TestUnits.httpServer(port: port, description: "Override me"))
            try m.systemctl("start", "srt-b-web.service")
            try waitUntilListening(port)
        }
        let directory = TemporaryDirectory()
        let d = try await daemon(m, include: "srt-b-*", directory: directory)
        let first = try await scan(d)
        let id = try #require(first.services["srt-b-web.service"]?["id"]?.int)

        let put = try await request("PUT", "\(d.baseURL)/api/services/\(id)", body: #"{"port": 9999, "description": "set by hand"}"#)
        #expect(put.status == 200)
        let second = try await scan(d)
        let web = try #require(second.services["srt-b-web.service"])
        #expect(web["port"]?.int == 9999 && web["description"]?.string == "set by hand")
        #expect(web["url"]?.string == "http://127.0.0.1:9999")
        #expect(ints(web["ports"]) == [port])
        #expect(second.updated == 1)  // the url followed the user's port
        let third = try await scan(d)
        #expect(third.updated == 0 && third.services["srt-b-web.service"]?["port"]?.int == 9999)

        #expect(try await request("DELETE", "\(d.baseURL)/api/services/\(id)").status == 204)
        let ignored = try await request("GET", "\(d.baseURL)/api/ignored")
        #expect(ignored.status == 200 && ignored.json?[0]?["unit"]?.string == "srt-b-web.service")
        let afterDelete = try await scan(d)
        #expect(afterDelete.discovered == 0 && afterDelete.services.isEmpty)
        #expect(try await request("GET", "\(d.baseURL)/api/services/\(id)").status == 404)
        #expect(try await listNames(d).isEmpty)

        #expect(try await request("DELETE", "\(d.baseURL)/api/ignored/srt-b-web.service").status == 204)
        let missing = try await request("DELETE", "\(d.baseURL)/api/ignored/srt-b-web.service")
        #expect(missing.status == 404 && missing.json?["detail"]?.string?.contains("not ignored") == true)
        let fourth = try await scan(d)
        #expect(fourth.discovered == 1)
        #expect(fourth.services["srt-b-web.service"]?["id"]?.int != id)  // a new record: ids are never reused
        try await blocking { try m.systemctl("stop", "srt-b-web.service") }
    }

    @Test func vanishedUnitIsKeptAsNotFound() async throws {
        let m = manager
        let port = DaemonProcess.freePort()
        // A transient unit disappears from systemd entirely once stopped.
        let run = try await blocking {
            try SystemdUserManager.run(
                "/usr/bin/systemd-run",
                [
                    "--user", "--unit=srt-c-transient", "--description=Transient web", "--property=Nice=15",
                    "/usr/bin/python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1",
                ],
                environment: m.environment)
        }
        #expect(run.status == 0, "\(run.output)")
        try await blocking { try waitUntilListening(port) }
        let directory = TemporaryDirectory()
        let d = try await daemon(m, include: "srt-c-*", directory: directory)
        let first = try await scan(d)
        #expect(first.discovered == 1 && ints(first.services["srt-c-transient.service"]?["ports"]) == [port])

        try await blocking { try m.systemctl("stop", "srt-c-transient.service") }
        let second = try await scan(d)
        #expect(second.discovered == 0 && second.updated == 1 && second.services.isEmpty)
        let list = try #require(try await request("GET", "\(d.baseURL)/api/services").json?.array)
        #expect(list.count == 1)
        #expect(list.first?["status"]?.string == "inactive" && list.first?["active_state"]?.string == "not-found")
        #expect(ints(list.first?["ports"]) == [])
    }

    @Test func startupScanAndEscapedScanPage() async throws {
        let m = manager
        let directory = TemporaryDirectory()
        let d = try await blocking {
            try m.install(
                "srt-d-xss.service", "[Unit]\nDescription=<script>alert('x')</script> & \"more\"\n[Service]\nNice=15\nExecStart=/bin/sleep 100000\n")
            try m.systemctl("start", "srt-d-xss.service")
            return try DaemonProcess(
                arguments: [
                    "--data-dir", directory.path, "--systemd-scope", "user", "--scan-interval", "3600",
                    "--include-unit", "srt-d-*",
                ], environment: m.environment)
        }
        // The start-up scan finds the unit without anyone asking.
        let deadline = Date().addingTimeInterval(10)
        while try await listNames(d).isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await listNames(d) == ["srt-d-xss.service"])

        let page = try await request("GET", "\(d.baseURL)/scan")
        #expect(page.status == 200)
        #expect(page.body.contains("<td>srt-d-xss.service</td>"))
        #expect(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"))
        #expect(!page.body.contains("<script>"))
        #expect(page.body.contains("<strong id=\"discovered\">0</strong>"))
        try await blocking { try m.systemctl("stop", "srt-d-xss.service") }
    }

    /// Scans started while one runs get its result: all see the one creation.
    @Test func concurrentTriggersShareTheRunningScan() async throws {
        let m = manager
        try await blocking {
            try m.install("srt-e-one.service", TestUnits.sleeper)
            try m.systemctl("start", "srt-e-one.service")
        }
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        var options = DiscoveryOptions(scope: .user, includeUnits: ["srt-e-*"])
        options.environment = m.environment
        let service = DiscoveryService(store: store, options: options, interval: 0, logger: testLogger)
        let reports = try await withThrowingTaskGroup(of: ScanReport.self) { group in
            for _ in 0..<8 { group.addTask { try await service.scanNow() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.count == 8)
        #expect(reports.allSatisfy { $0.discovered == 1 && $0.services.map(\.name) == ["srt-e-one.service"] })
        #expect(store.snapshot().count == 1)
        let statistics = service.scanStatistics()
        #expect(statistics.lastScanAt != nil && statistics.errorsTotal == 0 && (statistics.lastDurationSeconds ?? -1) >= 0)
        // A later trigger runs a new scan.
        #expect(try await service.scanNow().discovered == 0)
        try await blocking { try m.systemctl("stop", "srt-e-one.service") }
    }

    @Test func discoverCommandPrintsWhatAScanWouldFind() async throws {
        let m = manager
        let port = freeWebPort()
        let (json, table) = try await blocking {
            try m.install("srt-f-web.service", TestUnits.httpServer(port: port, description: "Café ☕ web"))
            try m.systemctl("start", "srt-f-web.service")
            try waitUntilListening(port)
            let json = try SystemdUserManager.run(
                TestPaths.executable, ["discover", "--systemd-scope", "user", "--include-unit", "srt-f-*", "--json"],
                environment: m.environment)
            let table = try SystemdUserManager.run(
                TestPaths.executable, ["discover", "--systemd-scope", "user", "--include-unit", "srt-f-*"],
                environment: m.environment)
            try m.systemctl("stop", "srt-f-web.service")
            return (json, table)
        }
        #expect(json.status == 0, "\(json.output)")
        let units = try #require(try JSONValue.parse(Array(json.output.utf8)).array)
        #expect(units.count == 1)
        #expect(units.first?["unit"]?.string == "srt-f-web.service" && units.first?["port"]?.int == port)
        #expect(units.first?["url"]?.string == "http://127.0.0.1:\(port)" && units.first?["description"]?.string == "Café ☕ web")
        #expect(units.first?["status"]?.string == "active")

        #expect(table.status == 0)
        #expect(table.output.contains("srt-f-web.service") && table.output.contains("\(port)") && table.output.contains("Café ☕ web"))
    }
}

/// Names of the daemon's records.
private func listNames(_ daemon: DaemonProcess) async throws -> [String] {
    (try await request("GET", "\(daemon.baseURL)/api/services").json?.array ?? []).compactMap { $0["name"]?.string }
}
