import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryModel
@testable import RegistryStore
@testable import RegistryTLS

/// HTTPS for the registry itself (SPEC §11), against the real daemon, certificates made by `openssl`, real curl,
/// `openssl s_client` and a real Prometheus.
@Suite(.serialized) struct TLSTests {
    static func dataDir() -> String { TemporaryDirectory().path }

    /// A daemon serving https with the test PKI's server certificate (plus `arguments`).
    static func tlsDaemon(_ pki: TestPKI, _ arguments: [String] = [], clientCert: (String, String)? = nil) throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", dataDir(), "--tls-cert-file", pki.serverCert, "--tls-key-file", pki.serverKey] + arguments,
            waitReady: false)
        try daemon.waitUntilReadyOverTLS(caFile: pki.caFile, clientCert: clientCert)
        return daemon
    }

    @Test func httpsIsServedAndAClientWithoutTheCAIsRefused() throws {
        let pki = try TestPKI()
        let daemon = try Self.tlsDaemon(pki, ["--api-token", "secret"])
        let created = try curl([
            "--cacert", pki.caFile, "-X", "POST", "-H", "Authorization: Bearer secret", "-H", "Content-Type: application/json",
            "-d", #"{"name":"billing","url":"http://127.0.0.1:8080"}"#, "\(daemon.httpsURL)/api/services",
        ])
        #expect(created.status == 200, "\(created)")
        let listed = try curl(["--cacert", pki.caFile, "\(daemon.httpsURL)/api/services"])
        #expect(listed.status == 200 && listed.body.contains(#""name":"billing""#), "\(listed)")
        // The name in the certificate is checked too: localhost is in it.
        #expect(try curl(["--cacert", pki.caFile, "https://localhost:\(daemon.port)/health"]).status == 200)

        // Without the CA, curl's verification fails: no answer, and no token sent in clear text.
        let untrusted = try curl(["\(daemon.httpsURL)/api/services"])
        #expect(untrusted.exit == 60, "\(untrusted)")  // CURLE_PEER_FAILED_VERIFICATION
        #expect(untrusted.stderr.contains("certificate"), "\(untrusted.stderr)")
        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = try curl(["http://127.0.0.1:\(daemon.port)/api/services"])
        #expect(plain.exit != 0 && plain.status == 0, "\(plain)")
        // Only TLS 1.2 and later (exporter-toolkit's default minimum).
        #expect(try curl(["--cacert", pki.caFile, "--tlsv1.1", "--tls-max", "1.1", "\(daemon.httpsURL)/health"]).exit != 0)
        #expect(daemon.process.isRunning)
    }

    @Test func theListFastPathAnswersOverTLS() async throws {
        let pki = try TestPKI()
        let settings = TLSSettings(certFile: pki.serverCert, keyFile: pki.serverKey)
        try await withLiveRegistry(components: { configuration in
            var components = RegistryComponents(store: try ServiceStore(directory: configuration.dataDirectory))
            components.tls = try TLSContextProvider(settings: settings)
            return components
        }) { client, components in
            let port = try #require(client.port)
            let created = try await onThread {
                try curl(["--cacert", pki.caFile, "-d", #"{"name":"a","url":"http://127.0.0.1:9/"}"#, "https://127.0.0.1:\(port)/api/services"])
            }
            #expect(created.status == 200, "\(created)")
            // Three requests on one kept-alive TLS connection: the first renders the body (router), the others
            // are answered by the fast path, after the TLS handler and the HTTP codec as over plain HTTP.
            let url = "https://127.0.0.1:\(port)/api/services"
            let before = ListFastPathTests.fastPathCount(components)
            let result = try await onThread {
                try runTool(
                    "/usr/bin/curl", ["-sS", "--max-time", "20", "--cacert", pki.caFile, "-w", "\n%{http_code} %{num_connects}\n", url, url, url])
            }
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 6, "\(lines)")
            let bodies = stride(from: 0, to: lines.count, by: 2).map { lines[$0] }
            #expect(Set(bodies).count == 1 && bodies[0].contains(#""name":"a""#), "\(bodies)")
            #expect(lines.filter { $0.hasPrefix("200 ") }.count == 3)
            #expect(lines.contains("200 0"), "the connection was not reused: \(lines)")
            #expect(ListFastPathTests.fastPathCount(components) - before >= 2)
        }
    }

    @Test func mutualTLSRefusesClientsWithoutAVerifiedCertificate() throws {
        let pki = try TestPKI()
        // Configured through the environment this time (SERVICE_REGISTRY_<NAME>, like every flag).
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", Self.dataDir()],
            environment: [
                "SERVICE_REGISTRY_TLS_CERT_FILE": pki.serverCert, "SERVICE_REGISTRY_TLS_KEY_FILE": pki.serverKey,
                "SERVICE_REGISTRY_TLS_CLIENT_CA_FILE": pki.clientCAFile,
            ], waitReady: false)
        try daemon.waitUntilReadyOverTLS(caFile: pki.caFile, clientCert: (pki.clientCert, pki.clientKey))
        let url = "\(daemon.httpsURL)/api/services"
        let withCert = try curl(["--cacert", pki.caFile, "--cert", pki.clientCert, "--key", pki.clientKey, url])
        #expect(withCert.status == 200, "\(withCert)")
        let withoutCert = try curl(["--cacert", pki.caFile, url])
        #expect(withoutCert.exit != 0 && withoutCert.status == 0, "\(withoutCert)")
        let strangerCert = try curl(["--cacert", pki.caFile, "--cert", pki.strangerCert, "--key", pki.strangerKey, url])
        #expect(strangerCert.exit != 0 && strangerCert.status == 0, "\(strangerCert)")
        #expect(daemon.process.isRunning)
    }

    @Test func webConfigFileServesHTTPSWithItsSettings() throws {
        let pki = try TestPKI()
        // Relative paths (from the file's directory, as exporter-toolkit resolves them), quotes and comments.
        let config = """
            # the file node_exporter reads
            tls_server_config:
              cert_file: server.crt
              key_file: "server.key"
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: 'clients-ca.crt'
              min_version: TLS13
            http_server_config:
              http2: true
            """
        let file = pki.path("web-config.yml")
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", Self.dataDir()], environment: ["SERVICE_REGISTRY_WEB_CONFIG_FILE": file], waitReady: false)
        try daemon.waitUntilReadyOverTLS(caFile: pki.caFile, clientCert: (pki.clientCert, pki.clientKey))
        let url = "\(daemon.httpsURL)/api/services"
        let client = ["--cacert", pki.caFile, "--cert", pki.clientCert, "--key", pki.clientKey]
        #expect(try curl(client + [url]).status == 200)
        #expect(try curl(["--cacert", pki.caFile, url]).status == 0, "client_auth_type RequireAndVerifyClientCert")
        #expect(try curl(client + ["--tls-max", "1.2", url]).status == 0, "min_version TLS13")
    }

    /// Web configuration files (and flag combinations) that must stop the daemon at start-up with exit 2 and one
    /// line saying what is wrong.
    @Test func badTLSConfigurationFailsFast() throws {
        let pki = try TestPKI()
        try "not a certificate\n".write(toFile: pki.path("garbage.crt"), atomically: true, encoding: .utf8)
        let cases: [(yaml: String?, extra: [String], message: String)] = [
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cert_flie: x\n", [], "unknown key tls_server_config.cert_flie"),
            (
                "tls_server_config: {cert_file: server.crt, key_file: server.key}\nbasic_auth_users: {admin: x}\n", [],
                "basic_auth_users is not supported"
            ),
            ("tls_server_config:\n  cert_file: server.crt\n", [], "needs cert_file and key_file"),
            ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", [], "cannot read the certificate"),
            ("tls_server_config:\n  cert_file: garbage.crt\n  key_file: server.key\n", [], "cannot read the certificate"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n", [], "cannot use"),
            (
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: clients-ca.crt\n", [],
                "client_auth_type is not"
            ),
            (
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n", [],
                "RequireAnyClientCert is not supported"
            ),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n", [], "min_version \"TLS14\""),
            (
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_NOPE]\n", [],
                "unknown or unsupported cipher suite TLS_NOPE"
            ),
            ("tls_server_config: [\n", [], "not valid YAML"),
            ("http_server_config: {http2: true}\n", [], "no tls_server_config"),
            ("tls_server_config: {cert_file: server.crt, key_file: server.key}\n", ["--tls-cert-file", pki.serverCert], "cannot be combined"),
            (nil, ["--tls-cert-file", pki.serverCert], "--tls-cert-file needs --tls-key-file"),
            (nil, ["--tls-client-ca-file", pki.clientCAFile], "--tls-client-ca-file needs --tls-cert-file"),
            (nil, ["--tls-cert-file", pki.serverCert, "--tls-key-file", pki.path("nope.key")], "cannot read the private key"),
        ]
        for (index, testCase) in cases.enumerated() {
            var arguments = ["--data-dir", Self.dataDir()] + testCase.extra
            if let yaml = testCase.yaml {
                let file = pki.path("bad-\(index).yml")
                try yaml.write(toFile: file, atomically: true, encoding: .utf8)
                arguments += ["--web-config-file", file]
            }
            let daemon = try DaemonProcess(arguments: arguments, waitReady: false)
            let status = daemon.waitForExit(timeout: 30)
            let output = daemon.readOutput()
            #expect(status == 2, "case \(index): \(output)")
            #expect(output.contains(testCase.message), "case \(index): expected \(testCase.message.debugDescription) in \(output)")
            #expect(output.split(separator: "\n").count == 1, "case \(index): one line: \(output)")
        }
    }

    @Test func aRotatedCertificateIsServedAfterSIGHUP() throws {
        let pki = try TestPKI()
        // The daemon reads copies, so the test can replace them as an operator's renewal would.
        let cert = pki.path("live.crt")
        let key = pki.path("live.key")
        try FileManager.default.copyItem(atPath: pki.serverCert, toPath: cert)
        try FileManager.default.copyItem(atPath: pki.serverKey, toPath: key)
        let daemon = try DaemonProcess(
            arguments: ["--data-dir", Self.dataDir(), "--tls-cert-file", cert, "--tls-key-file", key, "--log-level", "notice"],
            waitReady: false)
        try daemon.waitUntilReadyOverTLS(caFile: pki.caFile)
        #expect(try TestPKI.servedSerial(port: daemon.port) == "1001")

        // Renewal: new files in place, then SIGHUP (sent again while the old certificate is still served, in case
        // the first arrived before the daemon listened for it; bounded).
        try Data(contentsOf: URL(fileURLWithPath: pki.rotatedCert)).write(to: URL(fileURLWithPath: cert))
        try Data(contentsOf: URL(fileURLWithPath: pki.rotatedKey)).write(to: URL(fileURLWithPath: key))
        var served: String?
        for _ in 0..<10 where served != "1002" {
            daemon.signal(SIGHUP)
            let deadline = Date().addingTimeInterval(3)
            repeat {
                served = try TestPKI.servedSerial(port: daemon.port)
                if served == "1002" { break }
                Thread.sleep(forTimeInterval: 0.2)
            } while Date() < deadline
        }
        #expect(served == "1002", "\(daemon.readOutput())")
        #expect(daemon.readOutput().contains("TLS certificate reloaded"))
        #expect(try curl(["--cacert", pki.caFile, "\(daemon.httpsURL)/health"]).status == 200)

        // A bad new file keeps the current certificate, logs why, and the daemon keeps serving.
        try "-----BEGIN CERTIFICATE-----\ntruncated\n".write(toFile: cert, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !daemon.readOutput().contains("TLS reload failed") { Thread.sleep(forTimeInterval: 0.1) }
        let log = daemon.readOutput()
        #expect(log.contains("TLS reload failed, still serving the previous certificate") && log.contains("serial=1002"), "\(log)")
        #expect(daemon.process.isRunning)
        #expect(try TestPKI.servedSerial(port: daemon.port) == "1002")
        #expect(try curl(["--cacert", pki.caFile, "\(daemon.httpsURL)/health"]).status == 200)
    }

    /// With `--web-config-file`, SIGHUP re-reads the file itself: a renewal that writes new file names works too.
    @Test func theWebConfigFileIsReReadOnSIGHUP() throws {
        let pki = try TestPKI()
        let file = pki.path("web.yml")
        try "tls_server_config: {cert_file: server.crt, key_file: server.key}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["--data-dir", Self.dataDir(), "--web-config-file", file], waitReady: false)
        try daemon.waitUntilReadyOverTLS(caFile: pki.caFile)
        #expect(try TestPKI.servedSerial(port: daemon.port) == "1001")
        try "tls_server_config: {cert_file: rotated.crt, key_file: rotated.key}\n".write(toFile: file, atomically: true, encoding: .utf8)
        var served: String?
        for _ in 0..<10 where served != "1002" {
            daemon.signal(SIGHUP)
            let deadline = Date().addingTimeInterval(3)
            repeat {
                served = try TestPKI.servedSerial(port: daemon.port)
                if served == "1002" { break }
                Thread.sleep(forTimeInterval: 0.2)
            } while Date() < deadline
        }
        #expect(served == "1002", "\(daemon.readOutput())")
        // A broken file on SIGHUP keeps what is served.
        try "tls_server_config: {cert_file: rotated.crt, key_file: rotated.key, typo: 1}\n".write(toFile: file, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !daemon.readOutput().contains("unknown key tls_server_config.typo") { Thread.sleep(forTimeInterval: 0.1) }
        #expect(daemon.readOutput().contains("unknown key tls_server_config.typo"), "\(daemon.readOutput())")
        #expect(try TestPKI.servedSerial(port: daemon.port) == "1002")
        #expect(daemon.process.isRunning)
    }

    /// A client that completed the handshake and then sits silent (as an idle keep-alive scraper does) does not keep
    /// the daemon from stopping: SIGTERM exits 0 well within SPEC §12's 10 s, acknowledged writes on disk.
    @Test func sigtermStopsPromptlyWithAnIdleTLSConnectionOpen() throws {
        let pki = try TestPKI()
        let daemon = try Self.tlsDaemon(pki, [])
        let idle = Process()
        idle.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        idle.arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(daemon.port)", "-CAfile", pki.caFile]
        let input = Pipe()  // kept open: s_client waits for stdin and never closes the connection itself
        idle.standardInput = input
        idle.standardOutput = FileHandle.nullDevice
        idle.standardError = FileHandle.nullDevice
        try idle.run()
        defer {
            if idle.isRunning { idle.terminate() }
            idle.waitUntilExit()
        }
        let written = try curl(["--cacert", pki.caFile, "-d", #"{"name":"kept","url":"http://127.0.0.1:9/"}"#, "\(daemon.httpsURL)/api/services"])
        #expect(written.status == 200)
        Thread.sleep(forTimeInterval: 1)  // the idle handshake is done
        let started = Date()
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 15) == 0, "\(daemon.readOutput())")
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 10, "\(elapsed) s")
    }

    @Test func clientSubcommandsWorkOverHTTPS() throws {
        let pki = try TestPKI()
        let daemon = try Self.tlsDaemon(
            pki, ["--api-token", "t", "--tls-client-ca-file", pki.clientCAFile], clientCert: (pki.clientCert, pki.clientKey))
        let exe = TestPaths.executable
        let env = [
            "SERVICE_REGISTRY_URL": daemon.httpsURL, "SERVICE_REGISTRY_TOKEN": "t", "SERVICE_REGISTRY_CA_FILE": pki.caFile,
            "SERVICE_REGISTRY_CLIENT_CERT_FILE": pki.clientCert, "SERVICE_REGISTRY_CLIENT_KEY_FILE": pki.clientKey,
        ]
        let registered = try runTool(exe, ["register", "--name", "billing", "--url", "http://127.0.0.1:8080"], environment: env)
        #expect(registered.status == 0 && registered.stdout.contains("id 1"), "\(registered)")
        let listed = try runTool(
            exe,
            [
                "list", "--registry", daemon.httpsURL, "--ca-file", pki.caFile,
                "--client-cert-file", pki.clientCert, "--client-key-file", pki.clientKey,
            ])
        #expect(listed.status == 0 && listed.stdout.contains("billing"), "\(listed)")

        // Without the CA the server's certificate does not verify; without the client certificate the handshake fails.
        var noCA = env
        noCA["SERVICE_REGISTRY_CA_FILE"] = nil
        let untrusted = try runTool(exe, ["list"], environment: noCA)
        #expect(
            untrusted.status != 0 && untrusted.stderr.contains("cannot reach the registry") && untrusted.stderr.contains("certificate"),
            "\(untrusted)")
        var noClientCert = env
        noClientCert["SERVICE_REGISTRY_CLIENT_CERT_FILE"] = nil
        noClientCert["SERVICE_REGISTRY_CLIENT_KEY_FILE"] = nil
        let refused = try runTool(exe, ["list"], environment: noClientCert)
        #expect(refused.status != 0 && refused.stderr.contains("cannot reach the registry"), "\(refused)")
        #expect(try runTool(exe, ["deregister", "billing"], environment: env).status == 0)
    }

    /// The README's https scrape configuration, as printed there, with this test's CA and address.
    static func readmePrometheusHTTPSExample() throws -> String {
        let readme = try String(contentsOfFile: TestPaths.packageRoot.appendingPathComponent("README.md").path, encoding: .utf8)
        let blocks = readme.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```").first ?? "" }
        return try #require(blocks.first { $0.contains("scheme: https") }, "README has no https Prometheus example")
    }

    @Test func prometheusScrapesOverHTTPSWithTheREADMEExample() async throws {
        try ExpositionSamples.requireTool(PrometheusServer.binary)
        let pki = try TestPKI()
        let daemon = try Self.tlsDaemon(pki, ["--api-token", "t"])
        let created = try curl([
            "--cacert", pki.caFile, "-X", "POST", "-H", "Authorization: Bearer t", "-d",
            #"{"name":"billing","url":"http://127.0.0.1:9/","labels":{"team":"pay"}}"#, "\(daemon.httpsURL)/api/services",
        ])
        #expect(created.status == 200)
        let example = try Self.readmePrometheusHTTPSExample()
        #expect(example.contains("/etc/prometheus/service-registry-ca.crt") && example.contains("host:8000"))
        let directory = TemporaryDirectory("prometheus-tls")
        let config =
            "global:\n  scrape_interval: 1s\n"
            + example
            .replacingOccurrences(of: "/etc/prometheus/service-registry-ca.crt", with: pki.caFile)
            .replacingOccurrences(of: "host:8000", with: "127.0.0.1:\(daemon.port)")
        let configFile = directory.file("prometheus.yml")
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        let prometheus = try PrometheusServer(configFile: configFile, directory: directory)
        defer { prometheus.stop() }

        let deadline = Date().addingTimeInterval(90)
        var targets: [JSONValue] = []
        var registryUp = false
        var discovered = false
        while Date() < deadline {
            #expect(prometheus.process.isRunning, "prometheus exited: \(prometheus.logText)")
            if !prometheus.process.isRunning { return }
            targets = try await onThread { prometheus.api("/api/v1/targets") }?["activeTargets"]?.array ?? []
            registryUp = targets.contains { $0["labels"]?["job"]?.string == "service-registry" && $0["health"]?.string == "up" }
            discovered = targets.contains { $0["discoveredLabels"]?["__meta_service_registry_name"]?.string == "billing" }
            if registryUp && discovered { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(registryUp, "the registry was not scraped over https: \(targets)")
        #expect(discovered, "/api/sd was not read over https: \(targets)")
        let up = try await onThread { prometheus.api("/api/v1/query?query=service_registry_build_info") }
        #expect((up?["result"]?.array?.count ?? 0) == 1, "\(String(describing: up))")
    }

    @Test func startUpWarnsOnceWhenTokensWouldTravelInClearText() throws {
        // The rule, for every kind of address.
        for host in ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"] { #expect(RegistryConfiguration.isLoopback(host: host), "\(host)") }
        for host in ["0.0.0.0", "::", "10.1.2.3", "192.168.0.1", "fe80::1", "registry.example"] {
            #expect(!RegistryConfiguration.isLoopback(host: host), "\(host)")
        }
        var configuration = RegistryConfiguration()
        #expect(!configuration.tokensTravelInClearText, "no token, nothing to leak")
        configuration.readToken = "r"
        #expect(configuration.tokensTravelInClearText)
        configuration.tls = TLSSettings(certFile: "c", keyFile: "k")
        #expect(!configuration.tokensTravelInClearText)

        // The daemon: on 0.0.0.0 with a token it warns once. The port is held by this test, so the daemon stops at
        // listening (exit 1) and never opens a non-loopback socket.
        let pki = try TestPKI()
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        let port = DaemonProcess.freePort()
        #expect(withLoopbackAddress(port: port) { bind(holder, $0, $1) } == 0 && listen(holder, 1) == 0)
        func start(_ arguments: [String]) throws -> String {
            let daemon = try DaemonProcess(
                arguments: ["--data-dir", Self.dataDir(), "--log-level", "info"] + arguments + ["--host", "0.0.0.0", "--port", "\(port)"],
                waitReady: false)
            #expect(daemon.waitForExit(timeout: 30) == 1)
            return daemon.readOutput()
        }
        let clear = try start(["--api-token", "t"])
        #expect(clear.contains("cannot listen on 0.0.0.0:\(port)"), "\(clear)")
        #expect(clear.components(separatedBy: "travel in clear text").count == 2, "exactly one warning: \(clear)")
        let encrypted = try start(["--api-token", "t", "--tls-cert-file", pki.serverCert, "--tls-key-file", pki.serverKey])
        #expect(encrypted.contains("cannot listen on 0.0.0.0:\(port)") && !encrypted.contains("clear text"), "\(encrypted)")
        // Loopback only: nobody else can read the traffic.
        let local = try DaemonProcess(arguments: ["--data-dir", Self.dataDir(), "--log-level", "info", "--api-token", "t"])
        #expect(local.process.isRunning && !local.readOutput().contains("clear text"), "\(local.readOutput())")
    }
}

extension TLSTests {
    /// The parser on its own: what exporter-toolkit files look like in the wild.
    @Test func webConfigParserReadsTheExporterToolkitSubset() throws {
        let settings = try WebConfigFile.parse(
            """
            tls_server_config: {cert_file: a.crt, key_file: /etc/k.key, client_auth_type: VerifyClientCertIfGiven, client_ca_file: ca.crt,
              min_version: TLS12, max_version: TLS13, prefer_server_cipher_suites: true,
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256], curve_preferences: [X25519, CurveP256]}
            """, path: "/etc/web.yml", directory: "/etc/registry")
        #expect(settings.certFile == "/etc/registry/a.crt" && settings.keyFile == "/etc/k.key" && settings.clientCAFile == "/etc/registry/ca.crt")
        #expect(settings.clientAuth == .verifyIfGiven && settings.minVersion == .tlsv12 && settings.maxVersion == .tlsv13)
        #expect(settings.cipherSuites == [.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] && settings.curves == [.x25519, .secp256r1])
        let plain = try WebConfigFile.parse(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_ca_file:\n", path: "w", directory: ".")
        #expect(plain.clientAuth == .none && plain.clientCAFile == nil && plain.minVersion == .tlsv12)
        #expect(throws: TLSSettingsError.self) {
            try WebConfigFile.parse("tls_server_config: {cert_file: a, key_file: b, max_version: TLS11}\n", path: "w", directory: ".")
        }
        #expect(throws: TLSSettingsError.self) {
            try WebConfigFile.parse(
                "tls_server_config: {cert_file: a, key_file: b}\nhttp_server_config: {headers: {X: y}}\n", path: "w", directory: ".")
        }
    }
}
