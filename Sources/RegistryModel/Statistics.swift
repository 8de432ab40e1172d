import Foundation
import HashTreeCollections

/// Per-service probe counters since the daemon started (Prometheus counters: they reset on restart).
public struct ProbeCounters: Sendable, Equatable {
    public var probes: UInt64
    public var failures: UInt64

    public init(probes: UInt64 = 0, failures: UInt64 = 0) {
        self.probes = probes
        self.failures = failures
    }
}

/// Per-service probe counters by service id. A hash trie rather than a `Dictionary`: 100,000 services need 262,144
/// buckets of a `Dictionary` (6.3 MB), the trie holds the 100,000 (about 3 MB).
public typealias ProbeCounterTable = TreeDictionary<Int, ProbeCounters>

/// What the prober tells /metrics and the dashboard. Reads are cheap and never wait for probes.
public protocol ProbeStatistics: Sendable {
    func counters() -> ProbeCounterTable
    /// How late due probes started recently, in seconds (SPEC §5 `service_registry_probe_queue_lag_seconds`).
    func queueLagSeconds() -> Double
    /// Records deleted for staying unhealthy past `deregister_after_seconds` (SPEC §9).
    func deregistrationsTotal() -> Int
}

extension ProbeStatistics {
    public func deregistrationsTotal() -> Int { 0 }
}

/// The discovery loop's own health, for /metrics and alerts.
public struct ScanStatistics: Sendable, Equatable {
    /// Duration of the last scan attempt, failed ones included; nil before the first.
    public var lastDurationSeconds: Double?
    /// When the last successful scan finished; nil until one has.
    public var lastScanAt: Date?
    public var errorsTotal: UInt64
    public var lastError: String?
    /// Seconds between scans of the loop (`--scan-interval`), 0 when scans run on demand only.
    public var intervalSeconds: Double?

    public init(
        lastDurationSeconds: Double? = nil, lastScanAt: Date? = nil, errorsTotal: UInt64 = 0, lastError: String? = nil,
        intervalSeconds: Double? = nil
    ) {
        self.lastDurationSeconds = lastDurationSeconds
        self.lastScanAt = lastScanAt
        self.errorsTotal = errorsTotal
        self.lastError = lastError
        self.intervalSeconds = intervalSeconds
    }
}

public protocol DiscoveryStatistics: Sendable {
    func scanStatistics() -> ScanStatistics
}
