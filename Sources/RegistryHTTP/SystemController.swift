import Foundation
import Hummingbird
import RegistryModel
import RegistryStore

/// The registry's own liveness and readiness.
package struct SystemController<Context: RequestContext>: Sendable {
    package let store: ServiceStore
    package let startedAt: Date

    package init(store: ServiceStore, startedAt: Date) {
        self.store = store
        self.startedAt = startedAt
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.get, "/health", health), Endpoint(.get, "/api/v1/health", health), Endpoint(.get, "/ready", ready)]
    }

    @Sendable package func health(_ request: Request, context: Context) async throws -> Response {
        let snapshot = store.snapshot()
        let usage = store.storageUsage
        return jsonResponse { w in
            w.beginObject()
            w.key("status")
            w.string("healthy")
            w.key("version")
            w.string(RegistryVersion.current)
            w.key("services")
            w.int(snapshot.count)
            w.key("uptime_seconds")
            w.number((Date().timeIntervalSince(startedAt) * 10).rounded() / 10)
            w.key("storage_used_bytes")
            w.int(usage.usedBytes)
            w.key("storage_map_bytes")
            w.int(usage.mapSize)
            w.endObject()
        }
    }

    /// The store is opened before the server starts listening, so answering at all means ready.
    @Sendable package func ready(_ request: Request, context: Context) async throws -> Response {
        jsonResponse { w in
            w.beginObject()
            w.key("status")
            w.string("ready")
            w.endObject()
        }
    }
}
