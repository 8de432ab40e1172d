import Foundation
import Logging
import RegistryExposition
import RegistryHTTP
import RegistryModel

/// A bad value of a configuration option: one line for stderr (exit 2).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One option of `serve` (and of `discover`, which shares the discovery ones): its flag name, default, environment
/// variables, help text and bounds, in one place. `ServeCommand` declares its flags with `help`, `RegistryConfiguration`
/// takes its defaults from `defaultValue`, and `resolve` applies the one precedence rule: a flag wins over the first
/// non-empty environment variable, which wins over the default; a value out of bounds is refused naming the flag.
public struct ConfigurationOption<Value: Sendable>: Sendable {
    /// The long flag without its dashes, e.g. `probe-interval`.
    public let name: String
    public let defaultValue: Value
    /// What `--help` shows (it quotes the default and the bounds, both from this table).
    public let help: String
    /// `SERVICE_REGISTRY_<NAME>`, then any older spellings (`--api-token` also reads `SERVICE_REGISTRY_TOKEN`).
    public let environment: [String]
    /// Parses a value given as text (an environment variable; the flag too for options whose flag is a string).
    package let parse: @Sendable (String) -> Value?
    /// The message when `parse` fails, given where the text came from (`--flag` or `VARIABLE=`) and the text.
    let unparsable: @Sendable (_ source: String, _ text: String) -> String
    /// The bounds: nil when `value` is acceptable, else the rule it breaks ("must be between 1 and 10").
    package let check: @Sendable (Value) -> String?

    package init(
        _ name: String, default defaultValue: Value, alsoReads extraEnvironment: [String] = [],
        parse: @escaping @Sendable (String) -> Value?,
        unparsable: @escaping @Sendable (String, String) -> String,
        check: @escaping @Sendable (Value) -> String? = { _ in nil },
        help: (Value) -> String
    ) {
        self.name = name
        self.defaultValue = defaultValue
        self.environment = ["SERVICE_REGISTRY_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] + extraEnvironment
        self.parse = parse
        self.unparsable = unparsable
        self.check = check
        self.help = help(defaultValue)
    }

    /// The first non-empty environment variable of this option.
    public func environmentValue(_ environment: [String: String]) -> (variable: String, text: String)? {
        for variable in self.environment {
            if let text = environment[variable], !text.isEmpty { return (variable, text) }
        }
        return nil
    }

    /// For options whose flag is already typed (numbers): the flag, else the environment, else the default.
    public func resolve(flag: Value?, environment: [String: String]) throws(ConfigurationError) -> Value {
        let value: Value
        if let flag {
            value = flag
        } else if let (variable, text) = environmentValue(environment) {
            guard let parsed = parse(text) else { throw ConfigurationError(unparsable("\(variable)=", text)) }
            value = parsed
        } else {
            return defaultValue
        }
        if let rule = check(value) { throw ConfigurationError("--\(name) \(value): \(rule)") }
        return value
    }

    /// For options whose flag is text parsed here (a level, a scope, a port range).
    public func resolve(text flag: String?, environment: [String: String]) throws(ConfigurationError) -> Value {
        guard let text = flag ?? environmentValue(environment)?.text else { return defaultValue }
        guard let value = parse(text) else { throw ConfigurationError(unparsable("--\(name) ", text)) }
        if let rule = check(value) { throw ConfigurationError("--\(name) \(value): \(rule)") }
        return value
    }
}

extension ConfigurationOption where Value == String {
    /// A free-text option: any non-empty text.
    package static func text(_ name: String, default defaultValue: String, alsoReads extra: [String] = [], help: (String) -> String) -> Self {
        Self(name, default: defaultValue, alsoReads: extra, parse: { $0 }, unparsable: { _, _ in "" }, help: help)
    }
}

extension ConfigurationOption where Value: LosslessStringConvertible & Comparable {
    /// A number within `bounds` (or 0, which means "off", when `zeroMeansOff`).
    package static func number(
        _ name: String, default defaultValue: Value, bounds: ClosedRange<Value>, zeroMeansOff: Bool = false,
        rule: String? = nil, help: (Value) -> String
    ) -> Self where Value: ExpressibleByIntegerLiteral {
        let text = rule ?? "must be between \(bounds.lowerBound) and \(bounds.upperBound)"
        return Self(
            name, default: defaultValue, parse: { Value($0) }, unparsable: { source, text in "\(source)\(text) is not a number" },
            check: { value in (bounds.contains(value) || (zeroMeansOff && value == 0)) ? nil : text }, help: help)
    }
}

extension ConfigurationOption where Value: RawRepresentable<String> & CaseIterable {
    /// One of the enumeration's raw values.
    package static func choice(_ name: String, default defaultValue: Value, help: (Value) -> String) -> Self {
        let names = Value.allCases.map(\.rawValue)
        let rule = names.count == 2 ? "\(names[0]) or \(names[1])" : "one of \(names.joined(separator: ", "))"
        return Self(
            name, default: defaultValue, parse: { Value(rawValue: $0) }, unparsable: { source, text in "\(source)\(text): must be \(rule)" },
            help: help)
    }
}

/// The table of options (README "Configuration" documents the same; `ConfigurationOptionsTests` checks `--help`).
public enum ConfigurationOptions {
    public static let host = ConfigurationOption<String>.text("host", default: "0.0.0.0") { "Listen address (default \($0))." }
    public static let port = ConfigurationOption<Int>.number("port", default: 8000, bounds: 0...65535) { "Listen port (default \($0))." }
    public static let dataDirectory = ConfigurationOption<String>.text("data-dir", default: "./data") {
        "LMDB data directory, created if missing (default \($0))."
    }
    public static let logLevel = ConfigurationOption<Logger.Level>(
        "log-level", default: .info, parse: { Logger.Level(rawValue: $0.lowercased()) },
        unparsable: { _, text in "--log-level \(text): must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))" }
    ) { "trace, debug, info, notice, warning, error or critical (default \($0.rawValue))." }
    public static let apiToken = ConfigurationOption<String?>(
        "api-token", default: nil, alsoReads: ["SERVICE_REGISTRY_TOKEN"], parse: { $0 }, unparsable: { _, _ in "" }
    ) { _ in "Bearer token required on every state-changing request (SERVICE_REGISTRY_TOKEN also works)." }
    public static let readToken = ConfigurationOption<String?>("read-token", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) { _ in
        "Bearer token required on reads too."
    }
    /// Repeatable; the environment variable takes a comma list.
    public static let allowedHost = ConfigurationOption<[String]>(
        "allowed-host", default: [], parse: { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }, unparsable: { _, _ in "" }
    ) { _ in "Accepted Host header name or address, without port (repeatable; default any). Others get 421." }
    public static let mapSizeMB = ConfigurationOption<Int>.number("map-size-mb", default: 1024, bounds: 1...(1 << 20)) {
        "Largest size the LMDB database may grow to, in MiB (default \($0))."
    }
    public static let probeInterval = ConfigurationOption<Double>.number(
        "probe-interval", default: 60, bounds: ProbeDefaults.intervalBounds, zeroMeansOff: true,
        rule:
            "must be 0 (background probing off) or between \(Int(ProbeDefaults.intervalBounds.lowerBound)) and \(Int(ProbeDefaults.intervalBounds.upperBound)) seconds"
    ) { "Seconds between probes of each service (default \(Int($0))); 0 turns background probing off (check-now still works)." }
    public static let probeTimeout = ConfigurationOption<Double>.number(
        "probe-timeout", default: 2.0, bounds: ProbeDefaults.timeoutBounds,
        rule: "must be between \(ProbeDefaults.timeoutBounds.lowerBound) and \(Int(ProbeDefaults.timeoutBounds.upperBound)) seconds"
    ) { "Seconds a probe may take in all, connect included (default \($0))." }
    public static let probeConcurrency = ConfigurationOption<Int>.number("probe-concurrency", default: 1000, bounds: 1...100_000) {
        "Most probes in flight at once (default \($0))."
    }
    public static let probeCAFile = ConfigurationOption<String?>("probe-ca-file", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) { _ in
        "PEM CA bundle that HTTPS probes trust besides the system's."
    }
    /// A flag: `1`, `true` or `yes` (any case) in the environment turn it on too.
    public static let probeAllowLinkLocal = ConfigurationOption<Bool>(
        "probe-allow-link-local", default: false, parse: { ["1", "true", "yes"].contains($0.lowercased()) }, unparsable: { _, _ in "" }
    ) { _ in "Allow probe targets in 169.254.0.0/16 and fe80::/10 (cloud metadata); refused by default." }
    static let riseFallBounds = 1...10
    public static let probeRise = ConfigurationOption<Int>.number("probe-rise", default: 1, bounds: riseFallBounds) {
        "Consecutive passing results needed to become healthy, \(riseFallBounds.lowerBound)-\(riseFallBounds.upperBound) (default \($0))."
    }
    public static let probeFall = ConfigurationOption<Int>.number("probe-fall", default: 1, bounds: riseFallBounds) {
        "Consecutive failing results needed to become unhealthy, \(riseFallBounds.lowerBound)-\(riseFallBounds.upperBound) (default \($0))."
    }
    public static let scanInterval = ConfigurationOption<Double>.number(
        "scan-interval", default: 30, bounds: 1...86_400, zeroMeansOff: true, rule: "must be 0 (off) or between 1 and 86400 seconds"
    ) { "Seconds between discovery scans; 0 disables the loop (default \(Int($0)))." }
    public static let systemctl = ConfigurationOption<String>.text("systemctl", default: "systemctl") { "Path of systemctl (default \($0))." }
    public static let systemdScope = ConfigurationOption<SystemdScope>.choice("systemd-scope", default: .system) {
        "\(SystemdScope.allCases.map(\.rawValue).joined(separator: " or ")) (default \($0.rawValue))."
    }
    public static let portRange = ConfigurationOption<PortRange>(
        "port-range", default: .defaultWeb, parse: { PortRange(parsing: $0) },
        unparsable: { _, text in "--port-range \(text): expected ports and ranges like \(PortRange.defaultWeb)" }
    ) { "Ports counted as web ports, e.g. \($0) (the default)." }
    /// Repeatable globs; the environment variable takes a comma list.
    public static let includeUnit = ConfigurationOption<[String]>(
        "include-unit", default: [], parse: { $0.split(separator: ",").map(String.init) }, unparsable: { _, _ in "" }
    ) { _ in "Glob of units to include (repeatable; default all)." }
    public static let excludeUnit = ConfigurationOption<[String]>(
        "exclude-unit", default: [], parse: { $0.split(separator: ",").map(String.init) }, unparsable: { _, _ in "" }
    ) { _ in "Glob of units to exclude (repeatable)." }
    public static let headerTimeout = ConfigurationOption<Double>.number(
        "header-timeout", default: 10, bounds: 0.1...3600, rule: "must be between 0.1 and 3600 seconds"
    ) { "Seconds a connection has to complete a request head, from accept or from its first byte after a response (default \(Int($0)))." }
    public static let idleTimeout = ConfigurationOption<Double>.number(
        "idle-timeout", default: 60, bounds: 0.1...86_400, rule: "must be between 0.1 and 86400 seconds"
    ) { "Seconds a keep-alive connection may stay silent between requests (default \(Int($0)))." }
    public static let maxConnections = ConfigurationOption<Int>.number("max-connections", default: 10_000, bounds: 1...1_000_000) {
        "Most open client connections; at the limit the oldest idle one is closed (default \($0))."
    }
    public static let maxEventStreams = ConfigurationOption<Int>.number(
        "max-event-streams", default: EventStreamSlots.defaultLimit, bounds: 1...1_000_000
    ) {
        "Most open GET /api/events streams, at most half of --max-connections; past it a new stream gets 503 with Retry-After (default \($0))."
    }
    public static let maxLargeResponsesMB = ConfigurationOption<Int>.number(
        "max-large-responses-mb", default: LargeResponseBudget.defaultMegabytes, bounds: 1...(1 << 20)
    ) {
        "Megabytes of large (1 MiB or more) response bodies (JSON, HTML, /metrics) held for clients at once; past it such a read gets 503 with Retry-After, unless reads held 10 s or more are cut off to make room (default \($0))."
    }
    public static let tlsCertFile = ConfigurationOption<String?>("tls-cert-file", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) { _ in
        "PEM certificate chain: serve HTTPS on the same port (with --tls-key-file; re-read on SIGHUP)."
    }
    public static let tlsKeyFile = ConfigurationOption<String?>("tls-key-file", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) { _ in
        "PEM private key of --tls-cert-file (re-read on SIGHUP)."
    }
    public static let tlsClientCAFile = ConfigurationOption<String?>("tls-client-ca-file", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) {
        _ in
        "PEM CA bundle: require client certificates signed by it (mutual TLS)."
    }
    public static let webConfigFile = ConfigurationOption<String?>("web-config-file", default: nil, parse: { $0 }, unparsable: { _, _ in "" }) { _ in
        "Prometheus exporter-toolkit web configuration file; its tls_server_config is used (instead of the --tls-* options)."
    }
    public static let metricsDetail = ConfigurationOption<MetricsDetail>.choice("metrics-detail", default: .full) {
        "full or basic: basic leaves the probe phase and systemd unit-state series out of /metrics (default \($0.rawValue))."
    }

    /// Seconds (fractions allowed) as the millisecond `Duration` the connection timers use.
    public static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    /// Every `serve` option's flag name and environment variables, in `--help` order.
    public static let serve: [(name: String, environment: [String])] = [
        (host.name, host.environment), (port.name, port.environment), (dataDirectory.name, dataDirectory.environment),
        (logLevel.name, logLevel.environment), (apiToken.name, apiToken.environment), (readToken.name, readToken.environment),
        (allowedHost.name, allowedHost.environment), (mapSizeMB.name, mapSizeMB.environment),
        (probeInterval.name, probeInterval.environment), (probeTimeout.name, probeTimeout.environment),
        (probeConcurrency.name, probeConcurrency.environment), (probeCAFile.name, probeCAFile.environment),
        (probeAllowLinkLocal.name, probeAllowLinkLocal.environment), (probeRise.name, probeRise.environment),
        (probeFall.name, probeFall.environment), (scanInterval.name, scanInterval.environment),
        (systemctl.name, systemctl.environment), (systemdScope.name, systemdScope.environment),
        (portRange.name, portRange.environment), (includeUnit.name, includeUnit.environment),
        (excludeUnit.name, excludeUnit.environment), (headerTimeout.name, headerTimeout.environment),
        (idleTimeout.name, idleTimeout.environment), (maxConnections.name, maxConnections.environment),
        (maxEventStreams.name, maxEventStreams.environment), (maxLargeResponsesMB.name, maxLargeResponsesMB.environment),
        (tlsCertFile.name, tlsCertFile.environment), (tlsKeyFile.name, tlsKeyFile.environment),
        (tlsClientCAFile.name, tlsClientCAFile.environment), (webConfigFile.name, webConfigFile.environment),
        (metricsDetail.name, metricsDetail.environment),
    ]
}
