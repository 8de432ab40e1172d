import ArgumentParser
import Foundation
import Logging
import ServiceRegistry

/// `service-registry serve`: runs the daemon. Every option also reads `SERVICE_REGISTRY_<NAME>`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the registry daemon.",
        discussion: "Every option can also be set with an environment variable SERVICE_REGISTRY_<NAME>, e.g. SERVICE_REGISTRY_PORT=9000; a flag wins over the variable."
    )

    @Option(help: "Listen address (default 0.0.0.0).") var host: String?
    @Option(help: "Listen port (default 8000).") var port: Int?
    @Option(help: "LMDB data directory, created if missing (default ./data).") var dataDir: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).") var logLevel: String?
    @Option(help: "Bearer token required on every state-changing request (SERVICE_REGISTRY_TOKEN also works).") var apiToken: String?
    @Option(help: "Bearer token required on reads too.") var readToken: String?
    @Option(help: "Accepted Host header name or address, without port (repeatable; default any). Others get 421.") var allowedHost: [String] = []
    @Option(help: "Largest size the LMDB database may grow to, in MiB (default 1024).") var mapSizeMb: Int?
    @Option(help: "Seconds between probes of each service (default 60); 0 turns background probing off (check-now still works).") var probeInterval: Double?
    @Option(help: "Seconds a probe may take in all, connect included (default 2.0).") var probeTimeout: Double?
    @Option(help: "Most probes in flight at once (default 1000).") var probeConcurrency: Int?
    @Option(help: "PEM CA bundle that HTTPS probes trust besides the system's.") var probeCaFile: String?
    @Flag(help: "Allow probe targets in 169.254.0.0/16 and fe80::/10 (cloud metadata); refused by default.") var probeAllowLinkLocal = false
    @Option(help: "Consecutive passing results needed to become healthy, 1-10 (default 1).") var probeRise: Int?
    @Option(help: "Consecutive failing results needed to become unhealthy, 1-10 (default 1).") var probeFall: Int?
    @Option(help: "Seconds between discovery scans; 0 disables the loop (default 30).") var scanInterval: Double?
    @Option(help: "Path of systemctl (default systemctl).") var systemctl: String?
    @Option(help: "system or user (default system).") var systemdScope: String?
    @Option(help: "Ports counted as web ports, e.g. 80,443,3000-9999 (the default).") var portRange: String?
    @Option(help: "Glob of units to include (repeatable; default all).") var includeUnit: [String] = []
    @Option(help: "Glob of units to exclude (repeatable).") var excludeUnit: [String] = []
    @Option(help: "Seconds a connection has to complete a request head, from accept or from its first byte after a response (default 10).") var headerTimeout: Double?
    @Option(help: "Seconds a keep-alive connection may stay silent between requests (default 60).") var idleTimeout: Double?
    @Option(help: "Most open client connections; at the limit the oldest idle one is closed (default 10000).") var maxConnections: Int?
    @Option(help: "PEM certificate chain: serve HTTPS on the same port (with --tls-key-file; re-read on SIGHUP).") var tlsCertFile: String?
    @Option(help: "PEM private key of --tls-cert-file (re-read on SIGHUP).") var tlsKeyFile: String?
    @Option(help: "PEM CA bundle: require client certificates signed by it (mutual TLS).") var tlsClientCaFile: String?
    @Option(help: "Prometheus exporter-toolkit web configuration file; its tls_server_config is used (instead of the --tls-* options).") var webConfigFile: String?
    @Option(help: "full or basic: basic leaves the probe phase and systemd unit-state series out of /metrics (default full).") var metricsDetail: String?

    func run() async throws {
        let configuration: RegistryConfiguration
        do {
            configuration = try resolveConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch let error as ConfigurationError {
            fail(error.message, code: 2)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = {
            var logger = Logger(label: "service-registry")
            logger.logLevel = configuration.logLevel
            return logger
        }()
        if let (before, after) = OpenFileLimit.raiseToHardLimit() {
            let connections = configuration.connections.effectiveMaxConnections(openFileLimit: after, probeConcurrency: configuration.probeConcurrency)
            logger.info("open-file limit", metadata: ["soft_before": "\(before)", "soft": "\(after)", "max_connections": "\(connections)"])
            if connections < configuration.connections.maxConnections {
                logger.warning("--max-connections \(configuration.connections.maxConnections) lowered to \(connections): the open-file limit is \(after) and probing keeps \(ConnectionLimits.reservedDescriptors(probeConcurrency: configuration.probeConcurrency)) descriptors")
            }
        }

        // The certificate files are read before anything else starts: a bad one fails fast (exit 2).
        let tls: TLSContextProvider?
        do { tls = try configuration.tls.map { try TLSContextProvider(settings: $0) } } catch { fail("\(error)", code: 2) }
        var components: RegistryComponents
        do {
            components = try buildComponents(configuration, logger: logger)
        } catch {
            fail("cannot open data directory \(configuration.dataDirectory): \(error)")
        }
        components.tls = tls
        if configuration.apiToken == nil {
            logger.warning("no --api-token set: anyone who can reach \(configuration.host):\(configuration.port) can register, change and delete services")
        }
        if configuration.tokensTravelInClearText {
            logger.warning("no TLS: the bearer tokens travel in clear text to \(configuration.host):\(configuration.port); set --tls-cert-file and --tls-key-file (or --web-config-file) to serve HTTPS")
        }
        let app = buildApplication(configuration, components: components, logger: logger) { port in
            logger.info("listening", metadata: ["address": "\(configuration.host):\(port)", "scheme": "\(tls == nil ? "http" : "https")",
                                                "data_dir": "\(configuration.dataDirectory)"])
            if let tls { logger.info("TLS certificate loaded", metadata: ["certificate": "\(tls.certificateSummary)"]) }
            SystemdNotifier.notify("READY=1")
        }
        do {
            try await runRegistry(app, components: components, logger: logger)
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                fail("cannot listen on \(configuration.host):\(configuration.port): address already in use")
            }
            fail("server stopped: \(text)")
        }
        logger.info("stopped")
    }

    /// Flags win over `SERVICE_REGISTRY_<NAME>` variables, which win over defaults.
    func resolveConfiguration(environment: [String: String]) throws -> RegistryConfiguration {
        var c = RegistryConfiguration()
        func env(_ name: String) -> String? { environment["SERVICE_REGISTRY_" + name].flatMap { $0.isEmpty ? nil : $0 } }
        func number<T: LosslessStringConvertible>(_ flag: T?, _ name: String, _ current: T, valid: (T) -> Bool, _ rule: String) throws -> T {
            let value: T
            if let flag {
                value = flag
            } else if let raw = env(name) {
                guard let parsed = T(raw) else { throw ConfigurationError("SERVICE_REGISTRY_\(name)=\(raw) is not a number") }
                value = parsed
            } else {
                return current
            }
            guard valid(value) else { throw ConfigurationError("--\(name.lowercased().replacingOccurrences(of: "_", with: "-")) \(value): \(rule)") }
            return value
        }
        c.host = host ?? env("HOST") ?? c.host
        c.port = try number(port, "PORT", c.port, valid: { (0...65535).contains($0) }, "must be between 0 and 65535")
        c.dataDirectory = dataDir ?? env("DATA_DIR") ?? c.dataDirectory
        let level = logLevel ?? env("LOG_LEVEL") ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigurationError("--log-level \(level): must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.logLevel = parsedLevel
        c.apiToken = apiToken ?? env("API_TOKEN") ?? env("TOKEN")
        c.readToken = readToken ?? env("READ_TOKEN")
        c.allowedHosts = allowedHost.isEmpty ? (env("ALLOWED_HOST")?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []) : allowedHost
        c.probeAllowLinkLocal = probeAllowLinkLocal || ["1", "true", "yes"].contains(env("PROBE_ALLOW_LINK_LOCAL")?.lowercased() ?? "")
        c.mapSizeBytes = try number(mapSizeMb, "MAP_SIZE_MB", 1024, valid: { $0 >= 1 && $0 <= 1 << 20 }, "must be between 1 and 1048576") << 20
        c.probeInterval = try number(probeInterval, "PROBE_INTERVAL", c.probeInterval, valid: { $0 == 0 || ProbeDefaults.intervalBounds.contains($0) }, "must be 0 (background probing off) or between 1 and 86400 seconds")
        c.probeTimeout = try number(probeTimeout, "PROBE_TIMEOUT", c.probeTimeout, valid: { ProbeDefaults.timeoutBounds.contains($0) }, "must be between 0.1 and 60 seconds")
        c.probeConcurrency = try number(probeConcurrency, "PROBE_CONCURRENCY", c.probeConcurrency, valid: { $0 >= 1 && $0 <= 100_000 }, "must be between 1 and 100000")
        c.probeCAFile = probeCaFile ?? env("PROBE_CA_FILE")
        c.probeRise = try number(probeRise, "PROBE_RISE", c.probeRise, valid: { (1...10).contains($0) }, "must be between 1 and 10")
        c.probeFall = try number(probeFall, "PROBE_FALL", c.probeFall, valid: { (1...10).contains($0) }, "must be between 1 and 10")
        if let file = c.probeCAFile, !FileManager.default.isReadableFile(atPath: file) {
            throw ConfigurationError("--probe-ca-file \(file): not a readable file")
        }
        c.scanInterval = try number(scanInterval, "SCAN_INTERVAL", c.scanInterval, valid: { $0 == 0 || ($0 >= 1 && $0 <= 86_400) }, "must be 0 (off) or between 1 and 86400 seconds")
        c.systemctlPath = systemctl ?? env("SYSTEMCTL") ?? c.systemctlPath
        let scope = systemdScope ?? env("SYSTEMD_SCOPE") ?? c.systemdScope.rawValue
        guard let parsedScope = SystemdScope(rawValue: scope) else { throw ConfigurationError("--systemd-scope \(scope): must be system or user") }
        c.systemdScope = parsedScope
        if let text = portRange ?? env("PORT_RANGE") {
            guard let range = PortRange(parsing: text) else { throw ConfigurationError("--port-range \(text): expected ports and ranges like 80,443,3000-9999") }
            c.portRange = range
        }
        c.includeUnits = includeUnit.isEmpty ? (env("INCLUDE_UNIT")?.split(separator: ",").map(String.init) ?? []) : includeUnit
        let header = try number(headerTimeout, "HEADER_TIMEOUT", 10.0, valid: { $0 >= 0.1 && $0 <= 3600 }, "must be between 0.1 and 3600 seconds")
        c.connections.headerTimeout = .milliseconds(Int64((header * 1000).rounded()))
        let idle = try number(idleTimeout, "IDLE_TIMEOUT", 60.0, valid: { $0 >= 0.1 && $0 <= 86_400 }, "must be between 0.1 and 86400 seconds")
        c.connections.idleTimeout = .milliseconds(Int64((idle * 1000).rounded()))
        c.connections.maxConnections = try number(maxConnections, "MAX_CONNECTIONS", c.connections.maxConnections, valid: { $0 >= 1 && $0 <= 1_000_000 }, "must be between 1 and 1000000")
        c.excludeUnits = excludeUnit.isEmpty ? (env("EXCLUDE_UNIT")?.split(separator: ",").map(String.init) ?? []) : excludeUnit
        do {
            c.tls = try TLSSettings.resolve(certFile: tlsCertFile ?? env("TLS_CERT_FILE"), keyFile: tlsKeyFile ?? env("TLS_KEY_FILE"),
                                            clientCAFile: tlsClientCaFile ?? env("TLS_CLIENT_CA_FILE"), webConfigFile: webConfigFile ?? env("WEB_CONFIG_FILE"))
        } catch let error as TLSSettingsError {
            throw ConfigurationError(error.description)
        }
        let detail = metricsDetail ?? env("METRICS_DETAIL") ?? c.metricsDetail.rawValue
        guard let parsedDetail = MetricsDetail(rawValue: detail) else { throw ConfigurationError("--metrics-detail \(detail): must be full or basic") }
        c.metricsDetail = parsedDetail
        return c
    }
}

struct ConfigurationError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// One clear line on stderr and a non-zero exit.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("service-registry: \(message)\n".utf8))
    exit(code)
}
