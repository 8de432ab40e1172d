import ArgumentParser
import Foundation
import Logging
import RegistryApp
import RegistryHTTP
import RegistrySupport
import RegistryTLS

/// `service-registry serve`: runs the daemon. Every option also reads `SERVICE_REGISTRY_<NAME>`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the registry daemon.",
        discussion:
            "Every option can also be set with an environment variable SERVICE_REGISTRY_<NAME>, e.g. SERVICE_REGISTRY_PORT=9000; a flag wins over the variable."
    )

    // Names, defaults, environment variables, help and bounds: `ConfigurationOptions` (one place for each).
    typealias O = ConfigurationOptions
    @Option(help: ArgumentHelp(O.host.help)) var host: String?
    @Option(help: ArgumentHelp(O.port.help)) var port: Int?
    @Option(help: ArgumentHelp(O.dataDirectory.help)) var dataDir: String?
    @Option(help: ArgumentHelp(O.logLevel.help)) var logLevel: String?
    @Option(help: ArgumentHelp(O.apiToken.help)) var apiToken: String?
    @Option(help: ArgumentHelp(O.readToken.help)) var readToken: String?
    @Option(help: ArgumentHelp(O.allowedHost.help)) var allowedHost: [String] = []
    @Option(help: ArgumentHelp(O.mapSizeMB.help)) var mapSizeMb: Int?
    @Option(help: ArgumentHelp(O.probeInterval.help)) var probeInterval: Double?
    @Option(help: ArgumentHelp(O.probeTimeout.help)) var probeTimeout: Double?
    @Option(help: ArgumentHelp(O.probeConcurrency.help)) var probeConcurrency: Int?
    @Option(help: ArgumentHelp(O.probeCAFile.help)) var probeCaFile: String?
    @Flag(help: ArgumentHelp(O.probeAllowLinkLocal.help)) var probeAllowLinkLocal = false
    @Option(help: ArgumentHelp(O.probeRise.help)) var probeRise: Int?
    @Option(help: ArgumentHelp(O.probeFall.help)) var probeFall: Int?
    @Option(help: ArgumentHelp(O.scanInterval.help)) var scanInterval: Double?
    @Option(help: ArgumentHelp(O.systemctl.help)) var systemctl: String?
    @Option(help: ArgumentHelp(O.systemdScope.help)) var systemdScope: String?
    @Option(help: ArgumentHelp(O.portRange.help)) var portRange: String?
    @Option(help: ArgumentHelp(O.includeUnit.help)) var includeUnit: [String] = []
    @Option(help: ArgumentHelp(O.excludeUnit.help)) var excludeUnit: [String] = []
    @Option(help: ArgumentHelp(O.headerTimeout.help)) var headerTimeout: Double?
    @Option(help: ArgumentHelp(O.idleTimeout.help)) var idleTimeout: Double?
    @Option(help: ArgumentHelp(O.maxConnections.help)) var maxConnections: Int?
    @Option(help: ArgumentHelp(O.maxEventStreams.help)) var maxEventStreams: Int?
    @Option(help: ArgumentHelp(O.maxLargeResponsesMB.help)) var maxLargeResponsesMb: Int?
    @Option(help: ArgumentHelp(O.tlsCertFile.help)) var tlsCertFile: String?
    @Option(help: ArgumentHelp(O.tlsKeyFile.help)) var tlsKeyFile: String?
    @Option(help: ArgumentHelp(O.tlsClientCAFile.help)) var tlsClientCaFile: String?
    @Option(help: ArgumentHelp(O.webConfigFile.help)) var webConfigFile: String?
    @Option(help: ArgumentHelp(O.metricsDetail.help)) var metricsDetail: String?

    func run() async throws {
        configureMallocForLargeBuffers()
        let configuration: RegistryConfiguration
        do {
            configuration = try resolveConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
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
            let connections = configuration.connections.effectiveMaxConnections(
                openFileLimit: after, probeConcurrency: configuration.probeConcurrency)
            logger.info("open-file limit", metadata: ["soft_before": "\(before)", "soft": "\(after)", "max_connections": "\(connections)"])
            if connections < configuration.connections.maxConnections {
                logger.warning(
                    "--max-connections \(configuration.connections.maxConnections) lowered to \(connections): the open-file limit is \(after) and probing keeps \(ConnectionLimits.reservedDescriptors(probeConcurrency: configuration.probeConcurrency)) descriptors"
                )
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
            logger.warning(
                "no --api-token set: anyone who can reach \(configuration.host):\(configuration.port) can register, change and delete services")
        }
        if configuration.tokensTravelInClearText {
            logger.warning(
                "no TLS: the bearer tokens travel in clear text to \(configuration.host):\(configuration.port); set --tls-cert-file and --tls-key-file (or --web-config-file) to serve HTTPS"
            )
        }
        let app = buildApplication(configuration, components: components, logger: logger) { port in
            logger.info(
                "listening",
                metadata: [
                    "address": "\(configuration.host):\(port)", "scheme": "\(tls == nil ? "http" : "https")",
                    "data_dir": "\(configuration.dataDirectory)",
                ])
            if let tls { logger.info("TLS certificate loaded", metadata: ["certificate": "\(tls.certificateSummary)"]) }
            SystemdNotifier.notify("READY=1")
            // Start-up ran code and built values that are not needed again (wiring, the OpenAPI document): hand the
            // executable's text pages and the freed heap back once it is done (`FreedMemory.releaseNow`).
            FreedMemory.releaseSoon()
        }
        do {
            try await runRegistry(app, components: components, logger: logger)
        } catch {
            if isAddressInUse(error) {
                fail("cannot listen on \(configuration.host):\(configuration.port): address already in use")
            }
            fail("server stopped: \(error)")
        }
        logger.info("stopped")
    }

    /// Flags win over `SERVICE_REGISTRY_<NAME>` variables, which win over defaults (`ConfigurationOption.resolve`).
    func resolveConfiguration(environment e: [String: String]) throws(ConfigurationError) -> RegistryConfiguration {
        var c = RegistryConfiguration()
        c.host = try O.host.resolve(text: host, environment: e)
        c.port = try O.port.resolve(flag: port, environment: e)
        c.dataDirectory = try O.dataDirectory.resolve(text: dataDir, environment: e)
        c.logLevel = try O.logLevel.resolve(text: logLevel, environment: e)
        c.apiToken = try O.apiToken.resolve(text: apiToken, environment: e)
        c.readToken = try O.readToken.resolve(text: readToken, environment: e)
        c.allowedHosts = try allowedHost.isEmpty ? O.allowedHost.resolve(flag: nil, environment: e) : allowedHost
        let linkLocalFromEnvironment = try O.probeAllowLinkLocal.resolve(flag: nil, environment: e)
        c.probeAllowLinkLocal = probeAllowLinkLocal || linkLocalFromEnvironment
        c.mapSizeBytes = try O.mapSizeMB.resolve(flag: mapSizeMb, environment: e) << 20
        c.probeInterval = try O.probeInterval.resolve(flag: probeInterval, environment: e)
        c.probeTimeout = try O.probeTimeout.resolve(flag: probeTimeout, environment: e)
        c.probeConcurrency = try O.probeConcurrency.resolve(flag: probeConcurrency, environment: e)
        c.probeCAFile = try O.probeCAFile.resolve(text: probeCaFile, environment: e)
        c.probeRise = try O.probeRise.resolve(flag: probeRise, environment: e)
        c.probeFall = try O.probeFall.resolve(flag: probeFall, environment: e)
        if let file = c.probeCAFile, !FileManager.default.isReadableFile(atPath: file) {
            throw ConfigurationError("--probe-ca-file \(file): not a readable file")
        }
        c.scanInterval = try O.scanInterval.resolve(flag: scanInterval, environment: e)
        c.systemctlPath = try O.systemctl.resolve(text: systemctl, environment: e)
        c.systemdScope = try O.systemdScope.resolve(text: systemdScope, environment: e)
        c.portRange = try O.portRange.resolve(text: portRange, environment: e)
        c.includeUnits = try includeUnit.isEmpty ? O.includeUnit.resolve(flag: nil, environment: e) : includeUnit
        c.connections.headerTimeout = O.duration(try O.headerTimeout.resolve(flag: headerTimeout, environment: e))
        c.connections.idleTimeout = O.duration(try O.idleTimeout.resolve(flag: idleTimeout, environment: e))
        c.connections.maxConnections = try O.maxConnections.resolve(flag: maxConnections, environment: e)
        c.maxEventStreams = try O.maxEventStreams.resolve(flag: maxEventStreams, environment: e)
        c.maxLargeResponsesMB = try O.maxLargeResponsesMB.resolve(flag: maxLargeResponsesMb, environment: e)
        c.excludeUnits = try excludeUnit.isEmpty ? O.excludeUnit.resolve(flag: nil, environment: e) : excludeUnit
        do {
            c.tls = try TLSSettings.resolve(
                certFile: try O.tlsCertFile.resolve(text: tlsCertFile, environment: e),
                keyFile: try O.tlsKeyFile.resolve(text: tlsKeyFile, environment: e),
                clientCAFile: try O.tlsClientCAFile.resolve(text: tlsClientCaFile, environment: e),
                webConfigFile: try O.webConfigFile.resolve(text: webConfigFile, environment: e))
        } catch let error as TLSSettingsError {
            throw ConfigurationError(error.description)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("\(error)")
        }
        c.metricsDetail = try O.metricsDetail.resolve(text: metricsDetail, environment: e)
        return c
    }
}

/// One clear line on stderr and a non-zero exit.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("service-registry: \(message)\n".utf8))
    exit(code)
}
