import Foundation
import Hummingbird
import Testing

@testable import RegistryApp
@testable import RegistryDiscovery
@testable import RegistryHTTP
@testable import RegistryStore

/// Writes an executable shell script standing in for systemctl.
private func fakeSystemctl(_ directory: TemporaryDirectory, _ body: String) throws -> String {
    let path = directory.file("systemctl")
    try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}

/// systemd missing, unreachable, hanging or old: the daemon answers 503 with the reason and keeps running.
@Suite(.serialized) struct DiscoveryFailureTests {
    @Test func missingSystemctlAnswers503AndDaemonStaysHealthy() async throws {
        let directory = TemporaryDirectory()
        let d = try await blocking {
            try DaemonProcess(arguments: ["--data-dir", directory.path, "--systemctl", "/nonexistent/bin/systemctl", "--scan-interval", "1"])
        }
        let reply = try await request("POST", "\(d.baseURL)/api/scan")
        #expect(reply.status == 503)
        #expect(
            reply.json?["detail"]?.string == "systemctl not found: /nonexistent/bin/systemctl does not exist or is not executable (set --systemctl)")
        let page = try await request("GET", "\(d.baseURL)/scan")
        #expect(page.status == 503 && page.body.contains("systemctl not found: /nonexistent/bin/systemctl"))
        try await Task.sleep(for: .milliseconds(1200))  // the loop has failed and retried meanwhile
        #expect(d.process.isRunning)
        #expect(try await request("GET", "\(d.baseURL)/health").status == 200)
        #expect(try await request("POST", "\(d.baseURL)/api/scan").status == 503)
    }

    /// systemctl runs but cannot reach a manager: its own message is the detail.
    @Test func unreachableManagerAnswers503WithSystemctlsMessage() async throws {
        let directory = TemporaryDirectory()
        let emptyRuntime = TemporaryDirectory("no-manager")
        let d = try await blocking {
            try DaemonProcess(
                arguments: ["--data-dir", directory.path, "--systemd-scope", "user", "--scan-interval", "0"],
                environment: ["XDG_RUNTIME_DIR": emptyRuntime.path, "DBUS_SESSION_BUS_ADDRESS": ""])
        }
        let reply = try await request("POST", "\(d.baseURL)/api/scan")
        #expect(reply.status == 503)
        let detail = reply.json?["detail"]?.string ?? ""
        #expect(detail.hasPrefix("systemctl list-units failed (exit status 1): "), "\(detail)")
        #expect(detail.contains("Failed to connect to bus"), "\(detail)")
        #expect(try await request("GET", "\(d.baseURL)/health").status == 200)
    }

    @Test func discoverCommandFailsClearly() async throws {
        let executable = TestPaths.executable
        let (missing, badScope, badRange) = try await blocking {
            (
                try SystemdUserManager.run(executable, ["discover", "--systemctl", "/nonexistent/bin/systemctl"], environment: [:]),
                try SystemdUserManager.run(executable, ["discover", "--systemd-scope", "session"], environment: [:]),
                try SystemdUserManager.run(executable, ["discover", "--port-range", "80-"], environment: [:])
            )
        }
        #expect(missing.status == 1)
        #expect(
            missing.output
                == "service-registry: systemctl not found: /nonexistent/bin/systemctl does not exist or is not executable (set --systemctl)\n")
        #expect(badScope.status == 2 && badScope.output.contains("--systemd-scope session: must be system or user"))
        #expect(badRange.status == 2 && badRange.output.contains("--port-range 80-"))
    }

    @Test func hangingSystemctlTimesOut() async throws {
        let directory = TemporaryDirectory()
        var options = DiscoveryOptions(systemctlPath: try fakeSystemctl(directory, "exec sleep 30"))
        options.commandTimeout = 0.5
        let store = try ServiceStore(directory: directory.file("data"))
        let service = DiscoveryService(store: store, options: options, interval: 0, logger: testLogger)
        let started = Date()
        await #expect(throws: DiscoveryUnavailable.self) { try await service.scanNow() }
        do { _ = try await service.scanNow() } catch let error as DiscoveryUnavailable {
            #expect(error.reason == "systemctl list-units timed out after 0.5 s")
        }
        // The fake systemctl sleeps 30 s: two scans finishing well under that prove both were killed at their
        // deadline (the reason above says so too). Not tighter: starting and reaping processes while the whole
        // suite loads both cores took 5.1–6.0 s in fresh-clone CI runs.
        #expect(Date().timeIntervalSince(started) < 15)
        let statistics = service.scanStatistics()
        #expect(statistics.errorsTotal == 2 && statistics.lastScanAt == nil)
        #expect(statistics.lastError == "systemctl list-units timed out after 0.5 s")
    }

    /// SPEC §5: with systemd unreachable, /metrics still has the duration of the failed attempts and a
    /// last-successful-scan timestamp of 0 (so "last scan too old" alerts fire), beside the error count.
    @Test func failedScansStillExportDurationAndATimestampOfZero() async throws {
        let directory = TemporaryDirectory()
        let script = try fakeSystemctl(directory, "echo 'Failed to connect to bus: No such file or directory' >&2; exit 1")
        let components: @Sendable (RegistryConfiguration) throws -> RegistryComponents = { configuration in
            let store = try ServiceStore(directory: configuration.dataDirectory)
            let discovery = DiscoveryService(store: store, options: DiscoveryOptions(systemctlPath: script), interval: 0, logger: testLogger)
            var components = RegistryComponents(store: store, scanner: discovery)
            components.discoveryStatistics = discovery
            return components
        }
        try await withLiveRegistry(components: components) { client, _ in
            // Nothing scanned yet: the timestamp is already there (0), the duration not (no attempt yet).
            let before = try await client.send(.get, "/metrics").text
            #expect(before.contains("\nservice_registry_last_scan_timestamp_seconds 0\n"), "\(before)")
            #expect(!before.contains("\nservice_registry_scan_duration_seconds "))
            #expect(before.contains("\nservice_registry_scan_interval_seconds 0\n"))
            #expect(try await client.send(.post, "/api/scan").status == 503)
            #expect(try await client.send(.post, "/api/scan").status == 503)
            let after = try await client.send(.get, "/metrics").text
            #expect(after.contains("\nservice_registry_scan_errors_total 2\n"), "\(after)")
            #expect(after.contains("\nservice_registry_last_scan_timestamp_seconds 0\n"), "\(after)")
            let duration = after.split(separator: "\n").first { $0.hasPrefix("service_registry_scan_duration_seconds ") }
            #expect(duration.flatMap { Double($0.split(separator: " ")[1]) }.map { $0 > 0 } == true, "\(after)")
        }
    }

    /// An older systemd without `--output=json`: the plain output is used instead (and JSON is not asked again).
    /// `show` is asked only about units that are new or changed state since the previous scan.
    @Test func plainFallbackAndShowOnlyForChangedUnits() async throws {
        let directory = TemporaryDirectory()
        let log = directory.file("calls")
        let listing = directory.file("list-units.txt")
        try FileManager.default.copyItem(atPath: TestPaths.fixture("discovery/list-units-legacy.txt"), toPath: listing)
        let script = try fakeSystemctl(
            directory,
            """
            echo "$*" >> '\(log)'
            case "$*" in
              *--output=json*) echo "Unknown output 'json'." >&2; exit 1 ;;
              *list-units*) cat '\(listing)' ;;
              show*)
                shift 4
                for unit in "$@"; do
                  printf 'Id=%s\nLoadState=loaded\nActiveState=x\nSubState=x\nMainPID=0\nControlGroup=\nNRestarts=2\n\n' "$unit"
                done ;;
            esac
            """)
        let discoverer = SystemdDiscoverer(options: DiscoveryOptions(systemctlPath: script, excludeUnits: ["cron-*"]))
        let first = try await discoverer.scan()
        #expect(first.goneUnits == ["ghost.service"])  // listed as not-found: gone without asking show
        #expect(
            first.units.map(\.name) == ["api@blue.service", "broken.service", "cron.service", "crashed.service", "nodesc.service", "ssh.service"])
        // States and descriptions come from the listing, the rest from show.
        #expect(first.units[1].properties.activeState == "failed" && first.units[1].properties.restarts == 2)
        #expect(first.units[0].properties.description == "API   (blue   instance)")

        let second = try await discoverer.scan()
        #expect(second == first)
        var text = try String(contentsOfFile: listing, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "  cron.service                           loaded    active   running",
            with: "  cron.service                           loaded    failed   failed ")
        try text.write(toFile: listing, atomically: true, encoding: .utf8)
        let third = try await discoverer.scan(knownUnits: ["old.service"])
        #expect(third.units.first { $0.name == "cron.service" }?.status == .failed)
        #expect(third.units.map(\.name).last == "old.service")

        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.filter { $0.contains("--output=json") }.count == 1)
        #expect(calls.filter { $0.contains("--plain") }.count == 3)
        let shows = calls.filter { $0.hasPrefix("show") }
        #expect(shows.count == 2)
        #expect(shows.first?.hasSuffix("-- api@blue.service broken.service cron.service crashed.service nodesc.service ssh.service") == true)
        #expect(shows.last?.hasSuffix("-- cron.service old.service") == true)
    }

    @Test func ignoredRoutesNeedTheTokenToForget() async throws {
        try await withRegistry(configure: { $0.apiToken = "secret" }) { client, components in
            try await components.store.transaction { txn in try txn.ignore(unit: "nginx.service") }
            let list = try await client.send(.get, "/api/ignored")
            #expect(list.status == 200 && list.json?[0]?["unit"]?.string == "nginx.service" && list.json?[0]?["ignored_at"]?.string != nil)
            #expect(try await client.send(.delete, "/api/ignored/nginx.service").status == 401)
            #expect(try await client.send(.delete, "/api/ignored/nginx.service", token: "secret").status == 204)
            #expect(try await client.send(.delete, "/api/ignored/nginx.service", token: "secret").status == 404)
            #expect(try await client.send(.get, "/api/ignored").text == "[]")
            // No scanner wired in: 503, not a crash.
            #expect(try await client.send(.post, "/api/scan", token: "secret").status == 503)
        }
    }

    /// `@` and escaped characters in unit names survive the path parameter.
    @Test func ignoredUnitWithSpecialCharacters() async throws {
        try await withRegistry { client, components in
            try await components.store.transaction { txn in try txn.ignore(unit: "api@blue\\x2d1.service") }
            #expect(try await client.send(.delete, "/api/ignored/api@blue%5Cx2d1.service").status == 204)
            #expect(try components.store.ignoredUnits().isEmpty)
        }
    }
}

@Suite struct DiscoveryRoutesTests {
    /// Every discovery route the router serves is described in the OpenAPI document.
    @Test func discoveryRoutesAreInTheOpenAPIDocument() throws {
        let directory = TemporaryDirectory()
        let components = RegistryComponents(store: try ServiceStore(directory: directory.path))
        let served = Set(
            buildEndpoints(RegistryConfiguration(), components, context: BasicRequestContext.self)
                .map { "\($0.method.rawValue) \($0.openAPIPath)" })
        let ours: Set<String> = ["POST /api/scan", "GET /scan", "GET /api/ignored", "DELETE /api/ignored/{unit}"]
        #expect(ours.isSubset(of: served))
        #expect(ours.isSubset(of: Set(OpenAPIDocument.operations.keys)))
    }
}
