import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Continuous health probing (SPEC §3) as a lifecycle `Service`: the engine's thread probes and keeps
/// results in the store's memory; `run()` writes them to LMDB in batches (one transaction at most about
/// once a second) and flushes the last batch at graceful shutdown, so a restart shows the last results.
public final class HealthProber: Service, ServiceProber {
    public let statistics: ProbeStatisticsRecorder
    private let store: ServiceStore
    private let settings: ProbeSettings
    private let logger: Logger
    private let engine: ProbeEngine
    private let pending = PendingProbeResults()

    public init(store: ServiceStore, settings: ProbeSettings, logger: Logger) {
        let statistics = ProbeStatisticsRecorder()
        self.statistics = statistics
        self.store = store
        self.settings = settings
        self.logger = logger
        engine = ProbeEngine(store: store, settings: settings, statistics: statistics, logger: logger) { [pending] id, event in
            pending.add(id: id, event: event)
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
        logger.info("prober started", metadata: [
            "interval": "\(settings.interval)", "timeout": "\(settings.timeout)", "concurrency": "\(settings.concurrency)",
        ])
        try? await cancelWhenGracefulShutdown {
            var flushes = 0
            while true {
                try await Task.sleep(for: .seconds(self.settings.persistInterval))
                await self.flush()
                flushes += 1
                // Each batch allocates and frees on several threads' malloc arenas (engine thread, LMDB
                // writer queue); glibc keeps the freed pages. Handing them back every ~10 s keeps RSS flat.
                if flushes % 10 == 0 { Self.releaseFreedMemory() }
            }
        }
        await engine.stop()
        await flush()
        logger.info("prober stopped")
    }

    public func checkNow(id: Int) async throws -> ServiceRecord {
        guard let record = store.record(id: id) else { throw RegistryError.notFound }
        // Nothing to probe: the record stays `unknown` (SPEC §3).
        guard let request = ProbeRequest(record: record, defaults: settings) else { return record }
        let updated = try await withCheckedThrowingContinuation { (reply: CheckedContinuation<ServiceRecord, any Error>) in
            engine.post(.check(id: id, request: request, reply: reply))
        }
        await flush()
        return updated
    }

    static func releaseFreedMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// Writes the pending results in one LMDB transaction.
    func flush() async {
        let batch = pending.take()
        guard !batch.ids.isEmpty else { return }
        // History of a service deleted meanwhile would outlive it (ids are never reused, but keep LMDB tidy).
        let history = batch.history.filter { store.record(id: $0.id) != nil }
        do {
            try await store.persistProbeResults(ids: batch.ids, history: history)
        } catch {
            // Memory keeps the results; retry the records with the next batch (history is dropped, logged).
            logger.error("cannot persist probe results", metadata: ["error": "\(error)", "dropped_history": "\(history.count)"])
            pending.retry(ids: batch.ids)
        }
    }
}

/// Results stored in memory but not yet in LMDB, filled by the engine's thread, taken by `flush`.
final class PendingProbeResults: Sendable {
    struct Batch {
        var ids: Set<Int> = []
        var history: [(id: Int, event: HistoryEvent)] = []
    }

    private let state = Mutex(Batch())

    func add(id: Int, event: HistoryEvent?) {
        state.withLock { batch in
            batch.ids.insert(id)
            if let event { batch.history.append((id, event)) }
        }
    }

    func take() -> Batch {
        state.withLock { batch in
            defer { batch = Batch() }
            return batch
        }
    }

    func retry(ids: Set<Int>) {
        state.withLock { $0.ids.formUnion(ids) }
    }
}

#if os(Linux)
/// glibc's malloc_trim (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
