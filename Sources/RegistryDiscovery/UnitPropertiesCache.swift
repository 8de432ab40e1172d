import Synchronization

/// `show` answers remembered between scans, so that a steady-state scan asks `show` only about units that are
/// new or whose state changed since the last scan.
///
/// Why: `systemctl show` costs about 0.5 ms of systemctl CPU per unit whatever `-p` asks (it fetches every
/// property over D-Bus), which alone would exceed the 100 ms budget for 200 units; `list-units` answers for all
/// units in one message. What the cache keeps is stable while a unit's state is: `ControlGroup` is a path fixed
/// by the unit's slice, and ports are read from that cgroup's current processes on every scan. Every
/// `refreshInterval` scans everything is asked again, bounding what a missed restart could leave stale.
package final class UnitPropertiesCache: Sendable {
    package struct Entry: Sendable {
        package var properties: UnitProperties
        /// `load/active/sub` from `list-units` when `properties` was fetched.
        var listedState: String
    }

    let refreshInterval: Int
    private let state = Mutex<(entries: [String: Entry], scans: Int)>(([:], 0))

    init(refreshInterval: Int = 10) { self.refreshInterval = refreshInterval }

    static func stateKey(_ unit: ListedUnit) -> String { "\(unit.loadState)/\(unit.activeState)/\(unit.subState)" }

    /// Splits the listed units into those answered from the cache (with the listing's fresh states and
    /// description) and those `show` must be asked about.
    func plan(_ listed: [ListedUnit]) -> (cached: [String: UnitProperties], ask: [String]) {
        state.withLock { state in
            state.scans += 1
            let refresh = state.scans % refreshInterval == 1 || refreshInterval <= 1
            var cached: [String: UnitProperties] = [:]
            var ask: [String] = []
            for unit in listed {
                if !refresh, let entry = state.entries[unit.name], entry.listedState == Self.stateKey(unit) {
                    cached[unit.name] = entry.properties.updated(from: unit)
                } else {
                    ask.append(unit.name)
                }
            }
            return (cached, ask)
        }
    }

    /// Keeps the fresh answers for listed units and forgets units no longer listed.
    package func update(listed: [ListedUnit], shown: [String: UnitProperties]) {
        state.withLock { state in
            var entries: [String: Entry] = [:]
            for unit in listed {
                if let properties = shown[unit.name] {
                    entries[unit.name] = Entry(properties: properties, listedState: Self.stateKey(unit))
                } else if let entry = state.entries[unit.name] {
                    entries[unit.name] = entry
                }
            }
            state.entries = entries
        }
    }
}

extension UnitProperties {
    /// States and description as `list-units` gave them: for a listed unit the listing is the one source of
    /// those, `show` adds the process details.
    package func updated(from unit: ListedUnit) -> UnitProperties {
        var properties = self
        properties.description = unit.description
        properties.loadState = unit.loadState
        properties.activeState = unit.activeState
        properties.subState = unit.subState
        return properties
    }
}
