// metrics-benchmark: the in-process half of Benchmarks/metrics.sh.
//
//   metrics-benchmark render COUNT [RUNS]      full /metrics render (no cache) of COUNT probed services:
//                                              prints bytes and min/median milliseconds, both formats, and gzip
//   metrics-benchmark populate COUNT DATA_DIR [URL]  writes COUNT services with probe results into a fresh LMDB
//                                              data directory for a daemon to serve (all probing URL if given)
import Foundation
import Hummingbird
import RegistryExposition
import RegistryModel
import RegistryStore

/// Realistic records: every third service is a systemd unit, every fifth HTTPS, every seventh unhealthy.
func sampleRecords(_ count: Int) -> [ServiceRecord] {
    let now = Date()
    return (1...count).map { id in
        let https = id % 5 == 0
        let healthy = id % 7 != 0
        let probe = ProbeResult(
            finishedAt: now.addingTimeInterval(-Double(id % 60)), healthy: healthy, statusCode: healthy ? 200 : 503,
            totalSeconds: 0.001 * Double(id % 997 + 1),
            phases: ProbePhases(resolve: 0.0001, connect: 0.0002, tls: https ? 0.003 : 0, processing: 0.004, transfer: 0.0001),
            certificateExpiry: https ? now.addingTimeInterval(86_400 * 60) : nil, error: healthy ? nil : "HTTP 503")
        let systemd = id % 3 == 0
        let port = 3000 + id % 7000
        return ServiceRecord(
            id: id, name: systemd ? "unit-\(id).service" : "service-\(id)", url: "\(https ? "https" : "http")://127.0.0.1:\(port)",
            status: .active, port: port, source: systemd ? .systemd : .api, unit: systemd ? "unit-\(id).service" : nil,
            activeState: systemd ? "active" : nil, subState: systemd ? "running" : nil,
            labels: ["team": "team-\(id % 10)", "env": "prod"], lastProbe: probe, createdAt: now, updatedAt: now)
    }
}

func milliseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let count = Int(arguments[2]), count > 0 else {
    FileHandle.standardError.write(Data("usage: metrics-benchmark render COUNT [RUNS] | populate COUNT DATA_DIR [URL]\n".utf8))
    exit(2)
}
switch arguments[1] {
case "render":
    let runs = arguments.count > 3 ? Int(arguments[3]) ?? 20 : 20
    let records = sampleRecords(count)
    let counters = ProbeCounterTable(uniqueKeysWithValues: records.map { ($0.id, ProbeCounters(probes: 100, failures: $0.id % 7 == 0 ? 100 : 0)) })
    let scrape = Scrape(
        records: records, probeCounters: counters, probeQueueLagSeconds: 0.01,
        scan: ScanStatistics(lastDurationSeconds: 0.05, lastScanAt: Date(), errorsTotal: 0))
    for format in [ExpositionFormat.text, .openMetrics] {
        var bytes = 0
        var times: [Double] = []
        // What a scrape that misses the cache renders: the per-service block (in chunks) and the registry's tail.
        for _ in 0..<runs {
            times.append(
                milliseconds {
                    bytes =
                        MetricsRenderer.renderServices(scrape, format: format).reduce(0) { $0 + $1.readableBytes }
                        + MetricsRenderer.renderRegistry(scrape, format: format).count
                })
        }
        times.sort()
        print(
            "render \(format == .text ? "text-0.0.4" : "openmetrics") services=\(count) bytes=\(bytes) min_ms=\(String(format: "%.2f", times[0])) median_ms=\(String(format: "%.2f", times[times.count / 2]))"
        )
    }
    let block = MetricsRenderer.renderServices(scrape, format: .text)
    var zipped = 0
    var times: [Double] = []
    for _ in 0..<max(3, runs / 4) { times.append(milliseconds { zipped = Gzip.compress(block).count }) }
    times.sort()
    print("gzip text-0.0.4 services=\(count) bytes=\(zipped) median_ms=\(String(format: "%.2f", times[times.count / 2]))")
case "populate":
    // An optional URL makes every service probe that URL over HTTP (Benchmarks/fleet.sh: one nginx for all).
    guard arguments.count == 4 || arguments.count == 5 else { exit(2) }
    let store = try ServiceStore(directory: arguments[3])
    var records = sampleRecords(count)
    if arguments.count == 5 {
        for index in records.indices {
            records[index].url = arguments[4]
            records[index].lastProbe?.certificateExpiry = nil
        }
    }
    try store.transactionSync { txn in
        for record in records {
            _ = try txn.nextID()
            try txn.save(record)
        }
    }
    print("populated \(count) services in \(arguments[3])")
default:
    exit(2)
}
