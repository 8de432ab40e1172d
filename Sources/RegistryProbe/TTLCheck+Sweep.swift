import Foundation
import RegistryModel
import RegistryStore

/// The prober's part of the `ttl` check (the rule is `Model/Checks/TTLCheck.swift`).
extension TTLCheck {
    /// Marks every expired TTL check critical, in one store transaction. Returns the ids it changed.
    @discardableResult
    package static func sweep(_ store: ServiceStore, now: Date) async throws -> [Int] {
        // Runs every second over every record: read them in place (`records` would copy all of them each time).
        let due = store.snapshot().unorderedEntries.compactMap { hasExpired($0.record, now: now) ? $0.record.id : nil }.sorted()
        guard !due.isEmpty else { return [] }
        return try await store.transaction { txn in
            var changed: [Int] = []
            for id in due {
                guard var record = txn.record(id: id), hasExpired(record, now: now) else { continue }
                record.heartbeat = Heartbeat(at: now, status: .critical, output: Heartbeat.expiredOutput, expired: true)
                try txn.save(record)
                changed.append(id)
            }
            return changed
        }
    }
}
