import Foundation
import Hummingbird
import RegistryStore

/// `GET /api/services/{id}/uptime` (SPEC §9): availability ratios over 24 h, 7 d and 30 d, and the per-minute
/// (24 h) and per-hour (30 d) rollups, oldest first, only buckets with probes.
package struct UptimeController<Context: RequestContext>: Sendable {
    package let store: ServiceStore

    package init(store: ServiceStore) {
        self.store = store
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.get, "/api/services/:id/uptime", uptime)]
    }

    @Sendable package func uptime(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard store.record(id: id) != nil else { throw APIError.notFound }
        let report = try store.uptime(id: id, now: store.now())
        return jsonResponse { w in report.writeJSON(to: &w) }
    }
}
