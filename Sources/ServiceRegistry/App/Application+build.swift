import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The long-lived parts the router serves from. Tests build them directly.
public struct RegistryComponents: Sendable {
    public let store: ServiceStore
    /// Held for the daemon's lifetime; nil in tests that open a store directly.
    public var directoryLock: DataDirectoryLock?
    public var scanner: (any ServiceScanner)?
    public var prober: (any ServiceProber)?
    public var probeStatistics: (any ProbeStatistics)?
    public var discoveryStatistics: (any DiscoveryStatistics)?
    /// Background work (prober, discovery loop) run until graceful shutdown.
    public var services: [any Service] = []
    public let startedAt: Date
    /// The rendered `GET /api/services` body, shared by the router's list handler and the fast path.
    let listCache = ListBodyCache()

    public init(store: ServiceStore, scanner: (any ServiceScanner)? = nil, services: [any Service] = [], startedAt: Date = Date()) {
        self.store = store
        self.scanner = scanner
        self.services = services
        self.startedAt = startedAt
    }
}

/// Every endpoint the router serves, in one list (the OpenAPI test compares it with the document).
public func buildEndpoints<Context: RequestContext>(_ configuration: RegistryConfiguration, _ components: RegistryComponents,
                                                    context: Context.Type = Context.self) -> [Endpoint<Context>] {
    let openAPI = OpenAPIDocument.document(writesNeedToken: configuration.apiToken != nil,
                                           readsNeedToken: configuration.readToken != nil).bytes
    return ServiceController<ServiceStore, Context>(repository: components.store, listCache: components.listCache).endpoints
        + SystemController<Context>(store: components.store, startedAt: components.startedAt).endpoints
        + ScanController<Context>(scanner: components.scanner).endpoints
        + DiscoveryController<Context>(store: components.store).endpoints
        + MetricsController<Context>(exporter: MetricsExporter(components, configuration)).endpoints
        + ProbeController<Context>(prober: components.prober).endpoints
        + HeartbeatController<ServiceStore, Context>(repository: components.store).endpoints
        + UptimeController<Context>(store: components.store).endpoints
        + [Endpoint(.get, "/openapi.json") { _, _ in jsonResponse(openAPI) }]
        + DashboardController<Context>(store: components.store, authRequired: configuration.apiToken != nil).endpoints
}

public func buildRouter(_ configuration: RegistryConfiguration, _ components: RegistryComponents) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let endpoints = buildEndpoints(configuration, components, context: BasicRequestContext.self)
    router.add(middleware: ErrorMiddleware(routes: RouteTable(endpoints)))
    router.add(middleware: AuthMiddleware(policy: AccessPolicy(configuration)))
    router.add(endpoints)
    return router
}

/// The `Server` header of every response.
let serverName = "service-registry"

extension AccessPolicy {
    init(_ configuration: RegistryConfiguration) {
        self.init(apiToken: configuration.apiToken, readToken: configuration.readToken)
    }
}

/// Opens the store and wires the components for `configuration`.
public func buildComponents(_ configuration: RegistryConfiguration, logger: Logger) throws -> RegistryComponents {
    let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
    let store = try ServiceStore(directory: configuration.dataDirectory, mapSizeBytes: configuration.mapSizeBytes)
    var components = RegistryComponents(store: store)
    components.directoryLock = lock
    let prober = HealthProber(store: store, settings: ProbeSettings(configuration), logger: logger)
    components.prober = prober
    components.probeStatistics = prober.statistics
    components.services.append(prober)
    let discovery = DiscoveryService(store: store, options: DiscoveryOptions(configuration), interval: configuration.scanInterval, logger: logger)
    components.scanner = discovery
    components.discoveryStatistics = discovery
    components.services.append(discovery)
    if let interval = SystemdNotifier.watchdogInterval() {
        components.services.append(SystemdWatchdogService(interval: interval))
    }
    return components
}

public func buildApplication(_ configuration: RegistryConfiguration, components: RegistryComponents, logger: Logger,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let listFastPath = ListFastPath(repository: components.store, cache: components.listCache,
                                    policy: AccessPolicy(configuration), serverName: serverName)
    return Application(
        router: buildRouter(configuration, components),
        server: .http1(configuration: .init(additionalChannelHandlers: [ListFastPathHandler(listFastPath)])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: serverName),
        services: components.services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}
