import RegistryModel

/// What a scan found (SPEC §4): records created, records changed, and every unit's record.
public struct ScanReport: Sendable {
    public var discovered: Int
    public var updated: Int
    public var services: [ServiceRecord]

    public init(discovered: Int, updated: Int, services: [ServiceRecord]) {
        self.discovered = discovered
        self.updated = updated
        self.services = services
    }
}

/// Runs a discovery scan now; concurrent callers share the running scan.
public protocol ServiceScanner: Sendable {
    func scanNow() async throws -> ScanReport
}

/// Discovery could not reach systemd: answered with 503 and the reason.
public struct DiscoveryUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
