import Foundation
import RegistrySupport

/// Looks at the host once: which service units systemd has, their states and the ports they listen on.
/// It reads systemd and /proc only; merging into the store is `DiscoveryMerge`'s job.
public struct SystemdDiscoverer: Sendable {
    public let options: DiscoveryOptions
    package let systemctl: Systemctl
    let portScanner: ListeningPortScanner
    package let cache: UnitPropertiesCache

    /// - Parameter cacheRefreshInterval: a long-lived discoverer (the daemon's) asks `show` again about unchanged
    ///   units only every this many scans; 1 asks about every unit on every scan.
    public init(options: DiscoveryOptions, portScanner: ListeningPortScanner = ListeningPortScanner(), cacheRefreshInterval: Int = 10) {
        self.options = options
        self.systemctl = Systemctl(options: options)
        self.portScanner = portScanner
        self.cache = UnitPropertiesCache(refreshInterval: cacheRefreshInterval)
    }

    /// `list-units`, one batched `show` (for the units that are new or changed, see `UnitPropertiesCache`)
    /// and one pass over /proc.
    /// - Parameter knownUnits: units already in the store; asked about too when systemd does not list them, so
    ///   that a unit systemd has unloaded since (a stopped unit nothing references) shows as inactive and a
    ///   deleted one as not found.
    public func scan(knownUnits: [String] = []) async throws -> HostScan {
        let accepted = try await systemctl.listUnits().filter { options.accepts(unit: $0.name) }
        // Listed only because something references them: no need to ask `show` to learn they do not exist.
        let listed = accepted.filter { $0.loadState != "not-found" }
        let listedNames = Set(accepted.map(\.name))
        let unlisted = Array(Set(knownUnits).subtracting(listedNames)).filter(options.accepts(unit:)).sorted()
        let (cached, ask) = cache.plan(listed)
        let names = ask + unlisted
        let shown = names.isEmpty ? [] : try await systemctl.show(names)

        // Blocks come back in the order asked; an alias answers with its unit's Id, so match by position.
        let pairs: [(asked: String, properties: UnitProperties)] =
            shown.count == names.count
            ? Array(zip(names, shown)) : shown.map { ($0.id, $0) }
        var answers: [String: UnitProperties] = [:]
        var gone = Set(accepted.filter { $0.loadState == "not-found" }.map(\.name))
        for (asked, properties) in pairs {
            // Only an explicit `LoadState=not-found` makes a unit gone; a missing answer proves nothing.
            if properties.exists { answers[asked] = properties } else { gone.insert(asked) }
        }
        cache.update(listed: listed, shown: answers)

        var order: [String] = []
        var present: [String: UnitProperties] = [:]
        func add(_ properties: UnitProperties) {
            guard present[properties.id] == nil else { return }
            order.append(properties.id)
            present[properties.id] = properties
        }
        for unit in listed {
            if let properties = cached[unit.name] ?? answers[unit.name]?.updated(from: unit) { add(properties) }
        }
        for name in unlisted { if let properties = answers[name] { add(properties) } }

        let targets = order.map { ListeningPortScanner.Target(unit: $0, controlGroup: present[$0]!.controlGroup, mainPID: present[$0]!.mainPID) }
        let scanner = portScanner
        let ports = await Self.offload { scanner.ports(for: targets) }
        let units = order.map { DiscoveredUnit(properties: present[$0]!, ports: ports[$0] ?? []) }
        return HostScan(units: units, goneUnits: gone.subtracting(present.keys))
    }

    /// Runs blocking file I/O on a dispatch thread rather than a cooperative one.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            BlockingWork.queue.async { continuation.resume(returning: work()) }
        }
    }
}
