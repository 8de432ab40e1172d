import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import RegistryDiscovery
import RegistryExposition
import RegistryHTTP
import RegistryModel
import RegistryProbe
import RegistryStore
import RegistryTLS
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
    /// Called as soon as SIGTERM or SIGINT arrives, before the server drains its requests (`runRegistry`).
    public var onShutdownSignal: [@Sendable () -> Void] = []
    public let startedAt: Date
    /// The HTTPS context (SPEC §11), loaded from `RegistryConfiguration.tls`; nil serves plain HTTP.
    public var tls: TLSContextProvider?
    /// The rendered `GET /api/services` body, shared by the router's list handler and the fast path.
    package let listCache = ListBodyCache()
    /// Compressed forms of recent GET bodies, shared by the router and the list fast path.
    package let gzipCache = GzipCache()

    public init(store: ServiceStore, scanner: (any ServiceScanner)? = nil, services: [any Service] = [], startedAt: Date = Date()) {
        self.store = store
        self.scanner = scanner
        self.services = services
        self.startedAt = startedAt
        // Open event streams end at the signal, so the server's drain does not wait for them.
        onShutdownSignal.append { store.changes.close() }
    }
}

/// Every endpoint the router serves, in one list (the OpenAPI test compares it with the document).
public func buildEndpoints<Context: RequestContext>(
    _ configuration: RegistryConfiguration, _ components: RegistryComponents,
    context: Context.Type = Context.self
) -> [Endpoint<Context>] {
    let openAPI = OpenAPIDocument.document(
        writesNeedToken: configuration.apiToken != nil,
        readsNeedToken: configuration.readToken != nil
    ).bytes
    var services = ServiceController<ServiceStore, Context>(repository: components.store, listCache: components.listCache)
    services.allowLinkLocal = configuration.probeAllowLinkLocal
    return services.endpoints
        + SystemController<Context>(store: components.store, startedAt: components.startedAt).endpoints
        + ScanController<Context>(scanner: components.scanner).endpoints
        + DiscoveryController<Context>(store: components.store).endpoints
        + MetricsController<Context>(exporter: MetricsExporter(components, configuration)).endpoints
        + ProbeController<Context>(prober: components.prober).endpoints
        + HeartbeatController<ServiceStore, Context>(repository: components.store).endpoints
        + UptimeController<Context>(store: components.store).endpoints
        + [Endpoint(.get, "/openapi.json") { _, _ in jsonResponse(openAPI) }]
        + EventsController<Context>(
            store: components.store,
            streams: EventStreamSlots(
                limit: configuration.effectiveMaxEventStreams(
                    maxConnections: configuration.connections.effectiveMaxConnections(
                        openFileLimit: OpenFileLimit.current,
                        probeConcurrency: configuration.probeConcurrency)))
        ).endpoints
        + DashboardController<Context>(store: components.store, authRequired: configuration.apiToken != nil).endpoints
}

public func buildRouter(_ configuration: RegistryConfiguration, _ components: RegistryComponents) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let endpoints = buildEndpoints(configuration, components, context: BasicRequestContext.self)
    router.add(middleware: ErrorMiddleware(routes: RouteTable(endpoints)))
    let policy = AccessPolicy(configuration)
    if !policy.allowedHosts.isEmpty { router.add(middleware: HostCheckMiddleware(policy: policy)) }
    router.add(
        middleware: RepresentationMiddleware(
            gzipCache: components.gzipCache,
            largeResponses: LargeResponseBudget(
                limitBytes: configuration.maxLargeResponsesMB << 20,
                patience: LargeResponseBudget.debugPatience ?? LargeResponseBudget.defaultPatience)))
    router.add(endpoints, policy: policy)
    return router
}

extension AccessPolicy {
    package init(_ configuration: RegistryConfiguration) {
        self.init(apiToken: configuration.apiToken, readToken: configuration.readToken, allowedHosts: configuration.allowedHosts)
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
    components.onShutdownSignal.append { prober.beginShutdown() }
    let discovery = DiscoveryService(store: store, options: DiscoveryOptions(configuration), interval: configuration.scanInterval, logger: logger)
    components.scanner = discovery
    components.discoveryStatistics = discovery
    components.services.append(discovery)
    components.onShutdownSignal.append { discovery.beginShutdown() }
    if let interval = SystemdNotifier.watchdogInterval() {
        components.services.append(SystemdWatchdogService(interval: interval, store: store, watchProber: true, logger: logger))
    }
    return components
}

public func buildApplication(
    _ configuration: RegistryConfiguration, components: RegistryComponents, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let listFastPath = ListFastPath(
        repository: components.store, cache: components.listCache, gzipCache: components.gzipCache,
        policy: AccessPolicy(configuration), serverName: serverName)
    let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ListFastPathHandler(listFastPath)])
    let limits = configuration.connections
    let registry = ConnectionRegistry(
        maxConnections: limits.effectiveMaxConnections(
            openFileLimit: OpenFileLimit.current, probeConcurrency: configuration.probeConcurrency))
    var server = HTTPServerBuilder { responder in
        GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: http1), limits: limits, registry: registry)
    }
    var services = components.services
    if let tls = components.tls {
        // TLS first, then the same guarded HTTP/1 channel (timeouts, codec, fast path, router) as over plain HTTP.
        server = HTTPServerBuilder { responder in
            ReloadableTLSChannel(
                base: GuardedHTTP1Channel(
                    inner: HTTP1Channel(responder: responder, configuration: http1),
                    limits: limits, registry: registry),
                provider: tls)
        }
        services.append(TLSReloadService(provider: tls, logger: logger))
    }
    return Application(
        router: buildRouter(configuration, components),
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: serverName),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// Runs the application until SIGTERM or SIGINT, like `runService()`, except that at the signal the components'
/// `onShutdownSignal` run first. Hummingbird stops its services in reverse order, the server first: it waits for
/// the requests in flight (a check-now on a hanging target, a scan on a hung systemctl) before the prober even
/// hears of the shutdown, and the two waits would add up. Started together they overlap, and SIGTERM ends the
/// process within 10 s whatever hangs (SPEC §12).
public func runRegistry(_ app: some ApplicationProtocol, components: RegistryComponents, logger: Logger) async throws {
    let serviceGroup = ServiceGroup(
        configuration: .init(
            services: [app, ShutdownSignalHandlers(handlers: components.onShutdownSignal)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
    try await serviceGroup.run()
}

/// The last service of the group, so the first told of a graceful shutdown: it runs the handlers and ends.
private struct ShutdownSignalHandlers: Service {
    let handlers: [@Sendable () -> Void]

    func run() async throws {
        try? await gracefulShutdown()
        for handler in handlers { handler() }
    }
}
