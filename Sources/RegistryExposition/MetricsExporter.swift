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
        /// The per-service families, in chunks (`MetricsRenderer.renderServices`); nil when larger than
        /// `largestKeptBlockBytes`.
        var block: [ByteBuffer]?
        /// The block compressed, made by the first gzip scrape of it.
        var gzipPrefix: GzipPrefix?
    }
    /// Blocks up to this size are kept for identity scrapes (16 MiB by default: about 8,000 probed services). A
    /// larger one is rendered for each identity scrape: at 100,000 services the block is 90 MB (200 MB probed), and
    /// Prometheus asks for gzip, so keeping it cost that much for nothing.
    package let largestKeptBlockBytes: Int
    /// Compressed forms up to this size are kept for gzip scrapes (4 MiB by default: about 50,000 services, 25,000
    /// probed); a larger one is made again by each gzip scrape. At 100,000 probed services it is 14.7 MB, which left
    /// the daemon at 160 MB after a scrape, and under probing the data changes between any two scrapes anyway.
    package let largestKeptCompressedBytes: Int
    private let cache = Mutex<[CachedBlock]>([])
    /// Bytes the cache holds: kept blocks and compressed forms (tests; the cost `largestKeptBlockBytes` bounds).
    package var cachedBytes: Int {
        cache.withLock { entries in
            entries.reduce(0) { total, entry in
                total + (entry.block ?? []).reduce(0) { $0 + $1.readableBytes } + (entry.gzipPrefix?.deflated.readableBytes ?? 0)
            }
        }
    }
    private let generations = Atomic<UInt64>(0)

    public init(
        store: ServiceStore, probeStatistics: (any ProbeStatistics)? = nil, discoveryStatistics: (any DiscoveryStatistics)? = nil,
        probeDefaults: ProbeDefaults = ProbeDefaults(), detail: MetricsDetail = .full, largestKeptBlockBytes: Int = 16 << 20,
        largestKeptCompressedBytes: Int = 4 << 20
    ) {
        self.store = store
        self.largestKeptBlockBytes = largestKeptBlockBytes
        self.largestKeptCompressedBytes = largestKeptCompressedBytes
        self.detail = detail
        self.probeStatistics = probeStatistics
        self.discoveryStatistics = discoveryStatistics
        self.probeDefaults = probeDefaults
    }

    /// The exposition as buffers to send in order (the per-service block, then the fresh tail).
    public func exposition(format: ExpositionFormat) -> [ByteBuffer] {
        let parts = render(format: format, needsBlock: true)
        return (parts.block ?? []) + [parts.tail]
    }

    /// The same, as one gzip member. The block's compressed form is kept in its cache entry (up to
    /// `largestKeptCompressedBytes`), so a scrape of unchanged data compresses only the small tail (Prometheus asks for
    /// gzip on every scrape).
    public func gzippedExposition(format: ExpositionFormat) -> [ByteBuffer] {
        let parts = render(format: format, needsBlock: false)
        let prefix =
            parts.entry.gzipPrefix
            ?? {
                guard let block = parts.block else { preconditionFailure("an entry without a compressed form comes with its block") }
                let made = Gzip.prefix(block)
                guard made.deflated.readableBytes <= largestKeptCompressedBytes else { return made }
                cache.withLock { entries in
                    if let index = entries.firstIndex(where: { $0.generation == parts.entry.generation }) { entries[index].gzipPrefix = made }
                }
                return made
            }()
        return Gzip.member(prefix, tail: parts.tail)
    }

    /// The cache entry for the current data (made now if the data changed), its block when the caller needs it or the
    /// entry has no compressed form yet (kept or rendered now), and a freshly rendered tail.
    private func render(format: ExpositionFormat, needsBlock: Bool) -> (entry: CachedBlock, block: [ByteBuffer]?, tail: ByteBuffer) {
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
        var block: [ByteBuffer]?
        if let hit, hit.block != nil || (!needsBlock && hit.gzipPrefix != nil) {
            entry = hit
            block = hit.block
        } else {
            scrape.records = snapshot.records
            let rendered = MetricsRenderer.renderServices(scrape, format: format)
            block = rendered
            if let hit {
                // The same data, whose block was too large to keep: rendered again for an identity scrape, or for the
                // first gzip scrape after one.
                entry = hit
            } else {
                let kept = rendered.reduce(0) { $0 + $1.readableBytes } <= largestKeptBlockBytes ? rendered : nil
                entry = CachedBlock(
                    generation: generations.add(1, ordering: .relaxed).newValue, format: format, version: snapshot.version,
                    counters: counters, counts: ServiceCounts(scrape.records), block: kept)
                cache.withLock { entries in
                    entries.removeAll { $0.format == format }
                    entries.append(entry)
                }
            }
        }
        scrape.serviceCounts = entry.counts  // for the tail's service_registry_services
        scrape.deregistrationsTotal = probeStatistics?.deregistrationsTotal()
        scrape.storage = (store.storageUsage, store.rollups.bucketsSkipped)
        return (entry, block, ByteBuffer(bytes: MetricsRenderer.renderRegistry(scrape, format: format)))
    }
}
