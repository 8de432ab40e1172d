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
    @Option(help: "Largest size the LMDB database may grow to, in MiB (default 1024).") var mapSizeMb: Int?
    @Option(help: "Seconds between probes of each service (default 60); 0 turns background probing off (check-now still works).") var probeInterval: Double?
    @Option(help: "Seconds a probe may take in all, connect included (default 2.0).") var probeTimeout: Double?
    @Option(help: "Most probes in flight at once (default 1000).") var probeConcurrency: Int?
    @Option(help: "PEM CA bundle that HTTPS probes trust besides the system's.") var probeCaFile: String?
    @Option(help: "Seconds between discovery scans; 0 disables the loop (default 30).") var scanInterval: Double?
    @Option(help: "Path of systemctl (default systemctl).") var systemctl: String?
    @Option(help: "system or user (default system).") var systemdScope: String?
    @Option(help: "Ports counted as web ports, e.g. 80,443,3000-9999 (the default).") var portRange: String?
    @Option(help: "Glob of units to include (repeatable; default all).") var includeUnit: [String] = []
    @Option(help: "Glob of units to exclude (repeatable).") var excludeUnit: [String] = []
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

        let components: RegistryComponents
        do {
            components = try buildComponents(configuration, logger: logger)
        } catch {
            fail("cannot open data directory \(configuration.dataDirectory): \(error)")
        }
        if configuration.apiToken == nil {
            logger.warning("no --api-token set: anyone who can reach \(configuration.host):\(configuration.port) can register, change and delete services")
        }
        let app = buildApplication(configuration, components: components, logger: logger) { port in
            logger.info("listening", metadata: ["address": "\(configuration.host):\(port)", "data_dir": "\(configuration.dataDirectory)"])
            SystemdNotifier.notify("READY=1")
        }
        do {
            try await app.runService()
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
        c.mapSizeBytes = try number(mapSizeMb, "MAP_SIZE_MB", 1024, valid: { $0 >= 1 && $0 <= 1 << 20 }, "must be between 1 and 1048576") << 20
        c.probeInterval = try number(probeInterval, "PROBE_INTERVAL", c.probeInterval, valid: { $0 == 0 || ($0 >= 0.1 && $0 <= 86_400) }, "must be 0 (background probing off) or between 0.1 and 86400 seconds")
        c.probeTimeout = try number(probeTimeout, "PROBE_TIMEOUT", c.probeTimeout, valid: { $0 > 0 && $0 <= 60 }, "must be greater than 0 and at most 60 seconds")
        c.probeConcurrency = try number(probeConcurrency, "PROBE_CONCURRENCY", c.probeConcurrency, valid: { $0 >= 1 && $0 <= 100_000 }, "must be between 1 and 100000")
        c.probeCAFile = probeCaFile ?? env("PROBE_CA_FILE")
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
        c.excludeUnits = excludeUnit.isEmpty ? (env("EXCLUDE_UNIT")?.split(separator: ",").map(String.init) ?? []) : excludeUnit
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
