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

    /// The per-service families, in buffers of about `chunkBytes`; depends only on the records, the probe counters and
    /// the defaults. At 100,000 services this is 90 MB: rendered into one array and then copied into a buffer, a
    /// scrape held it about 2.5 times over; in chunks it is held once, plus one chunk being written.
    /// A chunk ends with the line that reaches `chunkBytes`: 64 KiB short of 1 MiB, so a chunk fits the 1 MiB a buffer
    /// rounds its capacity up to (past it, 2 MiB).
    public static func renderServices(_ scrape: Scrape, format: ExpositionFormat, chunkBytes: Int = (1 << 20) - (64 << 10)) -> [ByteBuffer] {
        let services = ServiceScrape(scrape)
        // About 1.5 KB per probed service; reserving avoids repeated growth of a small registry's buffer.
        var writer = ExpositionWriter(format: format, capacity: 1024 + services.items.count * 1600, chunkBytes: chunkBytes)
        for collector in serviceCollectors { collector.collect(services, into: &writer) }
        return writer.takeBuffers()
    }

    /// The registry and process families, and the end of the exposition.
    public static func renderRegistry(_ scrape: Scrape, format: ExpositionFormat) -> [UInt8] {
        var writer = ExpositionWriter(format: format, capacity: 4096)
        for collector in registryCollectors { collector.collect(scrape, into: &writer) }
        writer.finish()
        return writer.bytes
    }

    /// The whole exposition as one array (tests and the render benchmark; the exporter serves the buffers).
    public static func render(_ scrape: Scrape, format: ExpositionFormat) -> [UInt8] {
        renderServices(scrape, format: format).flatMap { $0.readableBytesView } + renderRegistry(scrape, format: format)
    }
}
