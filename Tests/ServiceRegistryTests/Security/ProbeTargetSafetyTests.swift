import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryStore

/// SPEC §11 "The prober is not an open proxy". No test here ever connects to a link-local address: the
/// validation tests run without a prober, and the connect-time test makes a name resolve to one through
/// libcurl's CURLOPT_RESOLVE and checks that the refusal comes from the opensocket callback, which runs
/// before any socket exists.
@Suite struct ProbeTargetSafetyTests {
    static let linkLocalURLs = [
        "http://169.254.169.254/latest/meta-data/", "http://169.254.0.1:8080/", "http://2852039166/",  // 169.254.169.254 as one number
        "http://0xa9.0xfe.0xa9.0xfe/", "http://[fe80::1]/", "http://[FE80::a:b]:8080/x", "http://[fe80::1%25eth0]/",
        "http://[febf::1]/", "http://[::ffff:169.254.169.254]/", "https://169.254.169.254./",
    ]

    @Test func linkLocalAddressesAreRecognised() {
        for host in [
            "169.254.169.254", "169.254.0.0", "169.254.255.255", "2852039166", "0xa9fea9fe", "[fe80::1]", "fe80::1%eth0",
            "febf:ffff::1", "::ffff:169.254.1.1", "169.254.169.254.",
        ] {
            #expect(LinkLocal.isLinkLocal(host: host), "\(host)")
        }
        for host in [
            "127.0.0.1", "169.253.255.255", "169.255.0.1", "10.0.0.1", "[::1]", "fec0::1", "fe7f::1", "metadata.google.internal", "example.com",
        ] {
            #expect(!LinkLocal.isLinkLocal(host: host), "\(host)")
        }
    }

    @Test func linkLocalTargetsAreRefusedAtValidation() async throws {
        try await withRegistry { client, components in
            for url in Self.linkLocalURLs {
                let reply = try await client.send(.post, "/api/services", serviceJSON("meta", url: url))
                #expect(reply.status == 422, "\(url)")
                #expect(reply.text.contains(#"["body","url"]"#), "\(url): \(reply.text)")
                let health = try await client.send(
                    .post, "/api/services", serviceJSON("meta", url: "http://127.0.0.1:9", extra: #""health_url":"\#(url)""#))
                #expect(health.status == 422 && health.text.contains(#"["body","health_url"]"#), "\(url): \(health.text)")
            }
            #expect(components.store.snapshot().count == 0)
            let created = try await client.send(.post, "/api/services", serviceJSON("ok", url: "http://127.0.0.1:9"))
            let id = try #require(created.json?["id"]?.int)
            #expect(try await client.send(.put, "/api/services/\(id)", #"{"url":"http://169.254.169.254/"}"#).status == 422)
            #expect(components.store.snapshot().record(id: id)?.url == "http://127.0.0.1:9")
        }
    }

    /// With `--probe-allow-link-local` they are accepted (this registry has no prober: nothing is probed).
    @Test func allowLinkLocalAcceptsThem() async throws {
        try await withRegistry(configure: { $0.probeAllowLinkLocal = true }) { client, _ in
            let reply = try await client.send(.post, "/api/services", serviceJSON("meta", url: "http://169.254.169.254/"))
            #expect(reply.status == 200)
        }
    }

    /// A name that resolves to a link-local address passes validation; the probe is refused before any socket
    /// is opened (only the opensocket callback writes this error, and it returns before creating a socket).
    @Test func aNameResolvingToLinkLocalIsRefusedBeforeConnecting() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        var settings = ProbeSettings(interval: 0, timeout: 2)
        settings.resolveOverrides = ["metadata.test:9:169.254.0.1", "metadata6.test:9:[fe80::1]"]
        let prober = HealthProber(store: store, settings: settings, logger: testLogger)
        let components: RegistryComponents = {
            var c = RegistryComponents(store: store)
            c.prober = prober
            c.services = [prober]
            return c
        }()
        try await withLiveRegistry(components: { _ in components }) { client, _ in
            for (name, url) in [("v4", "http://metadata.test:9/latest/meta-data/"), ("v6", "http://metadata6.test:9/")] {
                let created = try await client.send(.post, "/api/services", serviceJSON(name, url: url))
                #expect(created.status == 200)
                let id = try #require(created.json?["id"]?.int)
                let checked = try await client.send(.post, "/api/services/\(id)/check")
                #expect(checked.json?["health_status"]?.string == "unhealthy")
                #expect(checked.json?["last_error"]?.string?.hasPrefix("link-local address refused") == true, "\(checked.text)")
            }
        }
    }

    @Test func redaction() {
        #expect(URLCredentials.redacted("http://alice:s3cret@127.0.0.1:9/x?y=1") == "http://alice:***@127.0.0.1:9/x?y=1")
        #expect(URLCredentials.redacted("https://tok3n@host/") == "https://***@host/")
        #expect(URLCredentials.redacted("http://host/path@x") == "http://host/path@x")
        #expect(
            URLCredentials.redacted("HTTP 302, redirect to http://u:p@evil/ and http://v:q@x/")
                == "HTTP 302, redirect to http://u:***@evil/ and http://v:***@x/")
        #expect(URLCredentials.withoutCredentials("http://alice:s3cret@127.0.0.1:9/x") == "http://127.0.0.1:9/x")
    }

    /// URL credentials appear in none of /metrics, /api/sd, the dashboard pages, the scan page or the logs;
    /// the API record keeps them for its owner, and a form that sends the redacted value back keeps them too.
    @Test func urlCredentialsNeverLeaveThroughMetricsSDDashboardOrLogs() async throws {
        let daemon = try await DaemonProcess.start(arguments: [
            "--data-dir", TemporaryDirectory().path, "--probe-interval", "0", "--scan-interval", "0",
            "--log-level", "debug",
        ])
        let body = #"{"name":"secretive","url":"http://alice:s3cret@127.0.0.1:9/","health_url":"http://bob:hunter2@127.0.0.1:9/health"}"#
        let created = try await HTTP.request("POST", "\(daemon.baseURL)/api/services", body: body)
        #expect(created.status == 200)
        let id = try #require(created.json?["id"]?.int)
        _ = try await HTTP.request("POST", "\(daemon.baseURL)/api/services/\(id)/check")
        for path in ["/metrics", "/api/sd", "/", "/services/\(id)", "/?q=secretive"] {
            let reply = try await HTTP.request("GET", daemon.baseURL + path)
            #expect(reply.status == 200, "\(path)")
            #expect(!reply.body.contains("s3cret") && !reply.body.contains("hunter2"), "\(path) leaks credentials")
            if path == "/metrics" || path == "/api/sd" { #expect(reply.body.contains("alice:***@"), "\(path)") }
        }
        #expect(try await HTTP.request("GET", "\(daemon.baseURL)/services/\(id)").body.contains("bob:***@127.0.0.1:9/health"))
        // The owner's record keeps them.
        #expect(try await HTTP.request("GET", "\(daemon.baseURL)/api/services/\(id)").json?["url"]?.string == "http://alice:s3cret@127.0.0.1:9/")
        // The edit form shows the redacted value; sending it back unchanged keeps the stored credentials.
        let put = try await HTTP.request("PUT", "\(daemon.baseURL)/api/services/\(id)", body: #"{"url":"http://alice:***@127.0.0.1:9/","port":9}"#)
        #expect(put.json?["url"]?.string == "http://alice:s3cret@127.0.0.1:9/")
        #expect(put.json?["port"]?.int == 9)
        daemon.signal(SIGTERM)
        _ = await daemon.waitForExit()
        let log = daemon.readOutput()
        #expect(log.contains("secretive"), "the log should mention the registration: \(log)")
        #expect(!log.contains("s3cret") && !log.contains("hunter2"), "logs leak credentials: \(log)")
    }
}
