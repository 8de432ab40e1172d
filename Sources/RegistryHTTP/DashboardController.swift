import Foundation
import HTTPTypes
import Hummingbird
import RegistryDashboard
import RegistryStore

/// The HTML dashboard (SPEC §6): `GET /`, `GET /services/{id}` and the embedded script and stylesheet.
/// Pages render from the in-memory snapshot only; nothing is probed while a page is served.
/// With `--read-token` these are reads like any other (each route's access check answers 401 without the token).
package struct DashboardController<Context: RequestContext>: Sendable {
    package let store: ServiceStore
    package let renderer: DashboardRenderer
    /// Transitions shown on a service page (the newest ones).
    static var historyShown: Int { 200 }

    package init(store: ServiceStore, authRequired: Bool) {
        self.store = store
        self.renderer = DashboardRenderer(authRequired: authRequired)
    }

    package var endpoints: [Endpoint<Context>] {
        [
            Endpoint(.get, "/", index),
            Endpoint(.get, "/services/:id", service),
            Endpoint(.get, DashboardAssets.script.path) { request, _ in Self.asset(DashboardAssets.script, request) },
            Endpoint(.get, DashboardAssets.stylesheet.path) { request, _ in Self.asset(DashboardAssets.stylesheet, request) },
        ]
    }

    @Sendable package func index(_ request: Request, context: Context) async throws -> Response {
        let query = DashboardQuery(parameters: request.queryPairs)
        // The script's in-place view updates ask for the stable form of the page (see `indexPage`).
        let forUpdate = request.headers[HTTPField.Name("X-Dashboard-View")!] == "update"
        return Self.html(renderer.indexPage(store.snapshot(), query: query, forUpdate: forUpdate))
    }

    @Sendable package func service(_ request: Request, context: Context) async throws -> Response {
        let snapshot = store.snapshot()
        guard let id = context.parameters.get("id").flatMap(Int.init), let record = snapshot.record(id: id) else {
            return Self.html(renderer.notFoundPage("Service not found"), status: .notFound)
        }
        let history = try store.history(id: id, limit: Self.historyShown)
        let now = store.now()
        let uptime = try? store.uptime(id: id, now: now)
        return Self.html(renderer.servicePage(record, history: history, now: now, uptime: uptime, index: snapshot.version))
    }

    /// Pages are never cached (they show live state); the policy allows only this origin's script and
    /// stylesheet, a second line of defence behind escaping.
    package static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [:]
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPFields.Element.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A versioned URL (`?v=<hash>`) may be cached for good; the ETag answers revalidation with 304.
    static func asset(_ asset: DashboardAsset, _ request: Request) -> Response {
        var headers: HTTPFields = [:]
        let etag = "\"\(asset.version)\""
        headers[.eTag] = etag
        headers[.cacheControl] =
            request.queryValue("v") == asset.version
            ? "public, max-age=31536000, immutable" : "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.body)))
    }
}
