/// systemd's `ActiveState` as the registry reads it: the one mapping behind both a discovered record's
/// `status` (SPEC §4) and the one-hot `service_registry_systemd_unit_state{state}` (SPEC §5), so the two
/// never disagree.
///
/// `reloading` is a running unit re-reading its configuration: `active`. Every other state systemd may
/// report (`refreshing`, `maintenance`, `not-found`, whatever a newer systemd adds) is `inactive`, as SPEC §4
/// says ("everything else → inactive"). `refreshing` is the borderline case: systemd after 252 reports it
/// briefly while it refreshes what a running unit has mounted; SPEC §4 names only `active` and `reloading`,
/// so it is `inactive` for the short time it lasts, in the record and in the metric alike.
public enum SystemdActiveState: String, Sendable, CaseIterable {
    case active, activating, deactivating, inactive, failed

    public init(systemd state: String) {
        switch state {
        case "active", "reloading": self = .active
        case "activating": self = .activating
        case "deactivating": self = .deactivating
        case "failed": self = .failed
        default: self = .inactive
        }
    }

    /// The record's status: `active` → active, `failed` → failed, the rest → inactive.
    public var status: ServiceStatus {
        switch self {
        case .active: .active
        case .failed: .failed
        case .activating, .deactivating, .inactive: .inactive
        }
    }
}

extension ServiceStatus {
    /// SPEC §4: `active`, `reloading` → active; `failed` → failed; everything else → inactive.
    public init(systemdActiveState state: String) {
        self = SystemdActiveState(systemd: state).status
    }
}
