import RegistryModel

/// `service_registry_check_status{id,name,kind,status}` (SPEC §9): one-hot over passing, warning, critical,
/// unknown for each check of each service (a service has at most one check of each kind).
public struct CheckCollector: ServiceMetricsCollector {
    public static let checkStatus = MetricFamily(
        "service_registry_check_status", .gauge,
        help: "1 for the current status of each check of a service (kind http, tcp, ttl, systemd), 0 for the others.")

    public static let families = [checkStatus]

    public init() {}

    public func collect(_ services: ServiceScrape, into writer: inout ExpositionWriter) {
        writer.begin(Self.checkStatus)
        for item in services.items {
            for check in item.record.checks {
                let labels = LabelSet(bytes: item.identity.bytes + Array(",kind=\"\(check.kind.rawValue)\"".utf8))
                for status in CheckStatus.allCases {
                    writer.sample(labels, ("status", status.rawValue), value: check.status == status ? 1 : 0)
                }
            }
        }
    }
}
