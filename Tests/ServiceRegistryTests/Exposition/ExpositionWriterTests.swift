import Foundation
import Hummingbird
import Testing

@testable import RegistryExposition
@testable import RegistryModel

/// The writer and collectors on fixed data, compared with golden files under Fixtures/exposition.
/// Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change (then review the diff).
@Suite struct ExpositionWriterTests {
    /// Everything but the process collector, whose values change from run to run.
    static func render(_ format: ExpositionFormat) -> String {
        let scrape = ExpositionSamples.scrape
        var writer = ExpositionWriter(format: format)
        let services = ServiceScrape(scrape)
        for collector in MetricsRenderer.serviceCollectors { collector.collect(services, into: &writer) }
        RegistryCollector(version: "1.2.3").collect(scrape, into: &writer)
        writer.finish()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func checkGolden(_ actual: String, _ name: String) throws {
        let path = TestPaths.fixture("exposition/\(name)")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "differs from \(path); if intended, rerun with UPDATE_GOLDEN=1 and review the diff")
    }

    @Test func goldenTextFormat() throws {
        try Self.checkGolden(Self.render(.text), "golden.prom")
    }

    @Test func goldenOpenMetrics() throws {
        try Self.checkGolden(Self.render(.openMetrics), "golden.openmetrics.txt")
    }

    @Test func labelValuesAreEscaped() {
        let labels = LabelSet(["a": "back\\slash", "b": "quo\"te", "c": "new\nline", "d": "ünï ☃ }{=,", "e": ""])
        #expect(
            String(decoding: labels.bytes, as: UTF8.self)
                == #"a="back\\slash",b="quo\"te",c="new\nline",d="ünï ☃ }{=,",e="""#)
    }

    @Test func helpIsEscapedPerFormat() {
        let family = MetricFamily("x_seconds", .gauge, unit: "seconds", help: "a \\ b\nc \"d\"")
        #expect(String(decoding: family.textHeader, as: UTF8.self) == "# HELP x_seconds a \\\\ b\\nc \"d\"\n# TYPE x_seconds gauge\n")
        #expect(
            String(decoding: family.openMetricsHeader, as: UTF8.self)
                == "# HELP x_seconds a \\\\ b\\nc \\\"d\\\"\n# TYPE x_seconds gauge\n# UNIT x_seconds seconds\n")
    }

    @Test func countersAndInfoAreNamedPerFormat() {
        var text = ExpositionWriter(format: .text)
        var om = ExpositionWriter(format: .openMetrics)
        for family in [ProbeCollector.probes, ServiceCollector.info] {
            text.begin(family)
            text.sample(value: 1)
            om.begin(family)
            om.sample(value: 1)
        }
        text.finish()
        om.finish()
        #expect(
            String(decoding: text.bytes, as: UTF8.self).contains("# TYPE service_registry_probes_total counter\nservice_registry_probes_total 1\n"))
        #expect(String(decoding: text.bytes, as: UTF8.self).contains("# TYPE service_registry_service_info gauge\nservice_registry_service_info 1\n"))
        #expect(!String(decoding: text.bytes, as: UTF8.self).contains("EOF"))
        #expect(String(decoding: om.bytes, as: UTF8.self).contains("# TYPE service_registry_probes counter\nservice_registry_probes_total 1\n"))
        #expect(String(decoding: om.bytes, as: UTF8.self).contains("# TYPE service_registry_service info\nservice_registry_service_info 1\n"))
        #expect(String(decoding: om.bytes, as: UTF8.self).hasSuffix("\n# EOF\n"))
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (1, "1"), (-3, "-3"), (8080, "8080"), (0.5, "0.5"), (0.00001, "1e-05"),
        (1_764_000_030, "1764000030"), (1_764_000_030.25, "1764000030.25"), (1.5e20, "1.5e+20"),
        (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (Double(UInt64.max), "1.8446744073709552e+19"),
    ])
    func valuesAreWrittenAsGoParsesThem(value: Double, expected: String) {
        var bytes: [UInt8] = []
        ExpositionWriter.appendValue(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    /// One HELP and one TYPE per family, before all its samples; samples of a family are contiguous.
    @Test(arguments: [ExpositionFormat.text, .openMetrics])
    func familiesAreContiguousWithOneHeader(format: ExpositionFormat) {
        let text = Self.render(format)
        #expect(text.hasSuffix("\n"))
        var typed: [String: String] = [:]  // family -> type
        var seenFamilies: [String] = []
        var current: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                let family = String(parts[2])
                #expect(typed[family] == nil, "second TYPE for \(family)")
                typed[family] = String(parts[3])
                seenFamilies.append(family)
                current = family
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                guard let current else {
                    Issue.record("sample before any TYPE: \(line)")
                    continue
                }
                #expect(name == current || name == current + "_total" || name == current + "_info", "\(name) outside its family \(current)")
            }
        }
        #expect(seenFamilies.count == Set(seenFamilies).count)
    }

    @Test func unknownHealthHasNoHealthSeriesAndDeletedRecordsAreAbsent() {
        let text = Self.render(.text)
        #expect(!text.contains("service_registry_service_healthy{id=\"5\""))
        #expect(text.contains("service_registry_service_up{id=\"5\",name=\"never-probed\"} 1"))
        // Never probed but probe-able: counters 0 once a prober runs.
        #expect(text.contains("service_registry_probes_total{id=\"5\",name=\"never-probed\"} 0"))
        // No target: no counters, no interval.
        #expect(!text.contains("service_registry_probes_total{id=\"6\""))
        #expect(!text.contains("service_registry_probe_interval_seconds{id=\"6\""))
        // A record that is gone from the snapshot is gone from the exposition.
        var scrape = ExpositionSamples.scrape
        scrape.records.removeAll { $0.id == 1 }
        let rendered = String(decoding: MetricsRenderer.renderServices(scrape, format: .text).flatMap { $0.readableBytesView }, as: UTF8.self)
        #expect(!rendered.contains("id=\"1\""))
        #expect(rendered.contains("id=\"2\""))
    }

    @Test func withoutProberOrDiscoveryTheirSeriesAreOmitted() {
        var scrape = ExpositionSamples.scrape
        scrape.probeCounters = nil
        scrape.probeQueueLagSeconds = nil
        scrape.scan = nil
        let text = String(decoding: MetricsRenderer.render(scrape, format: .text), as: UTF8.self)
        for absent in [
            "service_registry_probes_total", "service_registry_probe_failures_total", "service_registry_scan_errors_total",
            "service_registry_scan_duration_seconds", "service_registry_probe_queue_lag_seconds",
        ] {
            #expect(!text.contains(absent), "\(absent) without its source")
        }
        #expect(text.contains("process_resident_memory_bytes "))
        #expect(text.contains("service_registry_build_info{version=\""))
    }

    @Test func systemdStatesAreOneHot() {
        #expect(SystemdCollector.oneHotState("reloading") == "active")
        #expect(SystemdCollector.oneHotState("not-found") == "inactive")
        #expect(SystemdCollector.oneHotState("deactivating") == "deactivating")
        let text = Self.render(.text)
        for id in 7...13 {
            let ones = text.split(separator: "\n").filter { $0.hasPrefix("service_registry_systemd_unit_state{id=\"\(id)\"") && $0.hasSuffix(" 1") }
            #expect(ones.count == 1, "unit \(id): \(ones)")
        }
    }
}

@Suite struct ExpositionNegotiationTests {
    @Test func acceptHeaderPicksTheFormat() {
        // What Prometheus 2.42 sends.
        let prometheus =
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        #expect(ExpositionFormat.negotiate(accept: prometheus) == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
        #expect(ExpositionFormat.negotiate(accept: "*/*") == .text)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;version=0.0.4") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text") == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text; version=0.0.1") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=0, text/plain") == .text)
        #expect(ExpositionFormat.negotiate(accept: "text/plain;q=0.9, application/openmetrics-text;q=0.3") == .text)
        #expect(ExpositionFormat.negotiate(accept: "garbage;;;,") == .text)
    }

    @Test func acceptEncodingGzip() {
        #expect(ExpositionFormat.acceptsGzip("gzip"))
        #expect(ExpositionFormat.acceptsGzip("deflate, gzip;q=0.5"))
        #expect(ExpositionFormat.acceptsGzip("GZIP"))
        #expect(!ExpositionFormat.acceptsGzip("gzip;q=0"))
        #expect(!ExpositionFormat.acceptsGzip("identity"))
        #expect(!ExpositionFormat.acceptsGzip(nil))
    }
}

@Suite struct ProcessStatTests {
    @Test func parsesStatWithHostileCommandName() throws {
        let text = try String(contentsOfFile: TestPaths.fixture("exposition/proc-self-stat.txt"), encoding: .utf8)
        let stat = try #require(ProcStat.parse(text))
        #expect(stat == ProcStat(userTicks: 1234, systemTicks: 567, startTicks: 890_123, virtualBytes: 1_234_567_168, residentPages: 4321))
        #expect(ProcStat.parse("garbage") == nil)
        #expect(ProcStat.parse("1 (x) S 1 2") == nil)
    }

    @Test func bootTimeFromProcStat() throws {
        let text = try String(contentsOfFile: TestPaths.fixture("exposition/proc-stat.txt"), encoding: .utf8)
        #expect(ProcStat.bootTime(fromProcStat: text) == 1_764_300_000)
        #expect(ProcStat.bootTime(fromProcStat: "cpu 1 2 3\n") == nil)
    }

    /// The live collector: the values this process really has.
    @Test func liveProcessMetricsAreSane() throws {
        var writer = ExpositionWriter(format: .text)
        ProcessCollector().collect(Scrape(records: []), into: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        func value(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let rss = try #require(value("process_resident_memory_bytes"))
        #expect(rss > 1_000_000 && rss < 64_000_000_000)
        let start = try #require(value("process_start_time_seconds"))
        #expect(abs(start - Date().timeIntervalSince1970) < 3600)
        let fds = try #require(value("process_open_fds"))
        #expect(fds >= 3 && fds <= (value("process_max_fds") ?? 0))
        #expect(try #require(value("process_cpu_seconds_total")) >= 0)  // 10 ms ticks: may still be 0 early on
        #expect(try #require(value("process_virtual_memory_bytes")) >= rss)
    }
}

@Suite struct ServiceDiscoveryTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080/health", "127.0.0.1:8080"), ("https://example.com/", "example.com:443"),
        ("http://example.com", "example.com:80"), ("HTTP://Host:81", "Host:81"), ("https://[::1]:8443/x", "[::1]:8443"),
        ("http://user:pw@h:1/", "h:1"),
    ])
    func targetIsHostAndPort(url: String, expected: String) {
        #expect(PrometheusServiceDiscovery.target(forURL: url) == expected)
    }

    @Test func noHostNoTarget() {
        #expect(PrometheusServiceDiscovery.target(forURL: "http://") == nil)
        #expect(PrometheusServiceDiscovery.target(forURL: "ftp://h/") == nil)
        #expect(PrometheusServiceDiscovery.target(forURL: "not a url") == nil)
    }

    @Test func targetGroups() throws {
        let json = try JSONValue.parse(Self.targetGroupsJSON(ExpositionSamples.records))
        let groups = try #require(json.array)
        // Every record with a URL, in id order; records 6, 8-13 have none.
        #expect(groups.count == 6)
        let second = try #require(groups[1]["labels"])
        #expect(groups[1]["targets"]?[0]?.string == "127.0.0.1:8081")
        #expect(second["__meta_service_registry_id"]?.string == "2")
        #expect(second["__meta_service_registry_name"]?.string == "api \"v2\" \\ back\nslash")
        #expect(second["__meta_service_registry_status"]?.string == "active")
        #expect(second["__meta_service_registry_health_status"]?.string == "unhealthy")
        #expect(second["__meta_service_registry_url"]?.string == "http://127.0.0.1:8081/")
        #expect(second["__meta_service_registry_health_url"]?.string == "")
        #expect(second["__meta_service_registry_unit"]?.string == "")
        #expect(second["__meta_service_registry_label_note"]?.string == "quote \" brace } newline \n backslash \\")
        #expect(groups[2]["targets"]?[0]?.string == "[::1]:8443")
        #expect(groups[5]["labels"]?["__meta_service_registry_unit"]?.string == "nginx.service")
        #expect(Self.targetGroupsJSON([]) == Array("[]".utf8))
    }

    private static func targetGroupsJSON(_ records: [ServiceRecord]) -> [UInt8] {
        var body = PrometheusServiceDiscovery.targetGroups { visit in records.forEach(visit) }
        return body.readBytes(length: body.readableBytes) ?? []
    }

    /// The per-service block cut into chunks as it is written is byte for byte the block written whole, and each chunk
    /// but the last ends on a line once it has passed the chunk size.
    @Test func chunkedServiceBlockIsTheWholeBlockCutAtLineEnds() {
        var scrape = ExpositionSamples.scrape
        scrape.records = (0..<300).flatMap { copy in
            ExpositionSamples.records.map { record in
                var record = record
                record.id = record.id + copy * 100
                record.name += "-\(copy)"
                return record
            }
        }
        for format in [ExpositionFormat.text, .openMetrics] {
            let whole = MetricsRenderer.renderServices(scrape, format: format, chunkBytes: .max)
            let chunks = MetricsRenderer.renderServices(scrape, format: format, chunkBytes: 4096)
            #expect(whole.count == 1)
            #expect(chunks.count > 50, "\(chunks.count) chunks of \(whole[0].readableBytes) bytes")
            #expect(chunks.flatMap { $0.readableBytesView } == Array(whole[0].readableBytesView))
            for chunk in chunks.dropLast() {
                #expect(chunk.readableBytes >= 4096 && chunk.readableBytes < 4096 + 1024, "\(chunk.readableBytes)")
                #expect(chunk.readableBytesView.last == UInt8(ascii: "\n"))
            }
        }
    }

    /// A member made of a reused compressed prefix and a fresh tail is one valid gzip member (checked by gzip
    /// itself, which verifies the CRC-32 and length), for empty parts and for parts spanning many deflate blocks.
    @Test func gzipPrefixAndTailMakeOneValidMember() throws {
        var generator = SystemRandomNumberGenerator()
        let large = (0..<300_000).map { _ in UInt8.random(in: 0x20...0x7e, using: &generator) }  // incompressible-ish text
        let cases: [([UInt8], [UInt8])] = [
            ([], []), (Array("head\n".utf8), []), ([], Array("tail\n".utf8)),
            (Array(String(repeating: "metric{a=\"b\"} 1\n", count: 20_000).utf8), Array("# EOF\n".utf8)),
            (large, large.reversed()),
        ]
        for (head, tail) in cases {
            // The prefix is made of the head cut in three, as a chunked block is.
            let cuts = [0, head.count / 3, head.count * 2 / 3, head.count]
            let prefix = Gzip.prefix(zip(cuts, cuts.dropFirst()).map { ByteBuffer(bytes: head[$0..<$1]) })
            for _ in 0..<2 {  // the prefix is reused as is
                let member = Gzip.member(prefix, tail: ByteBuffer(bytes: tail)).flatMap { Array($0.readableBytesView) }
                let unzipped = try ExpositionSamples.run("/bin/gzip", ["-dc"], input: Data(member))
                #expect(unzipped.status == 0, "\(head.count)+\(tail.count): \(unzipped.stderr)")
                #expect(Array(unzipped.stdout.utf8) == head + tail, "\(head.count)+\(tail.count) bytes")
            }
        }
    }
}
