import Foundation
import HashTreeCollections
import RegistryModel
import Synchronization

/// One rollup bucket (SPEC §9 "Health over time"): probes that finished in [start, start + length).
public struct RollupBucket: Sendable, Equatable {
    /// Unix seconds of the bucket's start (a whole minute or hour).
    public var start: Int64
    public var probes: Int
    public var failures: Int
    public var minMs: Double
    public var sumMs: Double
    public var maxMs: Double

    public init(start: Int64, probes: Int = 0, failures: Int = 0, minMs: Double = .infinity, sumMs: Double = 0, maxMs: Double = 0) {
        self.start = start
        self.probes = probes
        self.failures = failures
        self.minMs = minMs
        self.sumMs = sumMs
        self.maxMs = maxMs
    }

    public var avgMs: Double { probes > 0 ? sumMs / Double(probes) : 0 }

    package mutating func add(healthy: Bool, ms: Double) {
        probes += 1
        if !healthy { failures += 1 }
        minMs = Swift.min(minMs, ms)
        maxMs = Swift.max(maxMs, ms)
        sumMs += ms
    }

    package mutating func merge(_ other: RollupBucket) {
        probes += other.probes
        failures += other.failures
        minMs = Swift.min(minMs, other.minMs)
        maxMs = Swift.max(maxMs, other.maxMs)
        sumMs += other.sumMs
    }

    /// 32 bytes: probes, failures (UInt32), min, sum, max (Float64 bit patterns), big-endian.
    package var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        withUnsafeBytes(of: UInt32(clamping: probes).bigEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(clamping: failures).bigEndian) { bytes += $0 }
        for value in [minMs, sumMs, maxMs] { withUnsafeBytes(of: value.bitPattern.bigEndian) { bytes += $0 } }
        return bytes
    }

    package init?(start: Int64, encoded bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { ($0 << 8) | UInt32($1) } }
        func f64(_ at: Int) -> Double { Double(bitPattern: bytes[at..<at + 8].reduce(0) { ($0 << 8) | UInt64($1) }) }
        self.init(start: start, probes: Int(u32(0)), failures: Int(u32(4)), minMs: f64(8), sumMs: f64(16), maxMs: f64(24))
    }
}

/// Per-service uptime rollups: per minute for the last 24 h, per hour for the last 30 days, in the store's
/// `rollups` LMDB database (key: service id, resolution, bucket start; 32-byte values), bounded by age.
///
/// Memory holds only each probed service's current minute. When a result lands in a later minute, the finished
/// minute is queued; the prober's batch writes it (added into its minute row and its hour row, and rows past
/// their window are dropped). At graceful shutdown the current minutes are written too. A crash loses at most the
/// current minute.
public final class UptimeRollups: Sendable {
    public static let minuteWindow: Int64 = 24 * 3600
    public static let hourWindow: Int64 = 30 * 86_400

    package enum Resolution: UInt8 {
        case minute = 0
        case hour = 1
    }

    private struct State {
        /// A hash trie, not a `Dictionary`: no spare buckets (a `Dictionary` of 100,000 has 262,144).
        var current: TreeDictionary<Int, RollupBucket> = [:]
        var finished: [(id: Int, bucket: RollupBucket)] = []
    }

    private let state = Mutex(State())
    /// Bucket writes not stored because the store was above `ServiceStore.rollupCeiling` (`persistRollups`).
    private let skipped = Atomic<Int>(0)

    package init() {}

    /// Buckets not stored since the daemon started because storage was above the rollup ceiling: a service's finished
    /// minute whose minute row could not be created counts once, and once more if its hour row could not be either.
    public var bucketsSkipped: Int { skipped.load(ordering: .relaxed) }

    /// Counts one probe result of service `id` (latency in milliseconds).
    public func add(id: Int, at: Date, healthy: Bool, ms: Double) {
        let minute = Int64((at.timeIntervalSince1970 / 60).rounded(.down)) * 60
        state.withLock { s in
            var bucket = s.current[id] ?? RollupBucket(start: minute)
            if bucket.start != minute {
                if bucket.probes > 0 { s.finished.append((id, bucket)) }
                bucket = RollupBucket(start: minute)
            }
            bucket.add(healthy: healthy, ms: ms)
            s.current[id] = bucket
        }
    }

    /// Buckets to write: the finished minutes, and with `everything` the current ones as well (which then leave memory).
    package func take(everything: Bool) -> [(id: Int, bucket: RollupBucket)] {
        state.withLock { s in
            var batch = s.finished
            s.finished = []
            if everything {
                for (id, bucket) in s.current where bucket.probes > 0 { batch.append((id, bucket)) }
                s.current = [:]
            }
            return batch
        }
    }

    package func forget(id: Int) {
        state.withLock { s in
            s.current[id] = nil
            s.finished.removeAll { $0.id == id }
        }
    }

    package func current(id: Int) -> RollupBucket? { state.withLock { $0.current[id] } }

    package static func key(_ id: Int, _ resolution: Resolution, _ start: Int64) -> [UInt8] {
        UInt64(id).bigEndianBytes + [resolution.rawValue] + UInt64(bitPattern: start).bigEndianBytes
    }

    /// Adds `bucket` into its minute row and its hour row, and drops this service's rows past their windows.
    /// Without `addRows` only rows that exist take the bucket; the others are counted in `bucketsSkipped`.
    package func write(_ txn: LMDBTransaction, _ db: LMDBDatabase, id: Int, _ bucket: RollupBucket, now: Int64, addRows: Bool) throws {
        let hourStart = bucket.start / 3600 * 3600
        for (resolution, start) in [(Resolution.minute, bucket.start), (.hour, hourStart)] {
            let key = Self.key(id, resolution, start)
            let stored = try txn.get(db, key)
            if stored == nil && !addRows {
                skipped.add(1, ordering: .relaxed)
                continue
            }
            var merged = stored.flatMap { RollupBucket(start: start, encoded: $0) } ?? RollupBucket(start: start)
            merged.merge(bucket)
            try txn.put(db, key, merged.encoded)
        }
        try txn.deleteRange(db, from: Self.key(id, .minute, 0), to: Self.key(id, .minute, now - Self.minuteWindow))
        try txn.deleteRange(db, from: Self.key(id, .hour, 0), to: Self.key(id, .hour, now - Self.hourWindow))
    }

    static func deleteAll(_ txn: LMDBTransaction, _ db: LMDBDatabase, id: Int) throws {
        try txn.deleteRange(db, from: UInt64(id).bigEndianBytes, to: UInt64(id + 1).bigEndianBytes)
    }
}

/// What `GET /api/services/{id}/uptime` answers.
public struct UptimeReport: Sendable, Equatable {
    public var ratio24h: Double?
    public var ratio7d: Double?
    public var ratio30d: Double?
    public var minutes: [RollupBucket]
    public var hours: [RollupBucket]

    package static func ratio(_ buckets: some Sequence<RollupBucket>) -> Double? {
        var probes = 0
        var failures = 0
        for bucket in buckets {
            probes += bucket.probes
            failures += bucket.failures
        }
        return probes > 0 ? Double(probes - failures) / Double(probes) : nil
    }

    public func writeJSON(to w: inout JSONWriter) {
        func bucketArray(_ buckets: [RollupBucket]) {
            w.beginArray()
            for bucket in buckets {
                w.comma()
                w.beginObject()
                w.key("start")
                w.timestamp(Date(timeIntervalSince1970: Double(bucket.start)))
                w.key("probes")
                w.int(bucket.probes)
                w.key("failures")
                w.int(bucket.failures)
                w.key("latency_ms")
                w.beginObject()
                w.key("min")
                w.number(Self.rounded(bucket.minMs))
                w.key("avg")
                w.number(Self.rounded(bucket.avgMs))
                w.key("max")
                w.number(Self.rounded(bucket.maxMs))
                w.endObject()
                w.endObject()
            }
            w.endArray()
        }
        w.beginObject()
        w.key("24h")
        w.optional(ratio24h)
        w.key("7d")
        w.optional(ratio7d)
        w.key("30d")
        w.optional(ratio30d)
        w.key("minutes")
        bucketArray(minutes)
        w.key("hours")
        bucketArray(hours)
        w.endObject()
    }

    package static func rounded(_ ms: Double) -> Double { ms.isFinite ? (ms * 1000).rounded() / 1000 : 0 }
}

extension ServiceStore {
    /// Above this share of the map in use, rollups create no rows: they give way to what must not fail (records,
    /// probe results, history), which keep the rest. Rows that exist still take their probes and rows past their
    /// window are still dropped, which frees room, so rollups resume once usage is below the ceiling again. Checked
    /// before each batch; one batch adds at most two rows per probed service (about 150 bytes).
    public static let rollupCeiling = 0.9

    /// Whether rollups may create rows now: the bytes in use and a batch's working room stay under `rollupCeiling`
    /// of the map. LMDB copies every page a transaction changes, and reuses the pages a commit freed only from the
    /// commit after next: a batch transaction needs up to twice the pages it changes on top of those in use (about
    /// three per row, and never more than the whole database). On a 1 GiB map that is 12 MB; on a map of a few MB
    /// it is most of it (one full rewrite of the tree needs three times its size).
    ///
    /// And once the file itself reaches the ceiling, rollups grow only while the free list holds that working room:
    /// rows freed one page here and one there cannot take a record that needs several pages in a row, which only the
    /// end of the map still has.
    public var rollupsMayGrow: Bool {
        let usage = storageUsage
        let pagesChanged = min(3 * Self.rowsPerBatchTransaction, usage.usedBytes / max(usage.pageSize, 1))
        let workingRoom = 2 * pagesChanged * usage.pageSize
        let ceiling = Self.rollupCeiling * Double(usage.mapSize)
        let inUse = Double(usage.usedBytes + workingRoom) < ceiling
        let fileRoom = Double(usage.fileBytes + workingRoom) < ceiling || usage.fileBytes - usage.usedBytes >= workingRoom
        return inUse && fileRoom
    }

    /// Writes the finished rollup buckets (and with `everything`, the current ones), in transactions of at most
    /// `rowsPerBatchTransaction` services. Returns whether rollups could add rows (`rollupCeiling`), or nil when there was
    /// nothing to write (most flushes: a service's minute finishes only when its next probe lands in a later one).
    @discardableResult
    public func persistRollups(everything: Bool = false) async throws -> Bool? {
        let batch = rollups.take(everything: everything)
        guard !batch.isEmpty else { return nil }
        let db = dbs.rollups
        let now = Int64(now().timeIntervalSince1970)
        let addRows = rollupsMayGrow
        let rollups = rollups
        try await batchTransactions(batch) { txn, row in
            if txn.record(id: row.id) != nil { try rollups.write(txn.txn, db, id: row.id, row.bucket, now: now, addRows: addRows) }
        }
        return addRows
    }

    /// The rollups of service `id` as of `now`: stored rows plus the current minute in memory, oldest first,
    /// only buckets with probes, each list limited to its window.
    public func uptime(id: Int, now: Date) throws -> UptimeReport {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        var minutes: [RollupBucket] = []
        var hours: [RollupBucket] = []
        try env.read { txn in
            let prefix = UInt64(id).bigEndianBytes
            try txn.forEach(dbs.rollups, from: prefix) { key, value in
                guard key.count == 17, key.starts(with: prefix), let start = UInt64(bigEndianBytes: Array(key[9..<17])),
                    let bucket = RollupBucket(start: Int64(bitPattern: start), encoded: value)
                else { return false }
                if key[8] == UptimeRollups.Resolution.minute.rawValue { minutes.append(bucket) } else { hours.append(bucket) }
                return true
            }
        }
        if let live = rollups.current(id: id) {
            if let index = minutes.firstIndex(where: { $0.start == live.start }) { minutes[index].merge(live) } else { minutes.append(live) }
            let hourStart = live.start / 3600 * 3600
            if let index = hours.firstIndex(where: { $0.start == hourStart }) {
                hours[index].merge(live)
            } else {
                var hour = live
                hour.start = hourStart
                hours.append(hour)
            }
        }
        minutes = minutes.filter { $0.probes > 0 && $0.start > nowSeconds - UptimeRollups.minuteWindow }.sorted { $0.start < $1.start }
        hours = hours.filter { $0.probes > 0 && $0.start > nowSeconds - UptimeRollups.hourWindow }.sorted { $0.start < $1.start }
        return UptimeReport(
            ratio24h: UptimeReport.ratio(minutes),
            ratio7d: UptimeReport.ratio(hours.lazy.filter { $0.start > nowSeconds - 7 * 86_400 }),
            ratio30d: UptimeReport.ratio(hours), minutes: minutes, hours: hours)
    }
}
