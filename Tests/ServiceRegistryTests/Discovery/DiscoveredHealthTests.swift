import Foundation
import Testing

@testable import RegistryModel

/// SPEC §9 "discovered services are never falsely unhealthy", with the real daemon and real units in the
/// suite's private systemd user manager.
@Suite(
    .serialized, .enabled(if: SystemdUserManager.isAvailable, Comment(rawValue: SystemdUserManager.unavailableReason ?? "")),
    .systemdUserManager)
struct DiscoveredHealthTests {
    var manager: SystemdUserManager { SystemdUserManager.current! }

    static func daemon(_ manager: SystemdUserManager, directory: TemporaryDirectory) async throws -> DaemonProcess {
        // Probes only on `check` (a day's interval), scans only on demand: the test drives both.
        let arguments = [
            "--data-dir", directory.path, "--systemd-scope", "user", "--scan-interval", "0",
            "--include-unit", "srt-h-*", "--probe-interval", "86400",
        ]
        let environment = manager.environment
        return try await blocking { try DaemonProcess(arguments: arguments, environment: environment) }
    }

    static func scan(_ daemon: DaemonProcess) async throws -> [String: JSONValue] {
        let reply = try await request("POST", "\(daemon.baseURL)/api/scan")
        guard reply.status == 200, let json = reply.json else { throw DaemonError("scan answered \(reply.status): \(reply.body)") }
        var services: [String: JSONValue] = [:]
        for record in json["services"]?.array ?? [] { if let name = record["name"]?.string { services[name] = record } }
        return services
    }

    static func kinds(_ record: JSONValue?) -> [String] { record?["checks"]?.array?.compactMap { $0["kind"]?.string } ?? [] }

    @Test func aNonHTTPServerEndsUpHealthyWithATCPCheckAndFailedOrPortlessUnitsFollowSystemd() async throws {
        let m = manager
        let port = freeWebPort()
        try await blocking {
            try m.install(
                "srt-h-db.service",
                """
                [Unit]
                Description=Speaks TCP, not HTTP
                [Service]
                Nice=15
                ExecStart=/usr/bin/python3 \(TestPaths.fixture("probe/tcp_server.py")) \(port)
                """)
            try m.install("srt-h-broken.service", TestUnits.failing)
            try m.install("srt-h-sleep.service", TestUnits.sleeper)
            try m.systemctl("start", "srt-h-db.service", "srt-h-broken.service", "srt-h-sleep.service")
            try m.waitFor("srt-h-broken.service", activeState: "failed")
            try m.waitFor("srt-h-sleep.service", activeState: "active")
            try waitUntilListening(port)
        }
        let directory = TemporaryDirectory()
        var d = try await Self.daemon(m, directory: directory)
        let services = try await Self.scan(d)

        // The database: found on a port in the web range, so probed over HTTP first.
        let db = try #require(services["srt-h-db.service"])
        #expect(db["url"]?.string == "http://127.0.0.1:\(port)")
        #expect(Self.kinds(db) == ["http", "systemd"])
        let id = try #require(db["id"]?.int)
        // The HTTP probe gets a protocol error; the record switches to TCP and the answer already has its result.
        let checked = try await request("POST", "\(d.baseURL)/api/services/\(id)/check")
        #expect(checked.status == 200, "\(checked.body)")
        let record = try #require(checked.json)
        #expect(record["health_status"]?.string == "healthy", "\(record)")
        #expect(Self.kinds(record) == ["tcp", "systemd"])
        #expect(record.check("tcp")?["target"]?.string == "tcp://127.0.0.1:\(port)")
        #expect(record.check("tcp")?["status"]?.string == "passing")
        #expect(record["last_status_code"]?.isNull == true && record["last_error"]?.isNull == true)
        #expect(record["url"]?.string == "http://127.0.0.1:\(port)", "the url is left as discovery set it")
        // No false failure reached the history.
        let history = try await request("GET", "\(d.baseURL)/api/services/\(id)/history")
        #expect(history.json?.array?.contains { $0["to"]?.string == "unhealthy" } == false, "\(history.body)")

        // The failed unit is unhealthy through its systemd check; the portless sleeper healthy through its own.
        let broken = try #require(services["srt-h-broken.service"])
        #expect(broken["health_status"]?.string == "unhealthy")
        #expect(Self.kinds(broken) == ["systemd"] && broken.check("systemd")?["status"]?.string == "critical")
        let sleeper = try #require(services["srt-h-sleep.service"])
        #expect(sleeper["port"]?.isNull == true && sleeper["url"]?.isNull == true)
        #expect(sleeper["health_status"]?.string == "healthy")
        #expect(Self.kinds(sleeper) == ["systemd"] && sleeper.check("systemd")?["status"]?.string == "passing")

        // The switch is stored: after a restart and another scan the record still checks TCP.
        d.signal(SIGTERM)
        await #expect(d.waitForExit() == 0)
        d = try await Self.daemon(m, directory: directory)
        let again = try await Self.scan(d)
        #expect(Self.kinds(again["srt-h-db.service"]) == ["tcp", "systemd"])
        #expect(again["srt-h-db.service"]?["health_status"]?.string == "healthy")

        // Stopping the database: its unit is inactive (no systemd result), its TCP check fails → unhealthy.
        try await blocking {
            try m.systemctl("stop", "srt-h-db.service")
            try m.waitFor("srt-h-db.service", activeState: "inactive")
        }
        _ = try await Self.scan(d)
        let stopped = try await request("POST", "\(d.baseURL)/api/services/\(id)/check")
        #expect(stopped.json?["health_status"]?.string == "unhealthy", "\(stopped.body)")
        #expect(stopped.json?["last_error"]?.string == "connection refused")
        d.signal(SIGTERM)
        _ = await d.waitForExit()
    }
}
