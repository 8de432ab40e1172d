import Synchronization

/// The counts of the latest snapshot a reader asked about, shared by every copy of a store's snapshot: the dashboard
/// and `GET /api/summary` count 100,000 records (each record's health derives from its checks) once per store
/// version, not once per request. A snapshot's version changes with every change to it, so a cached count is never
/// stale; a reader holding an older snapshot than the cached one counts its own.
final class ServiceSummaryCache: Sendable {
    private let latest = Mutex<(version: UInt64, summary: ServiceSummary)?>(nil)

    func summary(of snapshot: ServiceSnapshot) -> ServiceSummary {
        if let cached = latest.withLock({ $0 }), cached.version == snapshot.version { return cached.summary }
        let summary = ServiceSummary(snapshot)
        latest.withLock { latest in
            if latest.map({ $0.version < snapshot.version }) ?? true { latest = (snapshot.version, summary) }
        }
        return summary
    }
}

extension ServiceSnapshot {
    /// `ServiceSummary(self)`, counted once per version (`ServiceSummaryCache`).
    public var summary: ServiceSummary { summaryCache.summary(of: self) }
}
