import Foundation
import Synchronization
import Testing

@testable import RegistryApp
@testable import RegistryDiscovery
@testable import RegistryModel
@testable import RegistryStore

/// Issue 11's reproduction in a real headless Chromium: a page served by another local origin (a second
/// loopback port, as any web site the user visits) sends a no-cors `fetch` POST, a `text/plain` form POST
/// whose body is valid JSON, and `<img src=/scan>` to the registry. Each reaches the registry (Chromium
/// reports its response) and is refused with 403: no record appears, no scan runs. Then the dashboard itself:
/// a URL with credentials appears nowhere in it, neither as the server renders it nor as its script rebuilds the row.
@Suite(.serialized) struct CrossSiteBrowserTests {
    static let python = "/usr/bin/python3"
    static let driver = TestPaths.packageRoot.appendingPathComponent("scripts/dashboard/cross_site_checks.py").path

    /// Counts scans instead of running systemctl.
    final class CountingScanner: ServiceScanner, @unchecked Sendable {
        let count = Mutex(0)
        func scanNow() async throws -> ScanReport {
            count.withLock { $0 += 1 }
            return ScanReport(discovered: 0, updated: 0, services: [])
        }
    }

    static func attackPage(registry: String) -> String {
        """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>start</title></head><body>
        <iframe name="sink" style="display:none"></iframe>
        <form id="f" method="POST" action="\(registry)/api/services" enctype="text/plain" target="sink">
        <input name='{"name":"evil-form","url":"http://127.0.0.1:9","description":"' value='"}'></form>
        <script>
        const mark = (what) => { document.title += ' ' + what; };
        fetch('\(registry)/api/services', {method: 'POST', mode: 'no-cors',
              body: JSON.stringify({name: 'evil-fetch', url: 'http://127.0.0.1:9'})})
          .then(() => mark('fetch'), () => mark('fetch'));
        const img = new Image();
        img.onload = img.onerror = () => mark('img');
        img.src = '\(registry)/scan';
        document.querySelector('iframe').onload = () => mark('form');
        document.getElementById('f').submit();
        </script></body></html>
        """
    }

    @Test(.timeLimit(.minutes(3))) func aPageOfAnotherOriginCannotWriteOrScan() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is missing: apt-get install -y chromium")
        let scanner = CountingScanner()
        try await withLiveRegistry(components: { c in
            var components = RegistryComponents(store: try ServiceStore(directory: c.dataDirectory))
            components.scanner = scanner
            return components
        }) { client, components in
            let registry = "http://127.0.0.1:\(try #require(client.port))"
            let site = TemporaryDirectory("cross-site-page")
            try Self.attackPage(registry: registry).write(toFile: site.file("attack.html"), atomically: true, encoding: .utf8)
            let sitePort = DaemonProcess.freePort()
            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.python)
            server.arguments = ["-m", "http.server", String(sitePort), "--bind", "127.0.0.1", "--directory", site.path]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer {
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            try await blocking { try waitUntilListening(sitePort) }

            // A record whose URL holds credentials, written straight to the store (not through the page).
            let secret = try await components.store.transaction { txn in
                let id = try txn.nextID()
                var record = ServiceRecord(id: id, name: "with-credentials", createdAt: txn.now, updatedAt: txn.now)
                record.url = "http://alice:s3cret@127.0.0.1:9/"
                try txn.save(record)
                return id
            }
            let result = try await blocking {
                try SystemdUserManager.run(
                    Self.python,
                    [
                        Self.driver, "--page", "http://127.0.0.1:\(sitePort)/attack.html", "--registry", registry,
                        "--credentials-service", "\(secret)",
                    ],
                    environment: [:])
            }
            let json = try #require(result.output.split(separator: "\n").last.flatMap { try? JSONValue.parse(Array($0.utf8)) }, "\(result.output)")
            #expect(json["errors"]?.array?.isEmpty == true, "\(result.output)")
            let responses = json["responses"]?.array ?? []
            // Every attack reached the registry and was refused.
            for (method, path) in [("POST", "/api/services"), ("GET", "/scan")] {
                let matching = responses.filter { $0["method"]?.string == method && $0["url"]?.string == registry + path }
                #expect(!matching.isEmpty, "no \(method) \(path) reached the registry: \(result.output.prefix(3000))")
                for response in matching { #expect(response["status"]?.int == 403, "\(method) \(path): \(response)") }
            }
            #expect(responses.filter { $0["method"]?.string == "POST" }.count >= 2, "both the fetch and the form POST: \(result.output)")
            #expect(components.store.snapshot().count == 1, "a cross-site page registered a service")
            // The dashboard shows the credentialed URL nowhere, neither as rendered nor as its script rebuilds the row.
            let dashboard = try #require(json["dashboard"], "\(result.output.prefix(2000))")
            for key in ["server_html", "rebuilt_html"] {
                let html = try #require(dashboard[key]?.string)
                #expect(!html.contains("s3cret"), "\(key) shows URL credentials")
            }
            #expect(dashboard["rebuilt_html"]?.string?.contains("4321") == true, "the script did not rebuild the row")
            #expect(dashboard["hrefs"]?.array?.contains(.string("http://127.0.0.1:9/")) == true, "\(dashboard["hrefs"] ?? .null)")
            #expect(scanner.count.withLock { $0 } == 0, "a cross-site page ran a scan")
        }
    }
}
