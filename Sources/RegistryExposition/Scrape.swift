import Foundation
import RegistryModel
import RegistryStore

/// Everything one scrape renders, taken from memory when the scrape starts: the store's snapshot and the
/// prober's and discovery's statistics. Taking it never probes, never runs systemctl and never waits for a scan.
public struct Scrape: Sendable {
    public var records: [ServiceRecord]
    /// Per-service probe counters; nil while no prober runs.
    public var probeCounters: ProbeCounterTable?
    public var probeQueueLagSeconds: Double?
    /// Records deleted by `deregister_after_seconds` (SPEC §9); nil while no prober runs.
    public var deregistrationsTotal: Int?
    /// Discovery's statistics; nil while no discovery runs.
    public var scan: ScanStatistics?
    public var probeDefaults: ProbeDefaults
    /// `basic` leaves out the phase and unit-state series.
    public var detail: MetricsDetail
    /// Number of services by source and status (computed from `records` unless given).
    public var serviceCounts: ServiceCounts
    /// The store's use of its map, and the rollup buckets held back near its end (`ServiceStore.rollupCeiling`); nil
    /// leaves the storage series out.
    public var storage: (usage: StorageUsage, rollupBucketsSkipped: Int)?

    public init(
        records: [ServiceRecord], probeCounters: ProbeCounterTable? = nil,
        probeQueueLagSeconds: Double? = nil, scan: ScanStatistics? = nil,
        probeDefaults: ProbeDefaults = ProbeDefaults(), serviceCounts: ServiceCounts? = nil, detail: MetricsDetail = .full
    ) {
        self.records = records
        self.serviceCounts = serviceCounts ?? ServiceCounts(records)
        self.probeCounters = probeCounters
        self.probeQueueLagSeconds = probeQueueLagSeconds
        self.scan = scan
        self.probeDefaults = probeDefaults
        self.detail = detail
    }
}

/// Services by source and status, for `service_registry_services`.
public struct ServiceCounts: Sendable, Equatable {
    package var counts: [ServiceSource: [ServiceStatus: Int]] = [:]

    public init(_ records: [ServiceRecord]) {
        for record in records { counts[record.source, default: [:]][record.status, default: 0] += 1 }
    }

    public subscript(source: ServiceSource, status: ServiceStatus) -> Int { counts[source]?[status] ?? 0 }
}

/// The per-service part of a scrape: each record with its `id`/`name` label set escaped once.
public struct ServiceScrape: Sendable {
    /// A class so that the many loops over items (one per family) retain one reference per item instead
    /// of copying every reference-counted field of the record.
    public final class Item: Sendable {
        public let record: ServiceRecord
        /// `id="…",name="…"`: the only labels that vary on value series (SPEC §5).
        public let identity: LabelSet

        init(record: ServiceRecord, identity: LabelSet) {
            self.record = record
            self.identity = identity
        }
    }

    public let items: [Item]
    public let scrape: Scrape

    public init(_ scrape: Scrape) {
        self.scrape = scrape
        items = scrape.records.map { record in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(record.name.utf8.count + 24)
            bytes += "id=\"".utf8
            ExpositionWriter.appendInteger(Int64(record.id), to: &bytes)
            bytes += "\",name=\"".utf8
            ExpositionWriter.appendEscapedLabelValue(record.name, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
            return Item(record: record, identity: LabelSet(bytes: bytes))
        }
    }
}

/// Writes some metric families. Each collector renders from the scrape's in-memory data only.
public protocol ServiceMetricsCollector: Sendable {
    func collect(_ services: ServiceScrape, into writer: inout ExpositionWriter)
}

public protocol RegistryMetricsCollector: Sendable {
    func collect(_ scrape: Scrape, into writer: inout ExpositionWriter)
}
