import RegistryModel

/// The systemd state of each service that has a unit, one-hot over the five states of SPEC §5.
public struct SystemdCollector: ServiceMetricsCollector {
    public static let unitState = MetricFamily(
        "service_registry_systemd_unit_state", .gauge,
        help: "1 for the systemd ActiveState of the service's unit, 0 for the others (active, activating, deactivating, inactive, failed).")

    public static let families = [unitState]
    public static let states = SystemdActiveState.allCases.map(\.rawValue)

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

    /// systemd's ActiveState onto the five exported states, through `SystemdActiveState`: the mapping
    /// discovery uses for `status`, so `state="active"` is 1 exactly when the record is `active`
    /// (`reloading` counts as active; `refreshing`, `maintenance`, `not-found` as inactive).
    static func oneHotState(_ activeState: String) -> String {
        SystemdActiveState(systemd: activeState).rawValue
    }
}
