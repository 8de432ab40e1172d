import Foundation
import Logging
import RegistryModel
import RegistryStore
import RegistrySupport
import ServiceLifecycle
import Synchronization

/// Continuous health probing (SPEC §3) as a lifecycle `Service`: the engine's thread probes and keeps
/// results in the store's memory; `run()` writes them to LMDB in batches (one transaction at most about
/// once a second) and flushes the last batch at graceful shutdown, so a restart shows the last results.
public final class HealthProber: Service, ServiceProber {
    /// How long a result that changes nothing but timings may wait in memory before it is written.
    static let routinePersistDelay = 30.0

    public let statistics: ProbeStatisticsRecorder
    /// Expiring registrations (SPEC §9), swept with the TTL checks about once a second.
    public let deregistration = Deregistration()
    private let store: ServiceStore
    private let settings: ProbeSettings
    private let logger: Logger
    private let engine: ProbeEngine
    private let pending = PendingProbeResults()
    /// Whether the last rollup batch was held back by `ServiceStore.rollupCeiling` (logged when it changes).
    private let rollupsHeldBack = Atomic<Bool>(false)

    public init(store: ServiceStore, settings: ProbeSettings, logger: Logger) {
        let statistics = ProbeStatisticsRecorder()
        self.statistics = statistics
        self.store = store
        self.settings = settings
        self.logger = logger
        engine = ProbeEngine(store: store, settings: settings, statistics: statistics, logger: logger) { [pending] id, changed in
            pending.add(id: id, changed: changed)
        }
        // Registered before the engine reads the store, so no change between the two is missed.
        store.observe { [engine] change in
            switch change {
            case .upserted(let record): engine.post(.refresh(id: record.id))
            case .deleted(let id): engine.post(.refresh(id: id))
            }
        }
    }

    public func run() async throws {
        engine.start()
        logger.info(
            "prober started",
            metadata: [
                "interval": "\(settings.interval)", "timeout": "\(settings.timeout)", "concurrency": "\(settings.concurrency)",
            ])
        try? await cancelWhenGracefulShutdown {
            var flushes = 0
            while true {
                try await Task.sleep(for: .seconds(self.settings.persistInterval))
                await self.flush()
                await self.maintain(now: Date())
                flushes += 1
                // Each batch allocates and frees on several threads' malloc arenas (engine thread, LMDB
                // writer queue); glibc keeps the freed pages. Handing them back every ~10 s keeps RSS flat.
                if flushes % 10 == 0 { FreedMemory.releaseNow() }
            }
        }
        await engine.stop()
        await flush(everything: true)
        logger.info("prober stopped")
    }

    /// SIGTERM arrived: stop starting probes now, in parallel with the server finishing its requests (a check in
    /// flight is answered within the prober's bounded grace), rather than when the lifecycle reaches this
    /// service. `run()` then only waits for the thread and writes the last batch.
    public func beginShutdown() {
        engine.beginStop()
    }

    public func checkNow(id: Int) async throws -> ServiceRecord {
        guard let record = store.record(id: id) else { throw RegistryError.notFound }
        // Nothing to probe: the record stays `unknown` (SPEC §3).
        guard let request = ProbeRequest(record: record, settings: settings) else { return record }
        let updated = try await withCheckedThrowingContinuation { (reply: CheckedContinuation<ServiceRecord, any Error>) in
            engine.post(.check(id: id, request: request, reply: reply))
        }
        await flush()  // a check's result is written in this batch (it is always "changed")
        return updated
    }

    /// Time-based health (SPEC §9): expired TTL checks become critical, records unhealthy for longer than
    /// their `deregister_after_seconds` are deleted. Also called by tests with a clock they control.
    func maintain(now: Date) async {
        do {
            try await TTLCheck.sweep(store, now: now)
            let deleted = try await deregistration.sweep(store, now: now, logger: logger)
            if !deleted.isEmpty { statistics.noteDeregistrations(deleted.count) }
        } catch {
            logger.error("cannot apply TTL expiry or deregistration", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the pending results that are due (in LMDB transactions of `ServiceStore.rowsPerBatchTransaction` rows
    /// at most): every changed result (health, status code or error) at once, a result that only refreshes timings
    /// within `routinePersistDelay`, everything at shutdown. Health transitions go with them; until then the store serves them from
    /// memory beside the stored history. Re-encoding every record on every probe cost about a quarter of the
    /// prober's CPU at 1,000 probes/s (Benchmarks/probe.sh); a crash loses at most that much timing detail.
    package func flush(everything: Bool = false) async {
        do {
            if let grew = try await store.persistRollups(everything: everything), rollupsHeldBack.exchange(!grew, ordering: .relaxed) != !grew {
                let usage = store.storageUsage
                let metadata: Logger.Metadata = ["used_bytes": "\(usage.usedBytes)", "map_bytes": "\(usage.mapSize)"]
                if grew {
                    logger.info("storage below the rollup ceiling again: uptime rollups add rows", metadata: metadata)
                } else {
                    logger.warning(
                        "storage is over \(Int(ServiceStore.rollupCeiling * 100))% of --map-size-mb: uptime rollups add no rows until that changes; raise --map-size-mb",
                        metadata: metadata)
                }
            }
        } catch {
            logger.error("cannot persist uptime rollups", metadata: ["error": "\(error)"])
        }
        let batch = pending.take(now: Date().timeIntervalSince1970, routineDelay: everything ? 0 : Self.routinePersistDelay)
        guard !batch.ids.isEmpty else { return }
        do {
            try await store.persistProbeResults(ids: batch.ids)
        } catch {
            // Memory keeps the results and their transitions; retry them with the next batch.
            logger.error("cannot persist probe results", metadata: ["error": "\(error)"])
            pending.retry(ids: batch.ids)
        }
    }
}

/// Results stored in memory but not yet in LMDB, filled by the engine's thread, taken by `flush`.
final class PendingProbeResults: Sendable {
    struct Batch {
        package var ids: Set<Int> = []
    }

    private struct State {
        var changed: Set<Int> = []
        /// Results that only refresh timings, with when the oldest unwritten one arrived.
        var routine: [Int: Double] = [:]
    }

    private let state = Mutex(State())

    package func add(id: Int, changed: Bool, now: Double = Date().timeIntervalSince1970) {
        state.withLock { s in
            if changed {
                s.changed.insert(id)
                s.routine[id] = nil
            } else if !s.changed.contains(id), s.routine[id] == nil {
                s.routine[id] = now
            }
        }
    }

    /// Takes every changed result and the routine ones waiting `routineDelay` or longer.
    package func take(now: Double, routineDelay: Double) -> Batch {
        state.withLock { s in
            var batch = Batch(ids: s.changed)
            s.changed = []
            for (id, since) in s.routine where now - since >= routineDelay { batch.ids.insert(id) }
            for id in batch.ids { s.routine[id] = nil }
            return batch
        }
    }

    package func retry(ids: Set<Int>) {
        state.withLock { $0.changed.formUnion(ids) }
    }
}
