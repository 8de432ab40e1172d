import RegistryDiscovery
import RegistryExposition
import RegistryProbe

/// Each component's settings from the daemon's configuration. They live here, in the layer that knows both, so
/// the prober, discovery and exposition depend on their own settings types and never on the App layer.
extension ProbeSettings {
    public init(_ configuration: RegistryConfiguration) {
        self.init(
            interval: configuration.probeInterval, timeout: configuration.probeTimeout,
            concurrency: configuration.probeConcurrency, caFile: configuration.probeCAFile)
        allowLinkLocal = configuration.probeAllowLinkLocal
        rise = configuration.probeRise
        fall = configuration.probeFall
    }
}

extension DiscoveryOptions {
    public init(_ configuration: RegistryConfiguration) {
        self.init(
            systemctlPath: configuration.systemctlPath, scope: configuration.systemdScope, portRange: configuration.portRange,
            includeUnits: configuration.includeUnits, excludeUnits: configuration.excludeUnits)
    }
}

extension MetricsExporter {
    public convenience init(_ components: RegistryComponents, _ configuration: RegistryConfiguration) {
        self.init(
            store: components.store, probeStatistics: components.probeStatistics, discoveryStatistics: components.discoveryStatistics,
            probeDefaults: ProbeSettings(configuration).defaults, detail: configuration.metricsDetail)
    }
}
