import RegistryModel

/// The last probe of each service (SPEC §3, §5), its counters, and its effective interval and timeout.
///
/// Last-probe series exist for services that have a probe target and a result; a service without a target
/// (nothing to probe) has none. The counters exist for every probed service once a prober runs (0 until
/// its first probe). The interval and timeout series are additions to SPEC §5 that let alert rules compare
/// against each service's own settings (staleness, slow responses).
public struct ProbeCollector: ServiceMetricsCollector {
    public static let duration = MetricFamily(
        "service_registry_probe_duration_seconds", .gauge, unit: "seconds",
        help: "Total time of the last probe.")
    public static let phaseDuration = MetricFamily(
        "service_registry_probe_phase_duration_seconds", .gauge, unit: "seconds",
        help: "Time spent in each phase of the last probe: resolve, connect, tls, processing, transfer.")
    public static let statusCode = MetricFamily(
        "service_registry_probe_http_status_code", .gauge,
        help: "HTTP status code of the last probe; 0 when no response was received.")
    public static let lastTimestamp = MetricFamily(
        "service_registry_probe_last_timestamp_seconds", .gauge, unit: "seconds",
        help: "Unix time when the last probe finished.")
    public static let certificateExpiry = MetricFamily(
        "service_registry_probe_ssl_earliest_cert_expiry_seconds", .gauge, unit: "seconds",
        help: "Unix time when the leaf certificate seen by the last HTTPS probe expires.")
    public static let probes = MetricFamily(
        "service_registry_probes_total", .counter,
        help: "Probes run since the registry started.")
    public static let failures = MetricFamily(
        "service_registry_probe_failures_total", .counter,
        help: "Unhealthy probes since the registry started.")
    public static let interval = MetricFamily(
        "service_registry_probe_interval_seconds", .gauge, unit: "seconds",
        help: "Effective probe interval of the service (its override, else the global default).")
    public static let timeout = MetricFamily(
        "service_registry_probe_timeout_seconds", .gauge, unit: "seconds",
        help: "Effective probe timeout of the service (its override, else the global default).")

    public static let families = [duration, phaseDuration, statusCode, lastTimestamp, certificateExpiry, probes, failures, interval, timeout]

    public init() {}

    public func collect(_ services: ServiceScrape, into writer: inout ExpositionWriter) {
        // The last result counts only while there is a target (health is `unknown` otherwise). Its plain
        // values are copied out once, so the loops below do not retain the result's strings.
        let probed: [(item: ServiceScrape.Item, probe: LastProbe)] = services.items.compactMap { item in
            guard item.record.probeTarget != nil, let probe = item.record.lastProbe else { return nil }
            return (item, LastProbe(probe))
        }
        writer.begin(Self.duration)
        for (item, probe) in probed { writer.sample(item.identity, value: probe.totalSeconds) }
        // `--metrics-detail basic` leaves the five phase series out (the bulk of a probed service's series).
        writer.begin(Self.phaseDuration)
        for (item, probe) in probed where services.scrape.detail == .full {
            let phases = probe.phases
            writer.sample(item.identity, ("phase", "resolve"), value: phases.resolve)
            writer.sample(item.identity, ("phase", "connect"), value: phases.connect)
            writer.sample(item.identity, ("phase", "tls"), value: phases.tls)
            writer.sample(item.identity, ("phase", "processing"), value: phases.processing)
            writer.sample(item.identity, ("phase", "transfer"), value: phases.transfer)
        }
        writer.begin(Self.statusCode)
        for (item, probe) in probed { writer.sample(item.identity, value: Double(probe.statusCode ?? 0)) }
        writer.begin(Self.lastTimestamp)
        for (item, probe) in probed { writer.sample(item.identity, value: probe.finishedAt) }
        writer.begin(Self.certificateExpiry)
        for (item, probe) in probed {
            if let expiry = probe.certificateExpiry { writer.sample(item.identity, value: expiry) }
        }

        if let counters = services.scrape.probeCounters {
            let counted = services.items.filter { $0.record.probeTarget != nil || counters[$0.record.id] != nil }
            writer.begin(Self.probes)
            for item in counted { writer.sample(item.identity, value: Double(counters[item.record.id]?.probes ?? 0)) }
            writer.begin(Self.failures)
            for item in counted { writer.sample(item.identity, value: Double(counters[item.record.id]?.failures ?? 0)) }
        }

        let defaults = services.scrape.probeDefaults
        let targets = services.items.filter { $0.record.probeTarget != nil }
        writer.begin(Self.interval)
        for item in targets { writer.sample(item.identity, value: defaults.interval(for: item.record)) }
        writer.begin(Self.timeout)
        for item in targets { writer.sample(item.identity, value: defaults.timeout(for: item.record)) }
    }
}

/// The plain values of a probe result that the exposition shows (no strings).
struct LastProbe {
    package let totalSeconds: Double
    package let phases: ProbePhases
    package let statusCode: Int?
    package let finishedAt: Double
    package let certificateExpiry: Double?

    init(_ result: ProbeResult) {
        totalSeconds = result.totalSeconds
        phases = result.phases
        statusCode = result.statusCode
        finishedAt = result.finishedAt.timeIntervalSince1970
        certificateExpiry = result.certificateExpiry?.timeIntervalSince1970
    }
}
