import Hummingbird
import RegistrySupport

/// What a route needs from the caller (SPEC §2 Authentication, §11). Attached to each `Endpoint`, so the
/// policy follows the handler a request reaches, never the spelling of its path.
public enum EndpointAccess: Sendable, Equatable {
    /// Liveness and readiness of the registry itself: open whatever the tokens.
    case open
    /// A read: needs the read token (or the API token) when `--read-token` is set.
    case read
    /// State-changing: needs the API token when one is set, and is refused when a browser marks it cross-site.
    case write

    /// The default for a route: every method other than GET and HEAD changes state; `GET /scan` runs a
    /// scan, so it is a write too; `/health`, `/api/v1/health` and `/ready` are open. `routePath` is the
    /// route's own template (`/api/services/:id`), never a request's path.
    public static func of(method: HTTPRequest.Method, routePath: String) -> EndpointAccess {
        if method != .get && method != .head { return .write }
        if routePath == "/scan" { return .write }
        if ["/health", "/api/v1/health", "/ready"].contains(routePath) { return .open }
        return .read
    }
}

/// One route: method, path (Hummingbird syntax, `:id` for parameters), what it needs from the caller and
/// handler. Controllers list their endpoints; `buildRouter` registers them (each handler wrapped in its
/// access check) and the OpenAPI test compares the same list with the document.
public struct Endpoint<Context: RequestContext>: Sendable {
    public let method: HTTPRequest.Method
    public let path: String
    public let access: EndpointAccess
    public let handler: @Sendable (Request, Context) async throws -> Response

    public init(
        _ method: HTTPRequest.Method, _ path: String, access: EndpointAccess? = nil,
        _ handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        self.method = method
        self.path = path
        self.access = access ?? .of(method: method, routePath: path)
        self.handler = handler
    }

    /// The path in OpenAPI syntax: `/api/services/{id}`.
    public var openAPIPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }
}

extension Router {
    /// Registers each endpoint with its access check in front of its handler: whatever path spelling the
    /// router matched (`/scan/`, `//api/scan`...), the handler it reached decides the policy.
    package func add(_ endpoints: [Endpoint<Context>], policy: AccessPolicy) {
        for endpoint in endpoints {
            let access = endpoint.access
            let handler = endpoint.handler
            on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                try policy.check(access, request)
                return try await handler(request, context)
            }
        }
    }
}

/// The `Server` header of every response.
package let serverName = "service-registry"
