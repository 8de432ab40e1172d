import Foundation

/// The `ttl` check (SPEC §9): the service reports itself with `POST /api/services/{id}/heartbeat`; without a
/// heartbeat for `ttl_seconds` the check is critical ("TTL expired"). Expiry is applied by `sweep` (`TTLCheck+Sweep.swift`), which the
/// prober runs about once a second, so a record's health, its history and `/metrics` agree.
package enum TTLCheck {
    package static let validRange = ServiceField.ttlRange

    package static func check(ttlSeconds: Int, heartbeat: Heartbeat?) -> HealthCheck {
        guard let heartbeat else { return HealthCheck(kind: .ttl, target: nil, status: .unknown, output: nil, at: nil) }
        return HealthCheck(
            kind: .ttl, target: nil, status: heartbeat.status, output: heartbeat.output,
            at: heartbeat.status == .unknown ? nil : heartbeat.at)
    }

    /// Heartbeat state after the TTL is set or changed: a new TTL check waits `ttl_seconds` for its first heartbeat.
    package static func heartbeatAfterChange(old: ServiceRecord?, new: ServiceRecord, now: Date) -> Heartbeat? {
        guard new.ttlSeconds != nil else { return nil }
        if old?.ttlSeconds == nil || new.heartbeat == nil { return Heartbeat(at: now, status: .unknown) }
        return new.heartbeat
    }

    /// Whether `record`'s TTL ran out at `now` (and was not marked yet).
    package static func hasExpired(_ record: ServiceRecord, now: Date) -> Bool {
        guard let ttl = record.ttlSeconds, let heartbeat = record.heartbeat, heartbeat.expired != true else { return false }
        return now.timeIntervalSince(heartbeat.at) >= Double(ttl)
    }

    /// Cuts heartbeat output to `Heartbeat.maxOutputLength` characters (Unicode scalars).
    package static func boundedOutput(_ output: String) -> String {
        let scalars = output.unicodeScalars
        guard scalars.count > Heartbeat.maxOutputLength else { return output }
        return String(String.UnicodeScalarView(scalars.prefix(Heartbeat.maxOutputLength)))
    }
}
