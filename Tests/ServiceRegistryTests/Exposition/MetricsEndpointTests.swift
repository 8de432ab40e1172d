import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryDiscovery
@testable import RegistryExposition
@testable import RegistryHTTP
@testable import RegistryStore

/// `/metrics` and `/api/sd` through the router.
@Suite struct MetricsEndpointTests {
    static func get(_ client: any TestClientProtocol, _ uri: String, _ headers: HTTPFields = [:]) async throws -> (
        status: Int, headers: HTTPFields, body: [UInt8]
    ) {
        try await client.execute(uri: uri, method: .get, headers: headers) { response in
            (Int(response.status.code), response.headers, Array(response.body.readableBytesView))
        }
    }

    @Test func textFormatByDefault() async throws {
        try await withRegistry { client, components in
            try await client.send(.post, "/api/services", #"{"name":"web \"1\"","url":"http://127.0.0.1:8080","port":8080,"labels":{"team":"a\\b"}}"#)
            let reply = try await Self.get(client, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(text.hasSuffix("\n"))
            #expect(!text.contains("# EOF"))
            #expect(
                text.contains(
                    #"service_registry_service_info{id="1",name="web \"1\"",unit="",url="http://127.0.0.1:8080",source="api",status="active",label_team="a\\b"} 1"#
                ))
            #expect(text.contains(#"service_registry_service_up{id="1",name="web \"1\""} 1"#))
            #expect(text.contains(#"service_registry_service_port{id="1",name="web \"1\""} 8080"#))
            #expect(text.contains(#"service_registry_services{source="api",status="active"} 1"#))
            #expect(text.contains("process_open_fds "))
        }
    }

    @Test func openMetricsWhenAsked() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", #"{"name":"web","url":"http://127.0.0.1:8080"}"#)
            let reply = try await Self.get(client, "/metrics", [.accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"])
            #expect(reply.headers[.contentType] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(text.hasSuffix("\n# EOF\n"))
            #expect(text.contains("# TYPE service_registry_service info\n"))
            #expect(text.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"))
        }
    }

    @Test func gzipWhenAsked() async throws {
        try await withRegistry { client, _ in
            // 12 KB of labels each: the per-service block passes 1 MiB, so it is rendered and compressed in two chunks.
            let labels = (0..<12).map { #""k\#($0)":"\#(String(repeating: "x", count: 1000))""# }.joined(separator: ",")
            for i in 1...100 {
                try await client.send(.post, "/api/services", #"{"name":"svc-\#(i)","url":"http://127.0.0.1:\#(8000 + i)","labels":{\#(labels)}}"#)
            }
            let plain = try await Self.get(client, "/metrics")
            #expect(plain.body.count > 1 << 20)
            // The first gzip scrape compresses the per-service block; the second reuses it, compressing only the tail.
            for _ in 1...2 {
                let zipped = try await Self.get(client, "/metrics", [.acceptEncoding: "gzip, deflate"])
                #expect(zipped.headers[.contentEncoding] == "gzip")
                #expect(plain.headers[.contentEncoding] == nil)
                #expect(zipped.body.count < plain.body.count / 4)
                // gzip -dc checks the trailer's CRC-32 and length too.
                let unzipped = try await blocking { try ExpositionSamples.run("/bin/gzip", ["-dc"], input: Data(zipped.body)) }
                #expect(unzipped.status == 0, "\(unzipped.stderr)")
                // Process values move between scrapes; the per-service part is identical.
                let cut = { (s: String) in s.components(separatedBy: "# HELP service_registry_build_info")[0] }
                #expect(cut(unzipped.stdout) == cut(String(decoding: plain.body, as: UTF8.self)))
                #expect(unzipped.stdout.hasSuffix("# EOF\n") || unzipped.stdout.hasSuffix("\n"))
                #expect(unzipped.stdout.contains("process_cpu_seconds_total"))
            }
        }
    }

    /// A per-service block over `largestKeptBlockBytes` is not kept: identity scrapes render it again (the same bytes),
    /// gzip scrapes use its kept compressed form, and the cache holds only that; a compressed form over
    /// `largestKeptCompressedBytes` is not kept either. A small block is kept as before.
    @Test func largeBlocksKeepOnlyTheirCompressedForm() async throws {
        try await withRegistry { client, components in
            for i in 1...50 { try await client.send(.post, "/api/services", #"{"name":"svc-\#(i)","url":"http://127.0.0.1:\#(8000 + i)"}"#) }
            let perService = { (buffers: [ByteBuffer]) in
                String(decoding: buffers.flatMap { $0.readableBytesView }, as: UTF8.self).components(
                    separatedBy: "# HELP service_registry_build_info")[0]
            }
            let small = MetricsExporter(store: components.store)
            let large = MetricsExporter(store: components.store, largestKeptBlockBytes: 1024)
            let expected = perService(small.exposition(format: .text))
            #expect(expected.utf8.count > 1024 && small.cachedBytes == expected.utf8.count, "a small block is kept")

            for _ in 0..<2 { #expect(perService(large.exposition(format: .text)) == expected) }
            #expect(large.cachedBytes == 0, "an identity scrape of a large block keeps nothing")
            for _ in 0..<2 {
                let member = large.gzippedExposition(format: .text).flatMap { Array($0.readableBytesView) }
                let unzipped = try await blocking { try ExpositionSamples.run("/bin/gzip", ["-dc"], input: Data(member)) }
                #expect(unzipped.status == 0 && perService([ByteBuffer(string: unzipped.stdout)]) == expected)
            }
            let compressed = large.cachedBytes
            #expect(compressed > 0 && compressed < expected.utf8.count / 4, "only the compressed form is kept: \(compressed) bytes")
            #expect(perService(large.exposition(format: .text)) == expected)
            #expect(large.cachedBytes == compressed, "an identity scrape after it keeps the compressed form and adds nothing")

            let neither = MetricsExporter(store: components.store, largestKeptBlockBytes: 1024, largestKeptCompressedBytes: 64)
            for _ in 0..<2 {
                let member = neither.gzippedExposition(format: .text).flatMap { Array($0.readableBytesView) }
                let unzipped = try await blocking { try ExpositionSamples.run("/bin/gzip", ["-dc"], input: Data(member)) }
                #expect(unzipped.status == 0 && perService([ByteBuffer(string: unzipped.stdout)]) == expected)
                #expect(neither.cachedBytes == 0, "nothing is kept when the compressed form is over its limit too")
            }

            // New data: the next gzip scrape renders and compresses it once more.
            try await client.send(.post, "/api/services", #"{"name":"late","url":"http://127.0.0.1:9999"}"#)
            let member = large.gzippedExposition(format: .text).flatMap { Array($0.readableBytesView) }
            let unzipped = try await blocking { try ExpositionSamples.run("/bin/gzip", ["-dc"], input: Data(member)) }
            #expect(unzipped.stdout.contains(#"name="late""#))
        }
    }

    @Test func deletedServiceIsGoneFromTheNextScrape() async throws {
        try await withRegistry { client, components in
            try await client.send(.post, "/api/services", #"{"name":"keep","url":"http://127.0.0.1:8080"}"#)
            try await client.send(.post, "/api/services", #"{"name":"drop","url":"http://127.0.0.1:8081"}"#)
            components.store.setProbeResult(id: 2, ExpositionSamples.probe(healthy: false, status: 500, seconds: 0.1))
            let before = String(decoding: try await Self.get(client, "/metrics").body, as: UTF8.self)
            #expect(before.contains(#"service_registry_service_healthy{id="2",name="drop"} 0"#))
            let deleted = try await client.send(.delete, "/api/services/2").status
            #expect(deleted == 204)
            let after = String(decoding: try await Self.get(client, "/metrics").body, as: UTF8.self)
            #expect(!after.contains(#"name="drop""#))
            #expect(after.contains(#"name="keep""#))
            let sd = try await client.send(.get, "/api/sd")
            #expect(sd.json?.array?.count == 1)
        }
    }

    @Test func probeResultsAppearWithoutARegistryRestart() async throws {
        try await withRegistry { client, components in
            try await client.send(.post, "/api/services", #"{"name":"web","url":"https://127.0.0.1:8443"}"#)
            let first = String(decoding: try await Self.get(client, "/metrics").body, as: UTF8.self)
            #expect(!first.contains("service_registry_service_healthy{"))
            let expiry = Date(timeIntervalSince1970: 1_800_000_000)
            components.store.setProbeResult(id: 1, ExpositionSamples.probe(healthy: true, status: 204, seconds: 0.5, expiry: expiry))
            let second = String(decoding: try await Self.get(client, "/metrics").body, as: UTF8.self)
            #expect(second.contains(#"service_registry_service_healthy{id="1",name="web"} 1"#))
            #expect(second.contains(#"service_registry_probe_http_status_code{id="1",name="web"} 204"#))
            #expect(second.contains(#"service_registry_probe_duration_seconds{id="1",name="web"} 0.5"#))
            #expect(second.contains(#"service_registry_probe_ssl_earliest_cert_expiry_seconds{id="1",name="web"} 1800000000"#))
            #expect(second.contains(#"service_registry_probe_phase_duration_seconds{id="1",name="web",phase="tls"} 0.01"#))
            #expect(second.contains(#"service_registry_probe_interval_seconds{id="1",name="web"} 60"#))
        }
    }

    @Test func serviceDiscovery() async throws {
        try await withRegistry { client, _ in
            let empty = try await Self.get(client, "/api/sd")
            #expect(empty.status == 200)
            #expect(empty.headers[.contentType] == "application/json")
            #expect(String(decoding: empty.body, as: UTF8.self) == "[]")
            try await client.send(
                .post, "/api/services",
                #"{"name":"web","url":"http://127.0.0.1:8080/","health_url":"http://127.0.0.1:8080/health","labels":{"env":"prod"}}"#)
            let reply = try await client.send(.get, "/api/sd")
            let group = try #require(reply.json?[0])
            #expect(group["targets"]?.array?.compactMap(\.string) == ["127.0.0.1:8080"])
            let labels = try #require(group["labels"])
            #expect(labels["__meta_service_registry_id"]?.string == "1")
            #expect(labels["__meta_service_registry_name"]?.string == "web")
            #expect(labels["__meta_service_registry_health_url"]?.string == "http://127.0.0.1:8080/health")
            #expect(labels["__meta_service_registry_health_status"]?.string == "unknown")
            #expect(labels["__meta_service_registry_label_env"]?.string == "prod")
        }
    }

    @Test func readTokenProtectsMetricsAndDiscovery() async throws {
        try await withRegistry(configure: { $0.readToken = "r3ad" }) { client, _ in
            let anonymousMetrics = try await Self.get(client, "/metrics").status
            let anonymousSD = try await Self.get(client, "/api/sd").status
            let metrics = try await Self.get(client, "/metrics", [.authorization: "Bearer r3ad"]).status
            let sd = try await Self.get(client, "/api/sd", [.authorization: "Bearer r3ad"]).status
            #expect(anonymousMetrics == 401 && anonymousSD == 401)
            #expect(metrics == 200 && sd == 200)
        }
    }

    /// A running scan does not hold up a scrape (nor service discovery). The scan is held open until the
    /// scrape has been answered, so "did not wait" needs no clock: had the scrape waited for the scan, it
    /// could never have been answered. Timeouts are only there to end a broken run.
    @Test func scrapeDoesNotWaitForARunningScan() async throws {
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let gate = ScanGate()
        let components: @Sendable (RegistryConfiguration) throws -> RegistryComponents = { configuration in
            RegistryComponents(
                store: try ServiceStore(directory: configuration.dataDirectory),
                scanner: GatedScanner(started: startedContinuation, gate: gate))
        }
        try await withLiveRegistry(components: components) { client, _ in
            let base = "http://127.0.0.1:\(client.port!)"
            // curl blocks: off the cooperative pool (`HTTP.send`), which the registry's handlers need.
            let scan = Task { try await HTTP.send("POST", base + "/api/scan", timeout: 120) }
            var iterator = started.makeAsyncIterator()
            _ = await iterator.next()
            let metrics = try await HTTP.send("GET", base + "/metrics", timeout: 60)
            let sd = try await HTTP.send("GET", base + "/api/sd", timeout: 60)
            #expect(metrics.status == 200 && sd.status == 200)
            #expect(!gate.isOpen, "the scan ended before the scrape was answered")
            gate.open()
            let scanStatus = try await scan.value.status
            #expect(scanStatus == 200)
        }
    }

    @Test func routesAreInTheOpenAPIDocument() {
        #expect(OpenAPIDocument.operations["GET /metrics"] != nil)
        #expect(OpenAPIDocument.operations["GET /api/sd"] != nil)
    }
}

/// Opened once by the test; scans wait for it.
final class ScanGate: @unchecked Sendable {
    private let lock = NSLock()
    private var opened = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    var isOpen: Bool { lock.withLock { opened } }

    func open() {
        let resumed = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            opened = true
            defer { waiting = [] }
            return waiting
        }
        for continuation in resumed { continuation.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if opened { return true }
                waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// A scanner whose scan lasts until the test opens the gate; says when it started.
struct GatedScanner: ServiceScanner {
    let started: AsyncStream<Void>.Continuation
    let gate: ScanGate
    func scanNow() async throws -> ScanReport {
        started.yield()
        await gate.wait()
        return ScanReport(discovered: 0, updated: 0, services: [])
    }
}

/// Runs blocking work on a thread of its own.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
