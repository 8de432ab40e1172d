import RegistryModel

/// One row of `systemctl list-units`: what systemd lists, before `show` adds the details.
public struct ListedUnit: Sendable, Equatable {
    public var name: String
    public var loadState: String
    public var activeState: String
    public var subState: String
    public var description: String

    public init(name: String, loadState: String, activeState: String, subState: String, description: String) {
        self.name = name
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.description = description
    }
}

/// The properties one `systemctl show` block gives for a unit.
public struct UnitProperties: Sendable, Equatable {
    public var id: String
    public var description: String?
    public var loadState: String
    public var activeState: String
    public var subState: String
    /// 0 when the unit has no main process.
    public var mainPID: Int
    /// The unit's cgroup path relative to the cgroup root; nil when it has none (not running).
    public var controlGroup: String?
    public var restarts: Int?

    public init(
        id: String, description: String? = nil, loadState: String = "loaded", activeState: String, subState: String,
        mainPID: Int = 0, controlGroup: String? = nil, restarts: Int? = nil
    ) {
        self.id = id
        self.description = description
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.mainPID = mainPID
        self.controlGroup = controlGroup
        self.restarts = restarts
    }

    /// systemd answers `show` for a unit it does not know with `LoadState=not-found`.
    public var exists: Bool { loadState != "not-found" }
}

/// A unit as a scan saw it: its properties and every TCP port its processes listen on.
public struct DiscoveredUnit: Sendable, Equatable {
    public var properties: UnitProperties
    /// Sorted, without duplicates.
    public var ports: [Int]

    public init(properties: UnitProperties, ports: [Int]) {
        self.properties = properties
        self.ports = ports
    }

    public var name: String { properties.id }

    /// SPEC §4 through `SystemdActiveState`, the mapping the metrics use too.
    public var status: ServiceStatus { ServiceStatus(systemdActiveState: properties.activeState) }

    /// The lowest listening port in the web range, nil when none is.
    public func webPort(in range: PortRange) -> Int? { ports.first(where: range.contains) }

    /// Description worth showing: systemd reports the unit name itself when a unit has no `Description=`.
    public var displayDescription: String? {
        guard let text = properties.description, !text.isEmpty, text != properties.id else { return nil }
        return text
    }
}

/// The outcome of looking at the host: units present, and the queried units systemd no longer knows.
public struct HostScan: Sendable, Equatable {
    public var units: [DiscoveredUnit]
    /// Units asked about (listed earlier or recorded in the store) that systemd reports as not found.
    public var goneUnits: Set<String>

    public init(units: [DiscoveredUnit], goneUnits: Set<String> = []) {
        self.units = units
        self.goneUnits = goneUnits
    }
}
