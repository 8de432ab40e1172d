import Foundation
import RegistryExposition
import RegistryHTTP
import RegistryModel
import RegistryStore
import RegistrySupport
import Testing

/// Test double of the prober's statistics: fixed counters and lag.
struct FixedProbeStatistics: ProbeStatistics {
    var values: ProbeCounterTable
    var lag: Double
    func counters() -> ProbeCounterTable { values }
    func queueLagSeconds() -> Double { lag }
}

/// Test double of discovery's statistics.
struct FixedDiscoveryStatistics: DiscoveryStatistics {
    var statistics: ScanStatistics
    func scanStatistics() -> ScanStatistics { statistics }
}

enum ExpositionSamples {
    static let epoch = Date(timeIntervalSince1970: 1_764_000_000)

    static func probe(healthy: Bool, status: Int?, seconds: Double, expiry: Date? = nil, error: String? = nil) -> ProbeResult {
        ProbeResult(
            finishedAt: epoch.addingTimeInterval(30), healthy: healthy, statusCode: status, totalSeconds: seconds,
            phases: ProbePhases(resolve: 0.001, connect: 0.002, tls: expiry == nil ? 0 : 0.01, processing: 0.02, transfer: 0.0005),
            certificateExpiry: expiry, error: error)
    }

    /// Records in every state the exposition distinguishes, with hostile names and label values.
    static let records: [ServiceRecord] = {
        func record(
            _ id: Int, _ name: String, url: String? = nil, status: ServiceStatus = .active, port: Int? = nil,
            source: ServiceSource = .api, unit: String? = nil, activeState: String? = nil,
            labels: [String: String] = [:], probe: ProbeResult? = nil, healthURL: String? = nil,
            interval: Double? = nil, timeout: Double? = nil
        ) -> ServiceRecord {
            ServiceRecord(
                id: id, name: name, url: url, status: status, port: port, healthURL: healthURL, source: source, unit: unit,
                activeState: activeState, subState: activeState.map { _ in "running" }, labels: labels,
                probeIntervalSeconds: interval, probeTimeoutSeconds: timeout, lastProbe: probe, createdAt: epoch, updatedAt: epoch)
        }
        return [
            record(
                1, "web", url: "http://127.0.0.1:8080", port: 8080, labels: ["team": "core", "env": "prod"],
                probe: probe(healthy: true, status: 200, seconds: 0.0125)),
            record(
                2, "api \"v2\" \\ back\nslash", url: "http://127.0.0.1:8081/", port: 8081,
                labels: ["note": "quote \" brace } newline \n backslash \\"],
                probe: probe(healthy: false, status: 503, seconds: 0.25, error: "HTTP 503"), timeout: 0.5),
            record(
                3, "ünïcødé ☃ {x=\"y\"}", url: "https://[::1]:8443/health", port: 8443,
                probe: probe(healthy: true, status: 200, seconds: 0.05, expiry: epoch.addingTimeInterval(86_400 * 10)), interval: 15),
            record(
                4, "timeout", url: "http://10.0.0.1:9", status: .inactive,
                probe: probe(healthy: false, status: nil, seconds: 2.0, error: "timeout after 2.0s")),
            record(5, "never-probed", url: "http://127.0.0.1:9000", port: 9000),
            record(6, "no-url", status: .failed),
            record(
                7, "nginx.service", url: "http://127.0.0.1:80", port: 80, source: .systemd, unit: "nginx.service", activeState: "active",
                probe: probe(healthy: true, status: 200, seconds: 0.003)),
            record(8, "broken.service", status: .failed, source: .systemd, unit: "broken.service", activeState: "failed"),
            record(9, "starting.service", status: .inactive, source: .systemd, unit: "starting.service", activeState: "activating"),
            record(10, "stopping.service", status: .inactive, source: .systemd, unit: "stopping.service", activeState: "deactivating"),
            record(11, "idle.service", status: .inactive, source: .systemd, unit: "idle.service", activeState: "inactive"),
            record(12, "reload.service", source: .systemd, unit: "reload.service", activeState: "reloading"),
            record(13, "gone.service", status: .inactive, source: .systemd, unit: "gone.service", activeState: "not-found"),
        ]
    }()

    static let counters: ProbeCounterTable = [
        1: ProbeCounters(probes: 10, failures: 0), 2: ProbeCounters(probes: 10, failures: 7),
        3: ProbeCounters(probes: 4, failures: 0), 4: ProbeCounters(probes: 3, failures: 3),
        7: ProbeCounters(probes: 1, failures: 0),
    ]
    static let scan = ScanStatistics(
        lastDurationSeconds: 0.042, lastScanAt: epoch.addingTimeInterval(10), errorsTotal: 2, lastError: "boom",
        intervalSeconds: 30)

    static var scrape: Scrape {
        Scrape(
            records: records, probeCounters: counters, probeQueueLagSeconds: 0.125, scan: scan,
            probeDefaults: ProbeDefaults(intervalSeconds: 60, timeoutSeconds: 2))
    }

    /// Saves the sample records into a store: ids, sources and systemd fields exactly as above, probe results set in memory.
    static func populate(_ store: ServiceStore) throws {
        try store.transactionSync { txn in
            for record in records {
                var stored = record
                stored.lastProbe = nil
                _ = try txn.nextID()
                try txn.save(stored)
            }
        }
        for record in records { if let probe = record.lastProbe { store.setProbeResult(id: record.id, probe) } }
    }

    /// Runs a program, feeding `input`; returns exit status, stdout and stderr.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Feed stdin and drain stderr on other threads so large data cannot deadlock against full pipes.
        let group = DispatchGroup()
        BlockingWork.queue.async(group: group) {
            if let input { stdin.fileHandleForWriting.write(input) }
            try? stdin.fileHandleForWriting.close()
        }
        let errors = Box()
        BlockingWork.queue.async(group: group) { errors.data = stderr.fileHandleForReading.readDataToEndOfFile() }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: errors.data, as: UTF8.self))
    }

    final class Box: @unchecked Sendable { var data = Data() }

    static func requireTool(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw DaemonError("\(path) is missing: install the Debian package `prometheus` (scripts/test.sh does)")
        }
    }
}

extension String {
    /// Metric names of the sample lines of an exposition (comments skipped).
    var sampleNames: Set<String> {
        var names = Set<String>()
        for line in split(separator: "\n") where !line.hasPrefix("#") {
            let end = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
            names.insert(String(line[..<end]))
        }
        return names
    }
}
