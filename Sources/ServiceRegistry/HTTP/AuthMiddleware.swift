import Hummingbird

/// Which requests need which token. The middleware enforces it, the list fast path asks it, and the OpenAPI
/// document describes it.
struct AccessPolicy: Sendable {
    /// Paths that stay open whatever the tokens (liveness/readiness probes of the registry itself).
    static let openPaths: Set<String> = ["/health", "/api/v1/health", "/ready"]

    /// State-changing requests need the API token. GET /scan runs a scan, so it counts as a write.
    static func isWrite(method: HTTPRequest.Method, path: String) -> Bool {
        method != .get && method != .head || path == "/scan"
    }

    let apiToken: String?
    let readToken: String?

    /// Whether a request with these headers may do this. With an API token, every state-changing request
    /// needs it; with a read token, reads need either token.
    func allows(method: HTTPRequest.Method, path: String, headers: HTTPFields) -> Bool {
        if Self.openPaths.contains(path) { return true }
        let presented = Self.bearerToken(headers)
        if Self.isWrite(method: method, path: path) {
            guard let apiToken else { return true }
            return Self.matches(presented, apiToken)
        }
        guard let readToken else { return true }
        return Self.matches(presented, readToken) || (apiToken.map { Self.matches(presented, $0) } ?? false)
    }

    static func bearerToken(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        return String(header.dropFirst(prefix.count))
    }

    /// Constant-time comparison: the time taken does not depend on where the tokens differ.
    static func matches(_ presented: String?, _ expected: String) -> Bool {
        let a = Array((presented ?? "").utf8)
        let b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count {
            difference |= b[i] ^ (i < a.count ? a[i] : 0)
        }
        return difference == 0 && presented != nil && !b.isEmpty
    }
}

/// Bearer-token checks (SPEC §2 Authentication), by `AccessPolicy`. Tokens are never logged.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard policy.allows(method: request.method, path: request.uri.path, headers: request.headers) else { throw Self.unauthorized }
        return try await next(request, context)
    }

    static var unauthorized: APIError {
        var error = APIError(.unauthorized, detail: "Missing or invalid bearer token")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }
}
