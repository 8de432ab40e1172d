/// The systemd state of each service that has a unit, one-hot over the five states of SPEC §5.
public struct SystemdCollector: ServiceMetricsCollector {
    public static let unitState = MetricFamily("service_registry_systemd_unit_state", .gauge,
        help: "1 for the systemd ActiveState of the service's unit, 0 for the others (active, activating, deactivating, inactive, failed).")

    public static let families = [unitState]
    public static let states = ["active", "activating", "deactivating", "inactive", "failed"]

    public init() {}

    public func collect(_ services: ServiceScrape, into writer: inout ExpositionWriter) {
        // `--metrics-detail basic` leaves the one-hot states out; `service_registry_service_info{status}` still says `failed`.
        writer.begin(Self.unitState)
        for item in services.items where services.scrape.detail == .full {
            guard item.record.unit != nil, let activeState = item.record.activeState else { continue }
            let state = Self.oneHotState(activeState)
            for candidate in Self.states {
                writer.sample(item.identity, ("state", candidate), value: candidate == state ? 1 : 0)
            }
        }
    }

    /// Maps systemd's ActiveState onto the five exported states: `reloading`/`refreshing` count as
    /// `active` (as the status mapping of SPEC §4 does), anything else unknown (`not-found`,
    /// `maintenance`) as `inactive`, so exactly one state is 1.
    static func oneHotState(_ activeState: String) -> String {
        switch activeState {
        case "active", "activating", "deactivating", "inactive", "failed": activeState
        case "reloading", "refreshing": "active"
        default: "inactive"
        }
    }
}
