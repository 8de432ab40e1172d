import Foundation
import HTTPTypes
import Hummingbird

/// Who may do what (SPEC §2 Authentication, §11). The router asks it for every handler it reaches, with
/// that handler's `EndpointAccess` (never the raw path); the list fast path asks it for `GET /api/services`;
/// the OpenAPI document describes the same rules.
package struct AccessPolicy: Sendable {
    package let apiToken: String?
    package let readToken: String?
    /// `--allowed-host`: lower-cased host names or addresses (no port, IPv6 without brackets); empty = any.
    package var allowedHosts: Set<String> = []

    package init(apiToken: String?, readToken: String?, allowedHosts: [String] = []) {
        self.apiToken = apiToken
        self.readToken = readToken
        self.allowedHosts = Set(allowedHosts.map(Self.normalizedHost))
    }

    /// Whether a request with these headers may reach a handler with this access. With an API token, every
    /// write needs it; with a read token, reads need either token.
    package func allows(_ access: EndpointAccess, headers: HTTPFields) -> Bool {
        let presented = Self.bearerToken(headers)
        switch access {
        case .open:
            return true
        case .write:
            guard let apiToken else { return true }
            return Self.matches(presented, apiToken)
        case .read:
            guard let readToken else { return true }
            return Self.matches(presented, readToken) || (apiToken.map { Self.matches(presented, $0) } ?? false)
        }
    }

    /// Throws the answer for a request that may not reach a handler with this access: 403 for a write a
    /// browser sent cross-site (checked first: no token can make it acceptable), 401 for a missing or wrong token.
    package func check(_ access: EndpointAccess, _ request: Request) throws {
        if access == .write, Self.isCrossSite(request.headers, authority: Self.authority(request.head)) { throw Self.crossSite }
        guard allows(access, headers: request.headers) else { throw Self.unauthorized }
    }

    /// Whether the `Host` (`:authority`) is one `--allowed-host` names; always true without that option.
    func allowsHost(_ authority: String?) -> Bool {
        if allowedHosts.isEmpty { return true }
        guard let authority, let (host, _) = Self.splitAuthority(authority) else { return false }
        return allowedHosts.contains(Self.normalizedHost(host))
    }

    package static let host = HTTPField.Name("Host")!

    /// The request's `Host`: HTTP/1 servers turn it into the `:authority` pseudo-header.
    package static func authority(_ head: HTTPRequest) -> String? { head.authority ?? head.headerFields[host] }

    static var unauthorized: APIError {
        var error = APIError(.unauthorized, detail: "Missing or invalid bearer token")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }

    static var crossSite: APIError { APIError(.forbidden, detail: "cross-site request refused") }

    static var misdirected: APIError { APIError(.misdirectedRequest, detail: "Host not allowed") }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// Whether a browser marks the request as coming from another site: `Sec-Fetch-Site: cross-site` or
    /// `same-site` (another port or subdomain is another origin), an `Origin` (including `null`) whose host
    /// and port differ from `Host`, or, from browsers that send neither (older ones, or pages on plain-http
    /// non-local origins, which get no `Sec-Fetch-*`), a `Referer` from another origin. curl and scripts send
    /// none of these and are unaffected.
    static func isCrossSite(_ headers: HTTPFields, authority: String?) -> Bool {
        let site = headers[secFetchSite]?.lowercased()
        if site == "cross-site" || site == "same-site" { return true }
        if let origin = headers[.origin] { return !sameOrigin(origin, authority: authority) }
        if site == nil, let referer = headers[.referer] { return !sameOrigin(referer, authority: authority) }
        return false
    }

    /// Whether the origin of `url` (an `Origin` or `Referer` value) is the host and port of `authority`.
    static func sameOrigin(_ url: String, authority: String?) -> Bool {
        guard let authority, let (host, port) = splitAuthority(authority),
            let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let originHost = components.host, !originHost.isEmpty
        else { return false }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        guard let originPort = components.port ?? defaultPort, let hostPort = port ?? defaultPort else { return false }
        return normalizedHost(originHost) == normalizedHost(host) && originPort == hostPort
    }

    /// `host:port`, `[v6]:port`, `host` or `[v6]` → (host, port).
    static func splitAuthority(_ authority: String) -> (String, Int?)? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
            return (host, port)
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (authority, nil)
        case 2:
            guard let port = Int(parts[1]) else { return nil }
            return (String(parts[0]), port)
        default: return nil
        }
    }

    static func normalizedHost(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    static func bearerToken(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        return String(header.dropFirst(prefix.count))
    }

    /// Constant-time comparison: the time taken does not depend on where the tokens differ.
    package static func matches(_ presented: String?, _ expected: String) -> Bool {
        let a = Array((presented ?? "").utf8)
        let b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count {
            difference |= b[i] ^ (i < a.count ? a[i] : 0)
        }
        return difference == 0 && presented != nil && !b.isEmpty
    }
}

/// `--allowed-host` (SPEC §11, against DNS rebinding): any request whose `Host` is not listed gets 421,
/// whatever its path. Token checks are not here: each route checks its own (`Router.add(_:policy:)`).
package struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    package let policy: AccessPolicy

    package init(policy: AccessPolicy) { self.policy = policy }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard policy.allowsHost(AccessPolicy.authority(request.head)) else { throw AccessPolicy.misdirected }
        return try await next(request, context)
    }
}
