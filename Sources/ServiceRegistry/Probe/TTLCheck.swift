import Foundation

/// The `ttl` check (SPEC §9): the service reports itself with `POST /api/services/{id}/heartbeat`; without a
/// heartbeat for `ttl_seconds` the check is critical ("TTL expired"). Expiry is applied by `sweep`, which the
/// prober runs about once a second, so a record's health, its history and `/metrics` agree.
enum TTLCheck {
    static let validRange = ServiceField.ttlRange

    static func check(ttlSeconds: Int, heartbeat: Heartbeat?) -> HealthCheck {
        guard let heartbeat else { return HealthCheck(kind: .ttl, target: nil, status: .unknown, output: nil, at: nil) }
        return HealthCheck(kind: .ttl, target: nil, status: heartbeat.status, output: heartbeat.output,
                           at: heartbeat.status == .unknown ? nil : heartbeat.at)
    }

    /// Heartbeat state after the TTL is set or changed: a new TTL check waits `ttl_seconds` for its first heartbeat.
    static func heartbeatAfterChange(old: ServiceRecord?, new: ServiceRecord, now: Date) -> Heartbeat? {
        guard new.ttlSeconds != nil else { return nil }
        if old?.ttlSeconds == nil || new.heartbeat == nil { return Heartbeat(at: now, status: .unknown) }
        return new.heartbeat
    }

    /// Whether `record`'s TTL ran out at `now` (and was not marked yet).
    static func hasExpired(_ record: ServiceRecord, now: Date) -> Bool {
        guard let ttl = record.ttlSeconds, let heartbeat = record.heartbeat, heartbeat.expired != true else { return false }
        return now.timeIntervalSince(heartbeat.at) >= Double(ttl)
    }

    /// Marks every expired TTL check critical, in one store transaction. Returns the ids it changed.
    @discardableResult
    static func sweep(_ store: ServiceStore, now: Date) async throws -> [Int] {
        // Runs every second over every record: read them in place (`records` would copy all of them each time).
        let due = store.snapshot().entries.values.compactMap { hasExpired($0.record, now: now) ? $0.record.id : nil }.sorted()
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

    /// Cuts heartbeat output to `Heartbeat.maxOutputLength` characters (Unicode scalars).
    static func boundedOutput(_ output: String) -> String {
        let scalars = output.unicodeScalars
        guard scalars.count > Heartbeat.maxOutputLength else { return output }
        return String(String.UnicodeScalarView(scalars.prefix(Heartbeat.maxOutputLength)))
    }
}
