import Foundation
import Logging

/// Everything `serve` can be told (SPEC §7). Defaults work with no flags.
public struct RegistryConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 8000
    public var dataDirectory = "./data"
    public var logLevel: Logger.Level = .info
    public var apiToken: String?
    public var readToken: String?
    /// `--allowed-host`: accepted `Host` names (port ignored); empty accepts any (SPEC §11).
    public var allowedHosts: [String] = []
    /// LMDB map size: the most the database may grow to.
    public var mapSizeBytes = 1 << 30
    public var probeInterval = 60.0
    public var probeTimeout = 2.0
    public var probeConcurrency = 1000
    /// CA bundle trusted by HTTPS probes in addition to the system's.
    public var probeCAFile: String?
    /// `--probe-allow-link-local`: probe 169.254.0.0/16 and fe80::/10 (cloud metadata) too; refused by default.
    public var probeAllowLinkLocal = false
    /// Flap damping (SPEC §9): consecutive passing / failing results needed to change health.
    public var probeRise = 1
    public var probeFall = 1
    /// 0 disables the periodic scan (scan on demand only).
    public var scanInterval = 30.0
    public var systemctlPath = "systemctl"
    public var systemdScope = SystemdScope.system
    public var portRange = PortRange.defaultWeb
    public var includeUnits: [String] = []
    public var excludeUnits: [String] = []
    /// Header and idle timeouts and the connection limit (SPEC §12).
    public var connections = ConnectionLimits()
    /// HTTPS on the same port (SPEC §11); nil = plain HTTP.
    public var tls: TLSSettings?
    /// Which per-service series `/metrics` exports (docs/fleet.md).
    public var metricsDetail = MetricsDetail.full

    public init() {}

    /// Whether bearer tokens would cross the network readable by anyone on the path: a token is set, TLS is
    /// not, and the listen address is not loopback-only (SPEC §11: start-up warns once).
    public var tokensTravelInClearText: Bool {
        (apiToken != nil || readToken != nil) && tls == nil && !Self.isLoopback(host: host)
    }

    /// `127.0.0.0/8`, `::1` and `localhost`: addresses no other host can reach.
    public static func isLoopback(host: String) -> Bool {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if name.lowercased() == "localhost" { return true }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }
}

/// `full`: every per-service series of docs/metrics.md. `basic`: without the probe phase series and the
/// systemd unit-state series (10 fewer series per probed systemd service), for large fleets.
public enum MetricsDetail: String, Sendable, CaseIterable {
    case full, basic
}

public enum SystemdScope: String, Sendable, CaseIterable {
    case system, user
}

/// A set of TCP ports given as `80,443,3000-9999`.
public struct PortRange: Sendable, Equatable, CustomStringConvertible {
    public var ranges: [ClosedRange<Int>]

    public static let defaultWeb = PortRange(ranges: [80...80, 443...443, 3000...9999])

    public init(ranges: [ClosedRange<Int>]) { self.ranges = ranges }

    public init?(parsing text: String) {
        var ranges: [ClosedRange<Int>] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: guard let p = bounds[0], (1...65535).contains(p) else { return nil }; ranges.append(p...p)
            case 2: guard let a = bounds[0], let b = bounds[1], 1 <= a, a <= b, b <= 65535 else { return nil }; ranges.append(a...b)
            default: return nil
            }
        }
        if ranges.isEmpty { return nil }
        self.ranges = ranges
    }

    public func contains(_ port: Int) -> Bool { ranges.contains { $0.contains(port) } }

    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }
}
