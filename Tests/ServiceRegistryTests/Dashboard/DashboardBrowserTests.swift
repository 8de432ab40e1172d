import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryModel
@testable import RegistryStore
@testable import RegistrySupport

/// The dashboard in a real headless Chromium, driven through the DevTools protocol by
/// `scripts/dashboard/browser_checks.py` (one browser for the whole run, killed at the end even on failure).
/// Two registries run in-process on live ports: an open one with the real prober, and one with an API token.
/// Screenshots (1280×800, 390×844, light and dark) go to `artifacts/dashboard/` (gitignored).
@Suite(.serialized) struct DashboardBrowserTests {
    static let python = "/usr/bin/python3"  // Debian's, which has python3-websocket
    static let driver = TestPaths.packageRoot.appendingPathComponent("scripts/dashboard/browser_checks.py").path
    static let hostileName = "<img src=x onerror=alert(1)>"
    static let hostileDescription = #"<script>alert(2)</script>" onmouseover="alert(3)"#

    /// Every check the driver must report, so a check that silently disappears fails the test.
    static let expectedChecks = [
        "server_render_escapes", "page_loads_with_services_and_counts", "hostile_name_renders_as_text",
        "console_clean_after_load", "filters_narrow_the_table", "search_narrows_the_table", "sorting_by_column",
        "filters_sort_scroll_focus_survive_live_update", "created_changed_deleted_live_without_list_requests",
        "service_turning_unhealthy_shows_without_reload",
        "keyboard_accessible", "add_service_through_form", "validation_error_shown_beside_field", "scan_button_reports_result",
        "screenshots_and_phone_width", "service_page_fields_labels_history", "service_page_updates_live", "hostile_name_on_service_page",
        "edit_service_through_form", "check_now_button", "delete_service_through_form", "paging_in_place", "no_console_errors",
        "token_asked_once_kept_and_after_401", "stored_token_used_after_reload", "no_console_errors_with_token",
    ]

    @Test(.timeLimit(.minutes(3))) func dashboardInHeadlessChromium() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is missing: apt-get install -y chromium")
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "python3 is missing: apt-get install -y python3 python3-websocket")
        let token = "dashboard-test-token"
        // `beta-worker`'s URL is this target. Every service keeps its seeded result until the flip (the global probe
        // interval is a day, and the first probes are hours away), so the page's rows stay as rendered.
        let target = try ProbeTargetServer()
        try await withLiveRegistry(components: { try RegistryComponents.withProber($0, interval: 86_400) }) { client, components in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let seeded = try await Self.seed(client, components.store, betaURL: target.url("/dynamic"))
            try await withLiveRegistry(configure: { $0.apiToken = token }) { authClient, _ in
                let authBase = "http://127.0.0.1:\(try #require(authClient.port))"
                let work = TemporaryDirectory("dashboard-browser")
                let flipFile = work.file("flip")
                // When the driver asks, `beta-worker`'s target starts answering 503 and the real prober checks it
                // (as `POST /api/services/{id}/check` does): one change to one row, which the page must pick up.
                let flipper = Task {
                    while !Task.isCancelled {
                        if FileManager.default.fileExists(atPath: flipFile) {
                            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                                BlockingWork.queue.async { done.resume(with: Result { try target.setDynamicCode(503) }) }
                            }
                            _ = try await components.prober?.checkNow(id: seeded.flipID)
                            return
                        }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                defer { flipper.cancel() }
                let expect: [String: Any] = [
                    "counts": ["total": 6, "healthy": 3, "unhealthy": 1, "unknown": 2, "active": 4, "inactive": 1, "failed": 1],
                    "xss_name": Self.hostileName, "xss_description": Self.hostileDescription,
                    "failed_names": ["gamma-db"], "unknown_names": ["delta-cache", Self.hostileName],
                    "systemd_names": ["epsilon.service"],
                    "active_names": ["alpha-api", "beta-worker", "epsilon.service", Self.hostileName],
                    "flip_name": "beta-worker", "history_name": "gamma-db",
                    "history_texts": ["status: active → failed", "health: healthy → unhealthy", "health: unknown → healthy"],
                ]
                let expectJSON = String(decoding: try JSONSerialization.data(withJSONObject: expect), as: UTF8.self)
                let artifacts = TestPaths.packageRoot.appendingPathComponent("artifacts/dashboard").path
                let output = try await Self.run(
                    Self.python,
                    [
                        Self.driver, "--base", base, "--auth-base", authBase, "--token", token,
                        "--expect", expectJSON, "--flip-file", flipFile, "--artifacts", artifacts,
                    ],
                    timeout: 150)
                guard case .object(let report)? = try? JSONValue.parse(Array(output.utf8)),
                    case .array(let checks)? = report["checks"]
                else {
                    Issue.record("the browser driver printed no report:\n\(output)")
                    return
                }
                // The flip went through the real prober: the result is the target's 503.
                let flipped = components.store.record(id: seeded.flipID)?.lastProbe
                #expect(flipped?.statusCode == 503 && flipped?.healthy == false, "\(String(describing: flipped))")
                Self.expectPassed(checks, expected: Self.expectedChecks)
                if case .array(let shots)? = report["screenshots"] {
                    #expect(shots.count >= 4, "screenshots: \(shots)")
                    for shot in shots { #expect(FileManager.default.fileExists(atPath: shot.string ?? ""), "missing \(shot)") }
                }
            }
        }
    }

    /// Every check the driver reported passed, and every expected one ran (a check that silently disappears fails).
    static func expectPassed(_ checks: [JSONValue], expected: [String]) {
        var seen = Set<String>()
        for check in checks {
            guard case .object(let c) = check, let name = c["name"]?.string else { continue }
            seen.insert(name)
            let detail = c["detail"]?.string ?? ""
            #expect(c["ok"] == .bool(true), "\(name): \(detail)\n\(c["trace"]?.string ?? "")")
        }
        for name in expected {
            #expect(seen.contains(name), "check \(name) did not run")
        }
    }

    struct Seeded { let flipID: Int }

    /// Six services covering every status, health and source, a hostile name, labels and history.
    static func seed(_ client: any TestClientProtocol, _ store: ServiceStore, betaURL: String) async throws -> Seeded {
        func register(_ json: String) async throws -> Int {
            let reply = try await client.send(.post, "/api/services", json)
            guard reply.status == 200, let id = reply.json?["id"]?.int else { throw DaemonError("seed failed: \(reply.text)") }
            return id
        }
        func probe(_ id: Int, healthy: Bool, ms: Double, error: String? = nil) {
            store.setProbeResult(
                id: id,
                ProbeResult(
                    finishedAt: Date().addingTimeInterval(-30), healthy: healthy,
                    statusCode: healthy ? 200 : nil, totalSeconds: ms / 1000, error: error))
        }
        let alpha = try await register(
            #"{"name":"alpha-api","url":"http://127.0.0.1:9/","port":9,"description":"Alpha frontend","labels":{"team":"core"}}"#)
        let beta = try await register(#"{"name":"beta-worker","url":"\#(betaURL)","description":"Background jobs"}"#)
        let gamma = try await register(
            #"{"name":"gamma-db","url":"http://127.0.0.1:9/db","port":5432,"description":"Database","labels":{"env":"prod","team":"data"}}"#)
        _ = try await register(#"{"name":"delta-cache","url":"http://127.0.0.1:9/cache","status":"inactive"}"#)
        let hostile = String(
            decoding: try JSONSerialization.data(withJSONObject: [
                "name": hostileName, "url": "http://127.0.0.1:9/x", "description": hostileDescription,
            ]), as: UTF8.self)
        _ = try await register(hostile)
        try await store.transaction { txn in
            let id = try txn.nextID()
            try txn.save(
                ServiceRecord(
                    id: id, name: "epsilon.service", source: .systemd, unit: "epsilon.service",
                    activeState: "active", subState: "running", createdAt: Date(), updatedAt: Date()))
        }
        // gamma was healthy two minutes ago, then failed: both probe results are transitions in its history.
        store.setProbeResult(id: gamma, ProbeResult(finishedAt: Date().addingTimeInterval(-120), healthy: true, statusCode: 200, totalSeconds: 0.001))
        probe(alpha, healthy: true, ms: 12.5)
        probe(beta, healthy: true, ms: 3.2)
        probe(gamma, healthy: false, ms: 1.1, error: "connection refused")
        let failed = try await client.send(.put, "/api/services/\(gamma)", #"{"status":"failed"}"#)  // records a status transition
        guard failed.status == 200 else { throw DaemonError("seed failed: \(failed.text)") }
        return Seeded(flipID: beta)
    }

    /// Runs a process without blocking a cooperative thread; SIGTERM after `timeout` (the driver then closes the browser).
    static func run(_ executable: String, _ arguments: [String], timeout: Double) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let outputFile = TemporaryDirectory("dashboard-driver")
        let path = outputFile.file("out.json")
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = handle
        process.standardError = FileHandle.standardError
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
            let pid = process.processIdentifier
            BlockingWork.queue.asyncAfter(deadline: .now() + timeout) { if process.isRunning { kill(pid, SIGTERM) } }
        }
        try handle.close()
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
