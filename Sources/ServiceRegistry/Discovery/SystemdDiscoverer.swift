import Foundation

/// Looks at the host once: which service units systemd has, their states and the ports they listen on.
/// It reads systemd and /proc only; merging into the store is `DiscoveryMerge`'s job.
public struct SystemdDiscoverer: Sendable {
    public let options: DiscoveryOptions
    let systemctl: Systemctl
    let portScanner: ListeningPortScanner

    public init(options: DiscoveryOptions, portScanner: ListeningPortScanner = ListeningPortScanner()) {
        self.options = options
        self.systemctl = Systemctl(options: options)
        self.portScanner = portScanner
    }

    /// Two systemctl calls (list-units, one batched show) and one pass over /proc.
    /// - Parameter knownUnits: units already in the store; asked about too, so that a unit systemd has unloaded
    ///   since (a stopped unit nothing references) shows as inactive and a deleted one as not found.
    public func scan(knownUnits: [String] = []) async throws -> HostScan {
        let listed = try await systemctl.listUnits().map(\.name).filter(options.accepts(unit:))
        var names = listed
        var seen = Set(listed)
        for unit in knownUnits where options.accepts(unit: unit) && seen.insert(unit).inserted { names.append(unit) }
        guard !names.isEmpty else { return HostScan(units: []) }

        let shown = try await systemctl.show(names)
        // Blocks come back in the order asked; an alias answers with its unit's Id, so match by position.
        let pairs: [(asked: String, properties: UnitProperties)] = shown.count == names.count
            ? Array(zip(names, shown)) : shown.map { ($0.id, $0) }
        var present: [String: UnitProperties] = [:]
        var order: [String] = []
        var gone = Set<String>()
        for (asked, properties) in pairs {
            // Only an explicit `LoadState=not-found` makes a unit gone; a missing answer proves nothing.
            guard properties.exists else { gone.insert(asked); continue }
            if present[properties.id] == nil { order.append(properties.id) }
            present[properties.id] = properties
        }

        let targets = order.map { ListeningPortScanner.Target(unit: $0, controlGroup: present[$0]!.controlGroup, mainPID: present[$0]!.mainPID) }
        let scanner = portScanner
        let ports = await Self.offload { scanner.ports(for: targets) }
        let units = order.map { DiscoveredUnit(properties: present[$0]!, ports: ports[$0] ?? []) }
        return HostScan(units: units, goneUnits: gone.subtracting(present.keys))
    }

    /// Runs blocking file I/O on a dispatch thread rather than a cooperative one.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
