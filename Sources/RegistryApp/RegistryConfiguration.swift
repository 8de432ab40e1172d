import Foundation
import Logging
import RegistryExposition
import RegistryHTTP
import RegistryModel
import RegistryTLS

/// Everything `serve` can be told (SPEC §7). Defaults work with no flags.
public struct RegistryConfiguration: Sendable {
    // Defaults come from the option table (`ConfigurationOptions`), like `serve`'s help and parsing.
    public var host = ConfigurationOptions.host.defaultValue
    public var port = ConfigurationOptions.port.defaultValue
    public var dataDirectory = ConfigurationOptions.dataDirectory.defaultValue
    public var logLevel: Logger.Level = ConfigurationOptions.logLevel.defaultValue
    public var apiToken = ConfigurationOptions.apiToken.defaultValue
    public var readToken = ConfigurationOptions.readToken.defaultValue
    /// `--allowed-host`: accepted `Host` names (port ignored); empty accepts any (SPEC §11).
    public var allowedHosts = ConfigurationOptions.allowedHost.defaultValue
    /// LMDB map size: the most the database may grow to.
    public var mapSizeBytes = ConfigurationOptions.mapSizeMB.defaultValue << 20
    public var probeInterval = ConfigurationOptions.probeInterval.defaultValue
    public var probeTimeout = ConfigurationOptions.probeTimeout.defaultValue
    public var probeConcurrency = ConfigurationOptions.probeConcurrency.defaultValue
    /// CA bundle trusted by HTTPS probes in addition to the system's.
    public var probeCAFile = ConfigurationOptions.probeCAFile.defaultValue
    /// `--probe-allow-link-local`: probe 169.254.0.0/16 and fe80::/10 (cloud metadata) too; refused by default.
    public var probeAllowLinkLocal = ConfigurationOptions.probeAllowLinkLocal.defaultValue
    /// Flap damping (SPEC §9): consecutive passing / failing results needed to change health.
    public var probeRise = ConfigurationOptions.probeRise.defaultValue
    public var probeFall = ConfigurationOptions.probeFall.defaultValue
    /// 0 disables the periodic scan (scan on demand only).
    public var scanInterval = ConfigurationOptions.scanInterval.defaultValue
    public var systemctlPath = ConfigurationOptions.systemctl.defaultValue
    public var systemdScope = ConfigurationOptions.systemdScope.defaultValue
    public var portRange = ConfigurationOptions.portRange.defaultValue
    public var includeUnits = ConfigurationOptions.includeUnit.defaultValue
    public var excludeUnits = ConfigurationOptions.excludeUnit.defaultValue
    /// Header and idle timeouts and the connection limit (SPEC §12).
    public var connections: ConnectionLimits = {
        var limits = ConnectionLimits()
        limits.headerTimeout = ConfigurationOptions.duration(ConfigurationOptions.headerTimeout.defaultValue)
        limits.idleTimeout = ConfigurationOptions.duration(ConfigurationOptions.idleTimeout.defaultValue)
        limits.maxConnections = ConfigurationOptions.maxConnections.defaultValue
        return limits
    }()
    /// `--max-event-streams`: open `GET /api/events` streams are busy connections, never closed to admit others;
    /// this caps them (and at most half of the connections may be streams: `effectiveMaxEventStreams`).
    public var maxEventStreams = ConfigurationOptions.maxEventStreams.defaultValue
    /// `--max-large-responses-mb`: megabytes of large (1 MiB or more) response bodies (JSON, HTML, `/metrics`) held for clients at once
    /// (`LargeResponseBudget`).
    public var maxLargeResponsesMB = ConfigurationOptions.maxLargeResponsesMB.defaultValue
    /// HTTPS on the same port (SPEC §11); nil = plain HTTP.
    public var tls: TLSSettings?
    /// Which per-service series `/metrics` exports (docs/fleet.md).
    public var metricsDetail = ConfigurationOptions.metricsDetail.defaultValue

    public init() {}

    /// `maxEventStreams`, and never more than half of the connections the daemon admits: the other half stays for
    /// everything else even when every stream is taken.
    func effectiveMaxEventStreams(maxConnections: Int) -> Int {
        max(1, min(maxEventStreams, maxConnections / 2))
    }

    /// Whether bearer tokens would cross the network readable by anyone on the path: a token is set, TLS is
    /// not, and the listen address is not loopback-only (SPEC §11: start-up warns once).
    public var tokensTravelInClearText: Bool {
        (apiToken != nil || readToken != nil) && tls == nil && !Self.isLoopback(host: host)
    }

    /// `127.0.0.0/8`, `::1` and `localhost`: addresses no other host can reach.
    public static func isLoopback(host: String) -> Bool {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if name.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }
}
