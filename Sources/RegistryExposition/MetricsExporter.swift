import Foundation
import Hummingbird
import RegistryModel
import RegistryStore
import Synchronization

/// Serves `/metrics` from the store's in-memory snapshot and the statistics of the prober and discovery.
///
/// The per-service block is the bulk of the bytes and changes only when a record, a probe result or a
/// probe counter changes; it is kept, per format, until then. The small registry/process block is rendered
/// on every scrape. Output is byte-for-byte what a full render would give.
public final class MetricsExporter: Sendable {
    package let store: ServiceStore
    package let probeStatistics: (any ProbeStatistics)?
    package let discoveryStatistics: (any DiscoveryStatistics)?
    package let probeDefaults: ProbeDefaults
    package let detail: MetricsDetail

    private struct CachedBlock {
        /// Tells this block from a later one of the same format.
        var generation: UInt64
        var format: ExpositionFormat
        var version: UInt64
        var counters: ProbeCounterTable?
        var counts: ServiceCounts
        /// The per-service families, in chunks (`MetricsRenderer.renderServices`).
        var block: [ByteBuffer]
        /// The block compressed, made by the first gzip scrape of it.
        var gzipPrefix: GzipPrefix?
    }
    private let cache = Mutex<[CachedBlock]>([])
    private let generations = Atomic<UInt64>(0)

    public init(
        store: ServiceStore, probeStatistics: (any ProbeStatistics)? = nil, discoveryStatistics: (any DiscoveryStatistics)? = nil,
        probeDefaults: ProbeDefaults = ProbeDefaults(), detail: MetricsDetail = .full
    ) {
        self.store = store
        self.detail = detail
        self.probeStatistics = probeStatistics
        self.discoveryStatistics = discoveryStatistics
        self.probeDefaults = probeDefaults
    }

    /// The exporter of a running registry: its store, its prober's and discovery's statistics (when those
    /// run), its global probe defaults and its `--metrics-detail`.

    /// The exposition as buffers to send in order (the cached per-service block, then the fresh tail).
    public func exposition(format: ExpositionFormat) -> [ByteBuffer] {
        let parts = render(format: format)
        return parts.entry.block + [parts.tail]
    }

    /// The same, as one gzip member. The block's compressed form is kept with the block, so a scrape
    /// compresses only the small tail (Prometheus asks for gzip on every scrape).
    public func gzippedExposition(format: ExpositionFormat) -> [ByteBuffer] {
        let parts = render(format: format)
        let prefix =
            parts.entry.gzipPrefix
            ?? {
                let made = Gzip.prefix(parts.entry.block)
                cache.withLock { entries in
                    if let index = entries.firstIndex(where: { $0.generation == parts.entry.generation }) { entries[index].gzipPrefix = made }
                }
                return made
            }()
        return Gzip.member(prefix, tail: parts.tail)
    }

    /// The cached per-service block (rendered now if the data changed) and a freshly rendered tail.
    private func render(format: ExpositionFormat) -> (entry: CachedBlock, tail: ByteBuffer) {
        let snapshot = store.snapshot()
        let counters = probeStatistics?.counters()
        var scrape = Scrape(
            records: [], probeCounters: counters,
            probeQueueLagSeconds: probeStatistics?.queueLagSeconds(), scan: discoveryStatistics?.scanStatistics(),
            probeDefaults: probeDefaults, detail: detail)
        let hit = cache.withLock { entries in
            entries.first { $0.format == format && $0.version == snapshot.version && $0.counters == counters }
        }
        let entry: CachedBlock
        if let hit {
            entry = hit
        } else {
            scrape.records = snapshot.records
            entry = CachedBlock(
                generation: generations.add(1, ordering: .relaxed).newValue, format: format, version: snapshot.version,
                counters: counters, counts: ServiceCounts(scrape.records),
                block: MetricsRenderer.renderServices(scrape, format: format))
            cache.withLock { entries in
                entries.removeAll { $0.format == format }
                entries.append(entry)
            }
        }
        scrape.serviceCounts = entry.counts  // for the tail's service_registry_services
        scrape.deregistrationsTotal = probeStatistics?.deregistrationsTotal()
        scrape.storage = (store.storageUsage, store.rollups.bucketsSkipped)
        return (entry, ByteBuffer(bytes: MetricsRenderer.renderRegistry(scrape, format: format)))
    }
}
