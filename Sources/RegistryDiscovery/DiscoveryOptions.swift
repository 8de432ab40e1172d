import Foundation
import RegistryModel

#if canImport(Glibc)
    import Glibc
#endif

/// What discovery looks at: which systemctl and manager, which units, which ports count as web ports.
public struct DiscoveryOptions: Sendable {
    public var systemctlPath: String
    public var scope: SystemdScope
    public var portRange: PortRange
    public var includeUnits: [String]
    public var excludeUnits: [String]
    /// Deadline of every systemctl call.
    public var commandTimeout: Double = 5
    /// Variables added to the daemon's environment for systemctl (tests point `XDG_RUNTIME_DIR` at their manager).
    public var environment: [String: String] = [:]

    public init(
        systemctlPath: String = "systemctl", scope: SystemdScope = .system, portRange: PortRange = .defaultWeb,
        includeUnits: [String] = [], excludeUnits: [String] = []
    ) {
        self.systemctlPath = systemctlPath
        self.scope = scope
        self.portRange = portRange
        self.includeUnits = includeUnits
        self.excludeUnits = excludeUnits
    }

    /// SPEC §4: only `.service` units, matching an include glob (when any is given) and no exclude glob.
    public func accepts(unit: String) -> Bool {
        guard unit.hasSuffix(".service") else { return false }
        if !includeUnits.isEmpty && !includeUnits.contains(where: { Self.glob($0, matches: unit) }) { return false }
        return !excludeUnits.contains { Self.glob($0, matches: unit) }
    }

    /// Shell-style glob (`*`, `?`, `[...]`), as systemctl's own patterns.
    static func glob(_ pattern: String, matches name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }
}
