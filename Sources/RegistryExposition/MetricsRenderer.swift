import Foundation
import Hummingbird
import Synchronization

/// Renders a scrape: first the per-service families (services, probes, systemd), then the registry's and
/// the process's. Pure: the same scrape gives the same bytes.
public enum MetricsRenderer {
    public static let serviceCollectors: [any ServiceMetricsCollector] = [ServiceCollector(), ProbeCollector(), SystemdCollector(), CheckCollector()]
    public static let registryCollectors: [any RegistryMetricsCollector] = [RegistryCollector(), ProcessCollector()]

    /// Every family we may export, for tests and documentation.
    public static var families: [MetricFamily] {
        ServiceCollector.families + ProbeCollector.families + SystemdCollector.families + CheckCollector.families + RegistryCollector.families
            + ProcessCollector.families
    }

    /// The per-service families; depends only on the records, the probe counters and the defaults.
    public static func renderServices(_ scrape: Scrape, format: ExpositionFormat) -> [UInt8] {
        let services = ServiceScrape(scrape)
        // About 1.5 KB per probed service; reserving avoids repeated growth of a multi-megabyte buffer.
        var writer = ExpositionWriter(format: format, capacity: 1024 + services.items.count * 1600)
        for collector in serviceCollectors { collector.collect(services, into: &writer) }
        return writer.bytes
    }

    /// The registry and process families, and the end of the exposition.
    public static func renderRegistry(_ scrape: Scrape, format: ExpositionFormat) -> [UInt8] {
        var writer = ExpositionWriter(format: format, capacity: 4096)
        for collector in registryCollectors { collector.collect(scrape, into: &writer) }
        writer.finish()
        return writer.bytes
    }

    public static func render(_ scrape: Scrape, format: ExpositionFormat) -> [UInt8] {
        renderServices(scrape, format: format) + renderRegistry(scrape, format: format)
    }
}
