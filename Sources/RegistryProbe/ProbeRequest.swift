import Foundation
import RegistryModel

/// One probe to run: what the scheduler or `checkNow` hands to the engine.
struct ProbeRequest: Sendable, Equatable {
    package var url: String { didSet { target = Target(url) } }
    package var timeoutSeconds: Double
    package var followRedirects: Bool
    /// Extra CA bundle trusted for HTTPS (`--probe-ca-file`).
    package var caFile: String?
    /// `--probe-allow-link-local`: otherwise a connection to 169.254.0.0/16 or fe80::/10 is refused before it is opened.
    package var allowLinkLocal = false
    /// libcurl `CURLOPT_RESOLVE` entries (`host:port:address`): tests make a name resolve to an address without DNS.
    var resolveOverrides: [String] = []

    /// What the URL means to libcurl, worked out once per request rather than at every probe: parsing a
    /// `tcp://` target with URLComponents (IDNA included) was the largest cost of preparing a TCP check.
    package struct Target: Sendable, Equatable {
        var isHTTPS: Bool
        var isTCP: Bool
        /// The URL handed to libcurl: for a tcp check the `http://HOST:PORT/` it connects to (SPEC §9).
        var curlURL: String

        package init(_ url: String) {
            isHTTPS = url.utf8.count >= 6 && url.prefix(6).lowercased() == "https:"
            isTCP = TCPCheck.isTCPTarget(url)
            curlURL = isTCP ? TCPCheck.connectURL(url) ?? url : url
        }
    }

    private(set) var target: Target

    var isHTTPS: Bool { target.isHTTPS }
    var isTCP: Bool { target.isTCP }

    /// The probe of `record` with the global defaults, or nil when it has nothing to probe (SPEC §3).
    init?(record: ServiceRecord, settings: ProbeSettings) {
        guard let target = record.probeTarget, !target.isEmpty else { return nil }
        self.init(
            url: target, timeoutSeconds: settings.defaults.timeout(for: record),
            followRedirects: record.followRedirects, caFile: settings.caFile)
        allowLinkLocal = settings.allowLinkLocal
        resolveOverrides = settings.resolveOverrides
    }

    init(url: String, timeoutSeconds: Double, followRedirects: Bool = false, caFile: String? = nil) {
        self.url = url
        target = Target(url)
        self.timeoutSeconds = timeoutSeconds
        self.followRedirects = followRedirects
        self.caFile = caFile
    }
}

/// The prober's global settings (SPEC §7 `--probe-*`).
public struct ProbeSettings: Sendable {
    /// Interval and timeout of services without their own.
    public var defaults: ProbeDefaults
    public var interval: Double { defaults.intervalSeconds }
    public var timeout: Double { defaults.timeoutSeconds }
    public var concurrency: Int
    public var caFile: String?
    /// `--probe-allow-link-local` (SPEC §11).
    public var allowLinkLocal = false
    /// Test hook: libcurl `CURLOPT_RESOLVE` entries for every probe.
    var resolveOverrides: [String] = []
    /// How often results pending in memory are written to LMDB, in one transaction.
    public var persistInterval: Double = 1.0
    /// Flap damping defaults (SPEC §9, `--probe-rise`, `--probe-fall`); records may override them.
    public var rise = 1
    public var fall = 1

    public init(interval: Double = 60, timeout: Double = 2.0, concurrency: Int = 1000, caFile: String? = nil) {
        self.defaults = ProbeDefaults(intervalSeconds: interval, timeoutSeconds: timeout)
        self.concurrency = concurrency
        self.caFile = caFile
    }

}
