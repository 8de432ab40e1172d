import RegistryModel

/// Descriptive series of every service: info (join target), up, healthy, port.
public struct ServiceCollector: ServiceMetricsCollector {
    public static let info = MetricFamily(
        "service_registry_service_info", .info,
        help: "Descriptive labels of a registered service; always 1. Record labels appear as label_<key>.")
    public static let up = MetricFamily(
        "service_registry_service_up", .gauge,
        help: "1 when the service's status is active, else 0.")
    public static let healthy = MetricFamily(
        "service_registry_service_healthy", .gauge,
        help: "1 when the last probe was healthy, 0 when unhealthy; absent while the health is unknown.")
    public static let port = MetricFamily(
        "service_registry_service_port", .gauge,
        help: "The service's port.")

    public static let families = [info, up, healthy, port]

    public init() {}

    public func collect(_ services: ServiceScrape, into writer: inout ExpositionWriter) {
        writer.begin(Self.info)
        for item in services.items {
            writer.sample(Self.infoLabels(item.record), value: 1)
        }
        writer.begin(Self.up)
        for item in services.items {
            writer.sample(item.identity, value: item.record.status == .active ? 1 : 0)
        }
        writer.begin(Self.healthy)
        for item in services.items {
            switch item.record.healthStatus {
            case .healthy: writer.sample(item.identity, value: 1)
            case .unhealthy: writer.sample(item.identity, value: 0)
            case .unknown: break
            }
        }
        writer.begin(Self.port)
        for item in services.items {
            if let port = item.record.port { writer.sample(item.identity, value: Double(port)) }
        }
    }

    /// `id`, `name`, `unit`, `url`, `source`, `status`, then `label_<key>` for each record label, by key.
    /// A missing unit or URL is an empty value, which Prometheus treats as an absent label.
    static func infoLabels(_ record: ServiceRecord) -> LabelSet {
        var pairs: [(String, String)] = [
            ("id", String(record.id)), ("name", record.name), ("unit", record.unit ?? ""), ("url", URLCredentials.redacted(record.url ?? "")),
            ("source", record.source.rawValue), ("status", record.status.rawValue),
        ]
        for key in record.labels.keys.sorted() { pairs.append(("label_" + labelNameSafe(key), record.labels[key]!)) }
        return LabelSet(pairs)
    }

    /// Record label keys are validated on input (`[a-zA-Z_][a-zA-Z0-9_]*`); anything else is mapped to `_`
    /// here as well, so a key that slipped through can never break the exposition.
    static func labelNameSafe(_ key: String) -> String {
        let valid = key.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
        if valid { return key }
        return String(
            decoding: key.utf8.map { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) ? $0 : 0x5F },
            as: UTF8.self)
    }
}
