import Foundation
import HummingbirdTesting
import RegistryApp
import RegistryModel
import Testing

/// The dashboard subscribes again by itself when the registry refuses its change stream (SPEC §10/§12): past
/// `--max-event-streams` `GET /api/events` answers 503 with `Retry-After: 5`, EventSource gives up on a refused
/// stream, and the list and service pages must then try again after the Retry-After, without a reload.
///
/// A real headless Chromium, driven by `scripts/dashboard/browser_checks.py --flow resubscribe` (see
/// `DashboardBrowserTests`): the driver itself holds every stream the registry admits on raw sockets, loads a page,
/// sees its stream refused (a 503 in the page's network events, and the page saying it is reconnecting), closes the
/// held streams, and waits for the page's next `/api/events` to be admitted and for a change made through the API
/// to show live. Takes about 17 s, mostly the pages' 5 s waits.
@Suite(.serialized) struct DashboardResubscribeBrowserTests {
    /// One place, so the driver can take it, and so the list page's own stream holds it when the page follows new
    /// rows (closes its stream, opens the next at once): the registry must admit that one (`refusalGrace`).
    static let maxEventStreams = 1

    /// Every check the driver must report.
    static let expectedChecks = [
        "list_page_stream_refused_while_full", "list_page_tries_again_while_full", "list_page_resubscribes_once_a_stream_is_free",
        "list_page_shows_changes_live_after_resubscribing", "service_page_resubscribes_once_a_stream_is_free",
        "service_page_shows_changes_live_after_resubscribing", "no_console_errors_while_resubscribing",
    ]

    @Test(.timeLimit(.minutes(2))) func dashboardResubscribesAfterItsStreamIsRefused() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is missing: apt-get install -y chromium")
        try #require(
            FileManager.default.isExecutableFile(atPath: DashboardBrowserTests.python),
            "python3 is missing: apt-get install -y python3 python3-websocket")
        try await withLiveRegistry(configure: { $0.maxEventStreams = Self.maxEventStreams }) { client, _ in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            // One row, so the list page has a table to follow.
            let seeded = try await client.send(.post, "/api/services", #"{"name":"seeded-api","url":"http://127.0.0.1:9/"}"#)
            try #require(seeded.status == 200, "seed failed: \(seeded.text)")
            let artifacts = TestPaths.packageRoot.appendingPathComponent("artifacts/dashboard-resubscribe").path
            let started = ContinuousClock.now
            let output = try await DashboardBrowserTests.run(
                DashboardBrowserTests.python,
                [
                    DashboardBrowserTests.driver, "--flow", "resubscribe", "--base", base,
                    "--max-event-streams", String(Self.maxEventStreams), "--artifacts", artifacts,
                ],
                timeout: 100)
            guard case .object(let report)? = try? JSONValue.parse(Array(output.utf8)),
                case .array(let checks)? = report["checks"]
            else {
                Issue.record("the browser driver printed no report:\n\(output)")
                return
            }
            DashboardBrowserTests.expectPassed(checks, expected: Self.expectedChecks)
            print("DashboardResubscribeBrowserTests: the driver took \(ContinuousClock.now - started)")
        }
    }
}
