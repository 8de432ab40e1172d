import Foundation
import RegistryModel

/// One probe to run: what the scheduler or `checkNow` hands to the engine.
///
/// The schedule holds one per probed service (100,000 in a large registry), so the settings every probe of the
/// daemon shares live in one `Shared` instance that all requests reference: 51 bytes a request instead of 88.
struct ProbeRequest: Sendable, Equatable {
    package var url: String { didSet { target = Target(url) } }
    package var timeoutSeconds: Double
    package var shared: Shared
    private(set) var target: Target
    package var followRedirects: Bool

    /// The daemon-wide part of a request (`ProbeSettings.shared`); replaced, never changed, when a setting changes.
    package final class Shared: Sendable, Equatable {
        /// Extra CA bundle trusted for HTTPS (`--probe-ca-file`).
        let caFile: String?
        /// `--probe-allow-link-local`: otherwise a connection to 169.254.0.0/16 or fe80::/10 is refused before it is opened.
        let allowLinkLocal: Bool
        /// libcurl `CURLOPT_RESOLVE` entries (`host:port:address`): tests make a name resolve to an address without DNS.
        let resolveOverrides: [String]

        init(caFile: String? = nil, allowLinkLocal: Bool = false, resolveOverrides: [String] = []) {
            self.caFile = caFile
            self.allowLinkLocal = allowLinkLocal
            self.resolveOverrides = resolveOverrides
        }

        package static func == (a: Shared, b: Shared) -> Bool {
            a === b || (a.caFile == b.caFile && a.allowLinkLocal == b.allowLinkLocal && a.resolveOverrides == b.resolveOverrides)
        }
    }

    /// Set through `ProbeSettings`, the one place these three are written.
    package var caFile: String? { shared.caFile }
    package var allowLinkLocal: Bool { shared.allowLinkLocal }
    var resolveOverrides: [String] { shared.resolveOverrides }

    /// What the URL means to libcurl, worked out once per request rather than at every probe: parsing a
    /// `tcp://` target with URLComponents (IDNA included) was the largest cost of preparing a TCP check.
    package struct Target: Sendable, Equatable {
        /// The URL handed to libcurl: for a tcp check the `http://HOST:PORT/` it connects to (SPEC §9).
        var curlURL: String
        var isHTTPS: Bool
        var isTCP: Bool
        /// The host is under `.invalid` (RFC 6761): the probe fails as a DNS failure without a transfer.
        var neverResolves: Bool

        package init(_ url: String) {
            isHTTPS = url.utf8.count >= 6 && url.prefix(6).lowercased() == "https:"
            isTCP = TCPCheck.isTCPTarget(url)
            curlURL = isTCP ? TCPCheck.connectURL(url) ?? url : url
            neverResolves = ReservedNames.neverResolves(url: curlURL)
        }
    }

    var isHTTPS: Bool { target.isHTTPS }
    var isTCP: Bool { target.isTCP }

    /// The probe of `record` with the global defaults, or nil when it has nothing to probe (SPEC §3).
    init?(record: ServiceRecord, settings: ProbeSettings) {
        guard let target = record.probeTarget, !target.isEmpty else { return nil }
        self.init(url: target, timeoutSeconds: settings.defaults.timeout(for: record), followRedirects: record.followRedirects)
        shared = settings.shared
    }

    init(url: String, timeoutSeconds: Double, followRedirects: Bool = false, caFile: String? = nil) {
        self.url = url
        target = Target(url)
        self.timeoutSeconds = timeoutSeconds
        self.followRedirects = followRedirects
        shared = caFile == nil ? ProbeSettings.noSharedSettings : Shared(caFile: caFile)
    }
}

/// The prober's global settings (SPEC §7 `--probe-*`).
public struct ProbeSettings: Sendable {
    /// Interval and timeout of services without their own.
    public var defaults: ProbeDefaults
    public var interval: Double { defaults.intervalSeconds }
    public var timeout: Double { defaults.timeoutSeconds }
    public var concurrency: Int
    /// What every request shares (`ProbeRequest.Shared`): one instance, replaced when one of the three below is set.
    private(set) var shared = Self.noSharedSettings
    static let noSharedSettings = ProbeRequest.Shared()
    public var caFile: String? {
        get { shared.caFile }
        set { shared = ProbeRequest.Shared(caFile: newValue, allowLinkLocal: shared.allowLinkLocal, resolveOverrides: shared.resolveOverrides) }
    }
    /// `--probe-allow-link-local` (SPEC §11).
    public var allowLinkLocal: Bool {
        get { shared.allowLinkLocal }
        set { shared = ProbeRequest.Shared(caFile: shared.caFile, allowLinkLocal: newValue, resolveOverrides: shared.resolveOverrides) }
    }
    /// Test hook: libcurl `CURLOPT_RESOLVE` entries for every probe.
    var resolveOverrides: [String] {
        get { shared.resolveOverrides }
        set { shared = ProbeRequest.Shared(caFile: shared.caFile, allowLinkLocal: shared.allowLinkLocal, resolveOverrides: newValue) }
    }
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
