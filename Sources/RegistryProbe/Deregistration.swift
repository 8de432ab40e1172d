import Foundation
import Logging
import RegistryModel
import RegistryStore
import Synchronization

/// Expiring registrations (SPEC §9, Consul's DeregisterCriticalServiceAfter): an API-registered record with
/// `deregister_after_seconds` that stays unhealthy that long is deleted, logged and counted
/// (`service_registry_deregistrations_total`). The prober calls `sweep` about once a second.
///
/// "Continuously unhealthy" is measured from the first sweep that saw the record unhealthy; any sweep that
/// sees it otherwise starts over. It is kept in memory: after a restart the count starts again (a record is
/// never deleted early because the daemon was down).
public final class Deregistration: Sendable {
    public static let validRange = ServiceField.deregisterAfterRange

    private struct State {
        var unhealthySince: [Int: Date] = [:]
        var total = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Deregistrations since the registry started.
    public var total: Int { state.withLock { $0.total } }

    /// Deletes the records due at `now`; returns their ids.
    @discardableResult
    public func sweep(_ store: ServiceStore, now: Date, logger: Logger) async throws -> [Int] {
        // Runs every second over every record: read them in place (`records` would copy all of them each time).
        let snapshot = store.snapshot()
        let due: [Int] = state.withLock { s in
            var due: [Int] = []
            var seen: [Int: Date] = [:]
            for entry in snapshot.unorderedEntries {
                guard let after = entry.record.deregisterAfterSeconds, entry.record.source == .api,
                    entry.record.healthStatus == .unhealthy
                else { continue }
                let id = entry.record.id
                let since = s.unhealthySince[id] ?? now
                seen[id] = since
                if now.timeIntervalSince(since) >= Double(after) { due.append(id) }
            }
            s.unhealthySince = seen
            return due.sorted()
        }
        guard !due.isEmpty else { return [] }
        let deleted: [ServiceRecord] = try await store.transaction { txn in
            var deleted: [ServiceRecord] = []
            for id in due {
                guard let record = txn.record(id: id), record.healthStatus == .unhealthy, record.deregisterAfterSeconds != nil else { continue }
                try txn.delete(id: id)
                deleted.append(record)
            }
            return deleted
        }
        state.withLock { s in
            s.total += deleted.count
            for record in deleted { s.unhealthySince[record.id] = nil }
        }
        for record in deleted {
            logger.notice(
                "service deregistered after being unhealthy too long",
                metadata: [
                    "id": "\(record.id)", "name": "\(record.name)",
                    "deregister_after_seconds": "\(record.deregisterAfterSeconds ?? 0)", "last_error": "\(record.lastError ?? "")",
                ])
        }
        return deleted.map(\.id)
    }
}
