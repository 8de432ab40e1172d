import RegistryModel

/// The registry's own series: build, service counts, discovery and prober health, storage.
///
/// Discovery series appear whenever discovery is wired in (`scan` present), the queue lag once a prober runs.
/// The scan duration follows every attempt, failed ones included (absent before the first); the last-scan
/// timestamp is the last *successful* scan, 0 until there is one, so a staleness alert fires on a host where
/// scans never succeed (SPEC §5).
public struct RegistryCollector: RegistryMetricsCollector {
    public static let buildInfo = MetricFamily(
        "service_registry_build_info", .info,
        help: "Version of the running service-registry; always 1.")
    public static let services = MetricFamily(
        "service_registry_services", .gauge,
        help: "Number of registered services by source and status.")
    public static let scanDuration = MetricFamily(
        "service_registry_scan_duration_seconds", .gauge, unit: "seconds",
        help: "Duration of the last systemd discovery scan attempt, failed ones included.")
    public static let lastScan = MetricFamily(
        "service_registry_last_scan_timestamp_seconds", .gauge, unit: "seconds",
        help: "Unix time when the last successful systemd discovery scan finished; 0 until one has.")
    public static let scanInterval = MetricFamily(
        "service_registry_scan_interval_seconds", .gauge, unit: "seconds",
        help: "Seconds between discovery scans (--scan-interval); 0 when scans run on demand only.")
    public static let scanErrors = MetricFamily(
        "service_registry_scan_errors_total", .counter,
        help: "Discovery scans that failed since the registry started.")
    public static let queueLag = MetricFamily(
        "service_registry_probe_queue_lag_seconds", .gauge, unit: "seconds",
        help: "How late due probes started recently.")

    public static let deregistrations = MetricFamily(
        "service_registry_deregistrations_total", .counter,
        help: "Services deleted because they stayed unhealthy longer than their deregister_after_seconds.")

    public static let storageUsed = MetricFamily(
        "service_registry_storage_used_bytes", .gauge, unit: "bytes",
        help: "Bytes of the LMDB data file in use; pages on LMDB's free list, which writes reuse first, are not counted.")
    public static let storageLimit = MetricFamily(
        "service_registry_storage_limit_bytes", .gauge, unit: "bytes",
        help: "The most the LMDB data file may use (--map-size-mb); past it writes get 507 storage full.")
    public static let rollupBucketsSkipped = MetricFamily(
        "service_registry_rollup_buckets_skipped_total", .counter,
        help: "Uptime rollup buckets (a service's finished minute, and its share of an hour) not stored because storage was near --map-size-mb.")

    public static let families = [
        buildInfo, services, scanDuration, lastScan, scanErrors, scanInterval, queueLag, deregistrations, storageUsed, storageLimit,
        rollupBucketsSkipped,
    ]

    public let version: String

    public init(version: String = RegistryVersion.current) { self.version = version }

    public func collect(_ scrape: Scrape, into writer: inout ExpositionWriter) {
        writer.begin(Self.buildInfo)
        writer.sample(LabelSet(["version": version]), value: 1)

        // Every source × status pair, zeros included, so a count that drops to 0 stays visible.
        writer.begin(Self.services)
        for source in ServiceSource.allCases {
            for status in ServiceStatus.allCases {
                writer.sample(LabelSet(["source": source.rawValue, "status": status.rawValue]), value: Double(scrape.serviceCounts[source, status]))
            }
        }

        if let scan = scrape.scan {
            writer.begin(Self.scanDuration)
            if let duration = scan.lastDurationSeconds { writer.sample(value: duration) }
            writer.begin(Self.lastScan)
            writer.sample(value: scan.lastScanAt?.timeIntervalSince1970 ?? 0)
            writer.begin(Self.scanErrors)
            writer.sample(value: Double(scan.errorsTotal))
            if let interval = scan.intervalSeconds {
                writer.begin(Self.scanInterval)
                writer.sample(value: interval)
            }
        }
        if let lag = scrape.probeQueueLagSeconds {
            writer.begin(Self.queueLag)
            writer.sample(value: lag)
        }
        if let deregistrations = scrape.deregistrationsTotal {
            writer.begin(Self.deregistrations)
            writer.sample(value: Double(deregistrations))
        }
        if let storage = scrape.storage {
            writer.begin(Self.storageUsed)
            writer.sample(value: Double(storage.usage.usedBytes))
            writer.begin(Self.storageLimit)
            writer.sample(value: Double(storage.usage.mapSize))
            writer.begin(Self.rollupBucketsSkipped)
            writer.sample(value: Double(storage.rollupBucketsSkipped))
        }
    }
}
