import Foundation
import RegistryModel
import RegistrySupport
import Synchronization

/// A change the store committed, for observers such as the prober.
public enum StoreChange: Sendable {
    case upserted(ServiceRecord)
    case deleted(id: Int)
}

/// The service records: LMDB for durability, an in-memory snapshot for reads.
///
/// Writes run on one serial queue (LMDB allows one writer, and a blocking fsync must not occupy Swift
/// concurrency's few cooperative threads). A write is committed to LMDB before the in-memory snapshot
/// changes and before the caller is answered, so every acknowledged write is on disk.
public final class ServiceStore: Sendable {
    /// 2: probe results moved from the records to their own database.
    public static let schemaVersion: UInt64 = 2
    /// Schema migrations: the closure at index `n` upgrades version `n` to `n + 1`.
    static let migrations: [Int: @Sendable (LMDBTransaction, StoreDatabases) throws -> Void] = [
        1: moveProbeResultsOutOfRecords
    ]
    /// A service's history keeps its newest events: at most `historyLimit` of them and at most `historyByteLimit`
    /// bytes of stored JSON (SPEC §11; about 1,000 ordinary events, or about 200 whose detail is a 512-character
    /// target string). The newest event is always kept.
    public static let historyLimit = 1000
    public static let historyByteLimit = 128 * 1024

    package let env: LMDBEnvironment
    let dbs: StoreDatabases
    private let state: Mutex<ServiceSnapshot>
    private let observers = Mutex<[@Sendable (StoreChange) -> Void]>([])
    private let writeQueue = DispatchQueue(label: "service-registry.store.write")
    private let pendingWrites = Mutex<[PendingWrite]>([])
    /// Health transitions of probe results that are in memory but not yet in LMDB (see `setProbeResult`).
    private let pendingHistory = Mutex(PendingHistory())
    /// Keys of history rows, allocated when an event happens rather than when it is written.
    let historyKeys: HistoryKeys
    package let now: @Sendable () -> Date
    /// When memory is handed back after writes (see `noteWrites`).
    let housekeeping: StoreHousekeeping
    /// Per-service uptime rollups (SPEC §9): the current minutes in memory, the rest in `dbs.rollups`.
    public let rollups = UptimeRollups()
    /// Equal label sets share one dictionary (`LabelSets`).
    package let labelSets: LabelSets
    /// Recent changes by version, for `GET /api/events`.
    public let changes: ChangeLog

    /// Opens (creating if needed) the store in `directory`.
    public init(
        directory: String, mapSizeBytes: Int = 1 << 30, now: @escaping @Sendable () -> Date = Date.init,
        housekeeping: StoreHousekeeping = StoreHousekeeping(), changeRetention: ChangeLog.Retention = ChangeLog.Retention()
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let env = try LMDBEnvironment(path: directory, mapSize: mapSizeBytes)
        let dbs = StoreDatabases(
            services: try env.openDatabase("services"),
            names: try env.openDatabase("names"),
            meta: try env.openDatabase("meta"),
            ignored: try env.openDatabase("ignored"),
            history: try env.openDatabase("history"),
            probes: try env.openDatabase("probes"),
            rollups: try env.openDatabase("rollups")
        )
        self.env = env
        self.dbs = dbs
        self.now = now
        self.housekeeping = housekeeping
        try Self.migrate(env, dbs)
        historyKeys = HistoryKeys(
            next: try env.read { txn in
                try txn.get(dbs.meta, HistoryKeys.metaKey).flatMap(UInt64.init(bigEndianBytes:))
            } ?? 1)
        // Read the stored bytes in one transaction, then decode them on every core: decoding is nearly all of what a
        // start costs (100,000 services: two JSON documents each).
        var probeRows: [(id: Int, bytes: [UInt8])] = []
        var recordRows: [[UInt8]] = []
        try env.read { txn in
            try txn.forEach(dbs.probes) { key, value in
                if let id = UInt64(bigEndianBytes: key) { probeRows.append((Int(id), value)) }
                return true
            }
            try txn.forEach(dbs.services) { _, value in
                recordRows.append(value)
                return true
            }
        }
        let decodedProbes = try Self.decodeInParallel(probeRows.map(\.bytes), as: ProbeResult.self)
        // In key order, so ascending ids: found by binary search rather than through a 100,000-entry dictionary.
        let probeIDs = probeRows.map(\.id)
        probeRows = []
        var snapshot = ServiceSnapshot(entries: [:], order: [], byName: [:], version: 0)
        snapshot.order.reserveCapacity(recordRows.count)
        // Only a name that is not ASCII can be keyed otherwise in the name index (ASCII is NFC already).
        var nonASCIINames: [ServiceRecord] = []
        // Each record is completed and boxed where it is decoded, so the serial part moves pointers, not records.
        let labelSets = LabelSets()
        self.labelSets = labelSets
        let loaded = try Self.decodeInParallel(recordRows, as: ServiceRecord.self) { record in
            var record = record
            record.lastProbe = Self.probe(record.id, ids: probeIDs, results: decodedProbes)
            record.labels = labelSets.intern(record.labels)
            return ServiceSnapshot.Entry(record)
        }
        for entry in loaded {
            if !Self.isASCII(entry.record.name) { nonASCIINames.append(entry.record) }
            snapshot.put(entry)
        }
        recordRows = []
        try Self.rekeyNames(env, dbs, nonASCIINames)
        // Versions continue from the wall clock in microseconds: a restarted daemon's versions are above the last
        // run's (so an event stream resumed across a restart gets `reset`, never a wrong "nothing missed"), and
        // stay below 2^53, exact in every JSON parser.
        snapshot.version = max(snapshot.version, UInt64(max(0, Date().timeIntervalSince1970) * 1_000_000))
        state = Mutex(snapshot)
        changes = ChangeLog(startVersion: snapshot.version, retention: changeRetention)
        changes.onFlush { [weak self] ids in self?.logDeferredTimings(ids) }
        // Everything is in memory now: drop the map's pages from our resident set, and give back the heap
        // that decoding (and a migration) used.
        env.releaseMappedPages()
        FreedMemory.releaseNow()
    }

    /// Decodes each document (`StoredJSON`: the project's parser, `JSONDecoder` where it is not certain), in chunks
    /// spread over the cores; the first error is thrown.
    static func decodeInParallel<T: StoredJSONDecodable & Sendable>(_ documents: [[UInt8]], as type: T.Type) throws -> [T] {
        try decodeInParallel(documents, as: type) { $0 }
    }

    /// `decodeInParallel`, each value then passed through `transform` on the core that decoded it.
    static func decodeInParallel<T: StoredJSONDecodable, U: Sendable>(
        _ documents: [[UInt8]], as type: T.Type,
        _ transform: @Sendable (T) -> U
    ) throws -> [U] {
        if documents.isEmpty { return [] }
        let chunks = min(documents.count, max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
        let results = Mutex<[Int: Result<[U], any Error>]>([:])
        documents.withUnsafeBufferPointer { all in
            nonisolated(unsafe) let all = all
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = (all.count * chunk / chunks)..<(all.count * (chunk + 1) / chunks)
                let decoder = JSONDecoder()
                let outcome = Result { try range.map { transform(try StoredJSON.decode(T.self, from: all[$0], fallback: decoder)) } }
                results.withLock { $0[chunk] = outcome }
            }
        }
        return try results.withLock { results in try (0..<chunks).flatMap { try results[$0]!.get() } }
    }

    /// The probe result of `id` among `results`, whose ids are `ids` in ascending order (the probes database's key
    /// order): a binary search.
    package static func probe(_ id: Int, ids: [Int], results: [ProbeResult]) -> ProbeResult? {
        let index = ids.partitioningIndex { $0 >= id }
        return index < ids.count && ids[index] == id ? results[index] : nil
    }

    /// The name index's key: the name in Unicode NFC, so that names are unique as people read them (SPEC §11):
    /// "café" typed precomposed and with a combining accent is one name. Records keep the name as sent.
    /// ASCII is already NFC: the common case skips Foundation's normalisation (it ran for every record at start).
    static func nameKey(_ name: String) -> [UInt8] {
        isASCII(name) ? Array(name.utf8) : Array(name.precomposedStringWithCanonicalMapping.utf8)
    }

    private static func isASCII(_ name: String) -> Bool { name.utf8.allSatisfy { $0 < 0x80 } }

    /// Databases written before names were keyed in NFC: re-key the (rare) non-NFC names. Idempotent, and a
    /// no-op write-free pass when every name is already NFC (all ASCII names are).
    private static func rekeyNames(_ env: LMDBEnvironment, _ dbs: StoreDatabases, _ records: [ServiceRecord]) throws {
        let stale = records.filter { Array($0.name.utf8) != nameKey($0.name) }
        if stale.isEmpty { return }
        try env.write { txn in
            for record in stale {
                try txn.delete(dbs.names, Array(record.name.utf8))
                try txn.put(dbs.names, nameKey(record.name), UInt64(record.id).bigEndianBytes)
            }
        }
    }

    private static func migrate(_ env: LMDBEnvironment, _ dbs: StoreDatabases) throws {
        try env.write { txn in
            let stored = try txn.get(dbs.meta, Array("schema_version".utf8)).flatMap(UInt64.init(bigEndianBytes:))
            var version = stored ?? schemaVersion
            if version > schemaVersion {
                throw StoreOpenError(
                    "the data directory was written by a newer service-registry (schema \(version), this build knows \(schemaVersion))")
            }
            while version < schemaVersion {
                try migrations[Int(version)]?(txn, dbs)
                version += 1
            }
            try txn.put(dbs.meta, Array("schema_version".utf8), version.bigEndianBytes)
        }
    }

    /// 1 → 2: each record's `lastProbe` goes to the `probes` database, and the record is stored without it.
    private static func moveProbeResultsOutOfRecords(_ txn: LMDBTransaction, _ dbs: StoreDatabases) throws {
        var records: [ServiceRecord] = []
        try txn.forEach(dbs.services) { _, value in
            records.append(try JSONDecoder().decode(ServiceRecord.self, from: Data(value)))
            return true
        }
        for record in records where record.lastProbe != nil {
            try txn.put(dbs.probes, UInt64(record.id).bigEndianBytes, Array(try JSONEncoder().encode(record.lastProbe)))
            var stored = record
            stored.lastProbe = nil
            try txn.put(dbs.services, UInt64(record.id).bigEndianBytes, Array(try JSONEncoder().encode(stored)))
        }
    }

    // MARK: Reads

    public func snapshot() -> ServiceSnapshot { state.withLock { $0 } }

    public func record(id: Int) -> ServiceRecord? { state.withLock { $0.record(id: id) } }

    /// Called after every committed change, on the writer's queue; keep it short.
    public func observe(_ handler: @escaping @Sendable (StoreChange) -> Void) {
        observers.withLock { $0.append(handler) }
    }

    // MARK: Writes

    /// Runs `body` on the writer queue after the writes queued before it (the watchdog's liveness check).
    public func runOnWriter(_ body: @escaping @Sendable () -> Void) { writeQueue.async(execute: body) }

    /// Runs `body` in an LMDB write transaction. Changes it makes through the `StoreTransaction` reach the
    /// in-memory snapshot and observers only after the commit succeeded.
    ///
    /// Group commit: writes that arrive while a commit is in progress are run together in the next
    /// transaction, each in its own nested transaction (a body that throws rolls back alone), and share
    /// one fsync. Every caller is answered only after that commit.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (inout StoreTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let write = PendingWrite()
            var result: T?
            write.apply = { txn in result = try body(&txn) }
            write.finish = { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: result!) }
            }
            pendingWrites.withLock { $0.append(write) }
            writeQueue.async { self.commitPendingWrites() }
        }
    }

    /// The same, blocking the calling thread; for start-up and tests.
    public func transactionSync<T>(_ body: (inout StoreTransaction) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var outcome: Result<T, any Error>?
            let write = PendingWrite()
            write.apply = { txn in outcome = .success(try body(&txn)) }
            write.finish = { error in if let error { outcome = .failure(error) } }
            writeQueue.sync { commit([write]) }
            return try outcome!.get()
        }
    }

    /// At most this many writes share one transaction, so one commit stays short.
    static let maxBatch = 256

    private func commitPendingWrites() {
        let batch = pendingWrites.withLock { pending in
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            return batch
        }
        if !batch.isEmpty { commit(batch) }
    }

    /// Runs a batch in one LMDB transaction; on the writer queue only.
    private func commit(_ batch: [PendingWrite]) {
        var pending = StoreTransaction(base: snapshot(), dbs: dbs, now: now(), historyKeys: historyKeys)
        var outcomes: [(any Error)?] = Array(repeating: nil, count: batch.count)
        do {
            try env.write { txn in
                for (index, write) in batch.enumerated() {
                    let saved = pending
                    do {
                        try txn.nested { child in
                            pending.txn = child
                            defer { pending.txn = nil }
                            try write.apply(&pending)
                        }
                    } catch {
                        pending = saved
                        outcomes[index] = Self.mapStorageError(error)
                    }
                }
            }
        } catch {
            let failure = Self.mapStorageError(error)
            for write in batch { write.finish(failure) }
            return
        }
        publish(pending)
        for (write, outcome) in zip(batch, outcomes) { write.finish(outcome) }
        noteWrites(pending.recordWrites)
        // Without this the pages these commits read stayed mapped until the burst's housekeeping (up to `longestBurst`
        // later): at 1,000 PUTs/s, up to 130 MB of the data file.
        noteRowsForMapRelease(pending.recordWrites)
    }

    private static func mapStorageError(_ error: any Error) -> any Error {
        guard let error = error as? LMDBError else { return error }
        return error.isMapFull ? RegistryError.storageFull : RegistryError.storage(error.description)
    }

    /// Applies committed changes to the in-memory snapshot and tells observers.
    private func publish(_ pending: StoreTransaction) {
        guard !pending.changes.isEmpty else { return }
        // Probe results may have changed the in-memory records since `base` was taken; keep them.
        state.withLock { snapshot in
            for change in pending.changes {
                switch change {
                case .upserted(var record):
                    if !pending.resetProbe.contains(record.id), let live = snapshot.record(id: record.id) {
                        record.lastProbe = live.lastProbe
                    }
                    record.labels = labelSets.intern(record.labels)
                    snapshot.put(record)
                    changes.append(id: record.id, kind: .upsert, version: snapshot.version)
                case .deleted(let id):
                    snapshot.remove(id: id)
                    changes.append(id: id, kind: .delete, version: snapshot.version)
                }
            }
        }
        // A deleted service's history went with it, written or not.
        let deleted = pending.changes.compactMap { change -> Int? in if case .deleted(let id) = change { id } else { nil } }
        if !deleted.isEmpty { pendingHistory.withLock { history in for id in deleted { history.events[id] = nil } } }
        for case .deleted(let id) in pending.changes { rollups.forget(id: id) }
        let handlers = observers.withLock { $0 }
        for change in pending.changes { for handler in handlers { handler(change) } }
    }

    // MARK: Probe results

    /// Stores a probe result in memory at once; `persistProbeResults` writes them in batches.
    /// When the result changes the record's health, the transition joins the service's history in the same
    /// step (in memory until the next batch writes it), so a reader that sees the new health also finds the
    /// transition in `history(id:)` (SPEC §2: reads agree).
    /// Returns the record as it now is, or nil when it was deleted meanwhile.
    @discardableResult
    public func setProbeResult(id: Int, _ result: ProbeResult) -> ServiceRecord? {
        state.withLock { snapshot in
            guard var record = snapshot.record(id: id) else { return nil }
            let before = record.healthStatus
            let previous = record.lastProbe
            record.lastProbe = result
            snapshot.put(record)
            let timingsOnly = record.healthStatus == before && previous.map { result.differsOnlyInTimings(from: $0) } ?? false
            changes.append(id: id, kind: timingsOnly ? .timings : .upsert, version: snapshot.version)
            if record.healthStatus != before {
                let event = HistoryEvent(
                    at: result.finishedAt, kind: .health, from: before.rawValue,
                    to: record.healthStatus.rawValue, detail: result.error)
                let key = historyKeys.next()
                // Taken inside the snapshot's lock: nobody sees the new health before the event is there.
                pendingHistory.withLock { $0.append(id: id, key: key, event) }
            }
            return record
        }
    }

    /// Logs timing-only changes the change log held back (at most one per service per second, SPEC §10), each at a
    /// new version: the record a reader gets then carries the latest timings.
    private func logDeferredTimings(_ ids: [Int]) {
        state.withLock { snapshot in
            for id in ids where snapshot.record(id: id) != nil {
                snapshot.version &+= 1
                changes.append(id: id, kind: .timings, version: snapshot.version)
            }
        }
    }

    /// Writes the current probe results of `ids`, the health transitions waiting in memory and the given
    /// history events, in transactions of at most `rowsPerBatchTransaction` rows. Results have their own database, a
    /// few hundred bytes each, so a batch rewrites no record. Transitions stay readable from memory until they are
    /// committed; if a transaction fails they stay there for the next batch (rewriting a row is harmless).
    public func persistProbeResults(ids: Set<Int>, history: [(id: Int, event: HistoryEvent)] = []) async throws {
        let waiting = pendingHistory.withLock { $0.all() }
        enum Row: Sendable {
            case result(Int)
            case waiting(id: Int, key: UInt64, event: HistoryEvent)
            case event(Int, HistoryEvent)
        }
        let rows = ids.map(Row.result) + waiting.map(Row.waiting) + history.map { Row.event($0.id, $0.event) }
        try await batchTransactions(rows) { txn, row in
            // A service deleted meanwhile keeps no result and no history (its history was deleted with it). The
            // transaction sees each record with its live probe result (`setProbeResult` changes memory first).
            switch row {
            case .result(let id):
                guard let record = txn.record(id: id) else { return }
                try txn.writeProbeResult(id: id, record.lastProbe)
            case .waiting(let item):
                if txn.record(id: item.id) != nil { try txn.appendHistory(id: item.id, item.event, key: item.key) }
            case .event(let id, let event):
                if txn.record(id: id) != nil { try txn.appendHistory(id: id, event) }
            }
        }
        pendingHistory.withLock { $0.remove(waiting) }
    }

    /// LMDB keeps every page a write transaction dirtied, as a malloc'd copy, in a free list it never shrinks: the
    /// largest transaction so far sets that memory for the daemon's life. A probe result or a rollup row dirties about
    /// one page (rows of 100,000 services are spread over the whole file), so a batch of a second's 1,667 results and
    /// rollups held about 14 MB. At this many rows the list stays near 2 MB, for a few more commits a second.
    static let rowsPerBatchTransaction = 500

    /// `write` applied to each of `rows`, in transactions of at most `rowsPerBatchTransaction` rows, one after another.
    func batchTransactions<Row: Sendable>(
        _ rows: [Row], _ write: @escaping @Sendable (inout StoreTransaction, Row) throws -> Void
    ) async throws {
        for start in stride(from: 0, to: rows.count, by: Self.rowsPerBatchTransaction) {
            let chunk = rows[start..<min(start + Self.rowsPerBatchTransaction, rows.count)]
            try await transaction { txn in
                for row in chunk {
                    try write(&txn, row)
                    self.noteRowsForMapRelease(1)
                }
            }
            // And what the last rows and the commit read: the batch leaves none of the file resident.
            writeQueue.async { self.releaseMapPages() }
        }
    }

    /// LMDB reads each page a write rewrites through the map, and those pages stay resident: probe results and uptime
    /// rollups are written every second, a row per probed service, spread over the whole file, so within seconds the
    /// whole file (72 MB at 100,000 services) was resident again. The map's pages are dropped every `rowsPerMapRelease`
    /// rows written (API records and batch rows alike, also inside a transaction) and after each batch transaction,
    /// which keeps RSS to the memory the daemon owns plus what 100 rows read; later rows re-read their pages from the
    /// page cache (minor faults, no disk reads). Once per batch was not enough: the minute's rollups of 100,000 services are 200 transactions in a row,
    /// and sampled during them the data file added up to 57 MB of RSS. Once per transaction left 35 MB: the kernel maps
    /// the 16 pages around each page read (fault-around, which MADV_RANDOM does not turn off), 64 KB for each of a
    /// rollup row's pages. On the writer queue only.
    private func noteRowsForMapRelease(_ rows: Int) {
        guard rows > 0, rowsSinceMapRelease.add(rows, ordering: .relaxed).newValue >= Self.rowsPerMapRelease else { return }
        releaseMapPages()
    }

    /// Drops the map's pages now and starts the row count over; on the writer queue only.
    private func releaseMapPages() {
        rowsSinceMapRelease.store(0, ordering: .relaxed)
        env.releaseMappedPages()
    }

    /// Rows written between two releases of the map's pages (about 6 MB of pages read).
    static let rowsPerMapRelease = 100
    /// Rows written since the map's pages were last dropped (`noteRowsForMapRelease`).
    private let rowsSinceMapRelease = Atomic<Int>(0)

    /// The service's transitions, oldest first: those in LMDB and those still waiting in memory for the
    /// next batch. The memory is read first: an event written and dropped from memory in between is then
    /// in LMDB, and one found in both is the same key, counted once.
    public func history(id: Int, limit: Int = historyLimit) throws -> [HistoryEvent] {
        let waiting = pendingHistory.withLock { $0.events[id] ?? [] }
        let decoder = JSONDecoder()
        var events: [(key: UInt64, event: HistoryEvent)] = try env.read { txn in
            var events: [(UInt64, HistoryEvent)] = []
            let prefix = UInt64(id).bigEndianBytes
            try txn.forEach(dbs.history, from: prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                events.append(
                    (
                        UInt64(bigEndianBytes: Array(key.dropFirst(prefix.count))) ?? 0,
                        try StoredJSON.decode(HistoryEvent.self, from: value, fallback: decoder)
                    ))
                return true
            }
            return events
        }
        if !waiting.isEmpty {
            let stored = Set(events.map(\.key))
            events += waiting.filter { !stored.contains($0.key) }
            events.sort { $0.key < $1.key }
        }
        return events.suffix(limit).map(\.event)
    }

    // MARK: Ignored units

    public func ignoredUnits() throws -> [(unit: String, since: Date)] {
        try env.read { txn in
            var units: [(String, Date)] = []
            try txn.forEach(dbs.ignored) { key, value in
                let seconds = UInt64(bigEndianBytes: value).map { Double($0) } ?? 0
                units.append((String(decoding: key, as: UTF8.self), Date(timeIntervalSince1970: seconds)))
                return true
            }
            return units
        }
    }

    /// Bytes in use, the file's size, the map size (`--map-size-mb`) and LMDB's page size (`LMDBEnvironment.usage`).
    public var storageUsage: StorageUsage { env.usage() }

    /// Records written since the last housekeeping, when the first and the last of them were committed, and
    /// whether housekeeping is scheduled.
    private let burst = Mutex<(writes: Int, first: DispatchTime, last: DispatchTime, scheduled: Bool)>((0, .now(), .now(), false))
    /// Writes (a fleet registering at once, probe results) leave freed heap behind, and the LMDB pages the
    /// commits read stay resident: the whole data file, over time. Once a burst of `minimumWrites` has been
    /// quiet for `quietDelay`, or has gone on for `longestBurst`, both go back to the OS on the writer queue, so
    /// RSS follows the data rather than the peak. Re-reading a released page costs a minor fault.
    private func noteWrites(_ records: Int) {
        guard records > 0 else { return }
        let deadline = burst.withLock { burst -> DispatchTime? in
            let now = DispatchTime.now()
            if burst.writes == 0 { burst.first = now }
            burst.writes += records
            burst.last = now
            guard burst.writes >= housekeeping.minimumWrites, !burst.scheduled else { return nil }
            burst.scheduled = true
            return min(now + housekeeping.quietDelay, burst.first + housekeeping.longestBurst)
        }
        if let deadline { scheduleHousekeeping(at: deadline) }
    }

    private func scheduleHousekeeping(at deadline: DispatchTime) {
        // Weak: a store its owner let go of closes now (its map unmapped), not when the housekeeping is due.
        writeQueue.asyncAfter(deadline: deadline) { [weak self] in
            guard let self else { return }
            let notYet = self.burst.withLock { burst -> DispatchTime? in
                let due = min(burst.last + self.housekeeping.quietDelay, burst.first + self.housekeeping.longestBurst)
                if due > .now() { return due }
                burst.writes = 0
                burst.scheduled = false
                return nil
            }
            if let notYet { return self.scheduleHousekeeping(at: notYet) }
            FreedMemory.releaseNow()
            self.env.releaseMappedPages()
        }
    }
}

/// When the store hands memory back after writes (see `ServiceStore.noteWrites`). Times in seconds.
public struct StoreHousekeeping: Sendable {
    /// Housekeeping waits for at least this many record writes...
    public var minimumWrites = 100
    /// ...then runs once they have been quiet this long...
    public var quietDelay = 2.0
    /// ...or at the latest this long after the first of them, as writes keep coming from a busy prober.
    public var longestBurst = 5.0

    public init(minimumWrites: Int = 100, quietDelay: Double = 2.0, longestBurst: Double = 5.0) {
        self.minimumWrites = minimumWrites
        self.quietDelay = quietDelay
        self.longestBurst = longestBurst
    }
}

/// A write waiting for the next group commit. Touched only on the writer queue after it is enqueued.
final class PendingWrite: @unchecked Sendable {
    package var apply: (inout StoreTransaction) throws -> Void = { _ in }
    /// Called once, after the commit (nil) or with the reason this write failed.
    package var finish: ((any Error)?) -> Void = { _ in }
}

public struct StoreOpenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

package struct StoreDatabases: Sendable {
    package let services: LMDBDatabase
    package let names: LMDBDatabase
    package let meta: LMDBDatabase
    package let ignored: LMDBDatabase
    package let history: LMDBDatabase
    /// Last probe result per service id (JSON), apart from the records so that persisting results rewrites no record.
    package let probes: LMDBDatabase
    /// Uptime rollups per service (`UptimeRollups`): minute and hour buckets.
    package let rollups: LMDBDatabase
}

/// What a write transaction may do. Reads see the transaction's own earlier changes.
public struct StoreTransaction {
    package let base: ServiceSnapshot
    let dbs: StoreDatabases
    package var txn: LMDBTransaction!
    /// The commit time, for `created_at` / `updated_at`.
    public let now: Date
    package var changes: [StoreChange] = []
    /// Rows of records and probe results written or deleted, for the store's housekeeping after bursts.
    var recordWrites = 0
    var overlay: [Int: ServiceRecord?] = [:]
    package var resetProbe: Set<Int> = []

    let historyKeys: HistoryKeys

    package init(base: ServiceSnapshot, dbs: StoreDatabases, now: Date, historyKeys: HistoryKeys) {
        self.base = base
        self.dbs = dbs
        self.now = now
        self.historyKeys = historyKeys
    }

    public func record(id: Int) -> ServiceRecord? {
        if let changed = overlay[id] { return changed }
        return base.record(id: id)
    }

    public func record(named name: String) throws -> ServiceRecord? {
        guard let bytes = try txn.get(dbs.names, ServiceStore.nameKey(name)), let id = UInt64(bigEndianBytes: bytes) else { return nil }
        return record(id: Int(id))
    }

    /// All records as this transaction sees them, in id order.
    public var records: [ServiceRecord] {
        var ids = base.order.filter { overlay[$0] == nil || overlay[$0]! != nil }
        ids.append(contentsOf: overlay.compactMap { $0.value == nil || base.entries[$0.key] != nil ? nil : $0.key })
        return ids.sorted().compactMap(record(id:))
    }

    /// Allocates the next id from the persistent sequence (ids are never reused).
    public mutating func nextID() throws -> Int {
        let key = Array("next_id".utf8)
        let next = try txn.get(dbs.meta, key).flatMap(UInt64.init(bigEndianBytes:)) ?? 1
        try txn.put(dbs.meta, key, (next + 1).bigEndianBytes)
        return Int(next)
    }

    /// Inserts or replaces a record, keeping the name index unique.
    /// - Parameter resetProbe: the probe target changed, so the last result no longer applies.
    public mutating func save(_ record: ServiceRecord, resetProbe: Bool = false) throws {
        if let existing = try self.record(named: record.name), existing.id != record.id {
            throw RegistryError.nameTaken(record.name)
        }
        let old = self.record(id: record.id)
        if let old, old.name != record.name {
            try txn.delete(dbs.names, ServiceStore.nameKey(old.name))
        }
        if let old, old.status != record.status {
            try appendHistory(id: record.id, HistoryEvent(at: now, kind: .status, from: old.status.rawValue, to: record.status.rawValue))
        }
        var record = record
        if resetProbe {
            record.lastProbe = nil
            self.resetProbe.insert(record.id)
        } else if let live = base.record(id: record.id) {
            record.lastProbe = live.lastProbe
        }
        // Health that changes without a probe (systemd state, heartbeat, TTL expiry, TCP switch) is a
        // transition too (SPEC §9); becoming `unknown` because the target changed is not recorded.
        let oldHealth = old?.healthStatus ?? .unknown
        if oldHealth != record.healthStatus, record.healthStatus != .unknown {
            let reason = record.checks.first(where: { $0.status == .critical })?.output
            try appendHistory(
                id: record.id,
                HistoryEvent(
                    at: now, kind: .health, from: oldHealth.rawValue,
                    to: record.healthStatus.rawValue, detail: reason))
        }
        // The record and its probe result are saved together, so what memory holds after the commit is on disk.
        try writeProbeResult(id: record.id, record.lastProbe)
        try txn.put(dbs.names, ServiceStore.nameKey(record.name), UInt64(record.id).bigEndianBytes)
        try writeStored(record)
        overlay[record.id] = record
        changes.append(.upserted(record))
    }

    public mutating func delete(id: Int) throws {
        guard let old = record(id: id) else { throw RegistryError.notFound }
        try txn.delete(dbs.services, UInt64(id).bigEndianBytes)
        try writeProbeResult(id: id, nil)
        try txn.delete(dbs.names, ServiceStore.nameKey(old.name))
        let prefix = UInt64(id).bigEndianBytes
        try txn.deleteRange(dbs.history, from: prefix, to: UInt64(id + 1).bigEndianBytes)
        try UptimeRollups.deleteAll(txn, dbs.rollups, id: id)
        overlay[id] = .some(nil)
        changes.append(.deleted(id: id))
    }

    // Ignored units: a deleted discovered service is not re-created by later scans.

    public func isIgnored(unit: String) throws -> Bool { try txn.get(dbs.ignored, Array(unit.utf8)) != nil }

    public mutating func ignore(unit: String) throws {
        try txn.put(dbs.ignored, Array(unit.utf8), UInt64(now.timeIntervalSince1970).bigEndianBytes)
    }

    /// Returns false when the unit was not ignored.
    public mutating func unignore(unit: String) throws -> Bool { try txn.delete(dbs.ignored, Array(unit.utf8)) }

    /// Appends a transition, dropping the oldest beyond `ServiceStore.historyLimit` events or
    /// `ServiceStore.historyByteLimit` bytes.
    /// - Parameter key: the key allocated when the event happened (a probe result's transition waiting in
    ///   memory); a new one by default. Keys order a service's history.
    public mutating func appendHistory(id: Int, _ event: HistoryEvent, key: UInt64? = nil) throws {
        let prefix = UInt64(id).bigEndianBytes
        let seq = key ?? historyKeys.next()
        // Every key handed out so far stays below the stored value, so none is reused after a restart.
        try txn.put(dbs.meta, HistoryKeys.metaKey, historyKeys.peekNext().bigEndianBytes)
        let encoded = try JSONEncoder().encode(event)
        try txn.put(dbs.history, prefix + seq.bigEndianBytes, Array(encoded))
        var events: [(key: [UInt8], bytes: Int)] = []
        try txn.forEach(dbs.history, from: prefix) { key, value in
            guard key.starts(with: prefix) else { return false }
            events.append((key, value.count))
            return true
        }
        // Newest first: keep while both budgets allow (the newest event whatever its size).
        var keep = 0
        var bytes = 0
        for event in events.reversed() {
            if keep == ServiceStore.historyLimit || (keep > 0 && bytes + event.bytes > ServiceStore.historyByteLimit) { break }
            keep += 1
            bytes += event.bytes
        }
        for event in events.dropLast(keep) { try txn.delete(dbs.history, event.key) }
    }

    /// Stores a record without its probe result, which lives in `dbs.probes` (`writeProbeResult`).
    mutating func writeStored(_ record: ServiceRecord) throws {
        recordWrites += 1
        var stored = record
        stored.lastProbe = nil
        try txn.put(dbs.services, UInt64(record.id).bigEndianBytes, Array(try JSONEncoder().encode(stored)))
    }

    mutating func writeProbeResult(id: Int, _ result: ProbeResult?) throws {
        recordWrites += 1
        let key = UInt64(id).bigEndianBytes
        if let result {
            try txn.put(dbs.probes, key, Array(try JSONEncoder().encode(result)))
        } else {
            _ = try txn.delete(dbs.probes, key)
        }
    }
}

/// Allocates history row keys (ascending, never reused; persisted in `meta` as `history_seq`, the next key).
package final class HistoryKeys: Sendable {
    static let metaKey = Array("history_seq".utf8)
    private let nextKey: Mutex<UInt64>

    init(next: UInt64) { nextKey = Mutex(next) }

    package func next() -> UInt64 {
        nextKey.withLock { key in
            defer { key += 1 }
            return key
        }
    }
    func peekNext() -> UInt64 { nextKey.withLock { $0 } }
}

/// Health transitions in memory until a batch writes them, per service, each with its history key.
struct PendingHistory {
    package var events: [Int: [(key: UInt64, event: HistoryEvent)]] = [:]

    package mutating func append(id: Int, key: UInt64, _ event: HistoryEvent) {
        events[id, default: []].append((key, event))
        // Bounded like the stored history, should writes keep failing.
        if events[id]!.count > ServiceStore.historyLimit { events[id]!.removeFirst() }
    }

    package func all() -> [(id: Int, key: UInt64, event: HistoryEvent)] {
        events.flatMap { id, list in list.map { (id, $0.key, $0.event) } }
    }

    package mutating func remove(_ written: [(id: Int, key: UInt64, event: HistoryEvent)]) {
        let keys = Set(written.map(\.key))
        for id in Set(written.map(\.id)) {
            events[id]?.removeAll { keys.contains($0.key) }
            if events[id]?.isEmpty == true { events[id] = nil }
        }
    }
}
