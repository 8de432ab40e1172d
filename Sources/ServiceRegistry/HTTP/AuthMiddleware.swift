import Hummingbird

/// Which requests need which token. The middleware enforces it and the OpenAPI document describes it.
enum AccessPolicy {
    /// Paths that stay open whatever the tokens (liveness/readiness probes of the registry itself).
    static let openPaths: Set<String> = ["/health", "/api/v1/health", "/ready"]

    /// State-changing requests need the API token. GET /scan runs a scan, so it counts as a write.
    static func isWrite(method: HTTPRequest.Method, path: String) -> Bool {
        method != .get && method != .head || path == "/scan"
    }
}

/// Bearer-token checks (SPEC §2 Authentication). With an API token, every state-changing request needs it;
/// with a read token, reads need either token. Tokens are compared in constant time and never logged.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiToken: String?
    let readToken: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if AccessPolicy.openPaths.contains(path) { return try await next(request, context) }
        let writes = AccessPolicy.isWrite(method: request.method, path: path)
        let presented = Self.bearerToken(request)
        if writes {
            if let apiToken, !Self.matches(presented, apiToken) { throw Self.unauthorized }
        } else if let readToken {
            let ok = Self.matches(presented, readToken) || (apiToken.map { Self.matches(presented, $0) } ?? false)
            if !ok { throw Self.unauthorized }
        }
        return try await next(request, context)
    }

    static var unauthorized: APIError {
        var error = APIError(.unauthorized, detail: "Missing or invalid bearer token")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        return String(header.dropFirst(prefix.count))
    }

    /// Constant-time comparison: the time taken does not depend on where the strings differ.
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
