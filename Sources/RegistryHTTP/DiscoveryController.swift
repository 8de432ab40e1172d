import Foundation
import Hummingbird
import RegistryModel
import RegistryStore

/// Units that discovery must not re-create (SPEC §2): `GET /api/ignored`, `DELETE /api/ignored/{unit}`.
package struct DiscoveryController<Context: RequestContext>: Sendable {
    package let store: ServiceStore

    package init(store: ServiceStore) {
        self.store = store
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.get, "/api/ignored", list), Endpoint(.delete, "/api/ignored/:unit", forget)]
    }

    /// `[{"unit": "nginx.service", "ignored_at": "2026-11-28T10:30:00Z"}]`, ordered by unit.
    @Sendable package func list(_ request: Request, context: Context) async throws -> Response {
        let units = try store.ignoredUnits().sorted { $0.unit < $1.unit }
        return jsonResponse { w in
            w.beginArray()
            for item in units {
                w.comma()
                w.beginObject()
                w.key("unit")
                w.string(item.unit)
                w.key("ignored_at")
                w.string(RFC3339.format(item.since))
                w.endObject()
            }
            w.endArray()
        }
    }

    /// Forgets an ignored unit: the next scan may create its record again.
    @Sendable package func forget(_ request: Request, context: Context) async throws -> Response {
        // Path parameters arrive percent-encoded (`\` in `foo\x2dbar.service` is sent as %5C); unit names never hold `%`.
        guard let raw = context.parameters.get("unit"), let unit = raw.removingPercentEncoding, !unit.isEmpty else {
            throw APIError(.notFound, detail: "Unit not ignored")
        }
        let removed = try await store.transaction { txn in try txn.unignore(unit: unit) }
        guard removed else { throw APIError(.notFound, detail: "Unit not ignored: \(unit)") }
        return Response(status: .noContent)
    }
}
