import Foundation
import Testing

@testable import RegistryHTTP

/// SPEC §11 "No cross-site writes": a write that a browser marks as cross-site gets 403 and changes
/// nothing; requests without those headers (curl, scripts) are unaffected; `--allowed-host` answers 421 to
/// other `Host` names. Over a real socket, with curl, so `Host` is what a client really sends.
@Suite struct CrossSiteTests {
    static let body = #"{"name":"web","url":"http://127.0.0.1:8080"}"#

    static func request(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTP.Reply {
        try await blocking { try HTTP.request(method, url, body: body, headers: headers) }
    }

    @Test func crossSiteWritesAreRefusedAndChangeNothing() async throws {
        try await withLiveRegistry { client, components in
            let port = try #require(client.port)
            let base = "http://127.0.0.1:\(port)"
            let crossSite: [[String: String]] = [
                ["Origin": "http://evil.example"],
                ["Origin": "http://127.0.0.1:\(port + 1)"],  // another port is another origin
                ["Origin": "http://localhost:\(port)"],
                ["Origin": "null"],  // sandboxed frames, file: pages
                ["Sec-Fetch-Site": "cross-site"],
                ["Sec-Fetch-Site": "same-site"],
                ["Sec-Fetch-Site": "cross-site", "Origin": base],  // either mark is enough
                ["Referer": "http://evil.example/page.html"],  // browsers that send neither of the above
            ]
            for headers in crossSite {
                let reply = try await Self.request("POST", "\(base)/api/services", body: Self.body, headers: headers)
                #expect(reply.status == 403, "\(headers)")
                #expect(reply.json?["detail"]?.string == "cross-site request refused", "\(headers)")
                #expect(try await Self.request("POST", "\(base)/api/scan", headers: headers).status == 403, "\(headers)")
                #expect(try await Self.request("GET", "\(base)/scan", headers: headers).status == 403, "\(headers)")
                #expect(try await Self.request("GET", "\(base)/scan/", headers: headers).status == 403, "\(headers)")
            }
            #expect(components.store.snapshot().count == 0)

            // curl, scripts, and the dashboard itself (same origin) are unaffected.
            let sameOrigin: [[String: String]] = [
                [:], ["Origin": base], ["Sec-Fetch-Site": "same-origin", "Origin": base],
                ["Sec-Fetch-Site": "none"], ["Referer": "\(base)/"],
            ]
            for headers in sameOrigin {
                #expect(try await Self.request("POST", "\(base)/api/services", body: Self.body, headers: headers).status == 200, "\(headers)")
            }
            let id = try #require(components.store.snapshot().records.first?.id)
            #expect(
                try await Self.request("PUT", "\(base)/api/services/\(id)", body: #"{"port":1}"#, headers: ["Origin": "http://evil.example"]).status
                    == 403)
            #expect(try await Self.request("DELETE", "\(base)/api/services/\(id)", headers: ["Sec-Fetch-Site": "cross-site"]).status == 403)
            #expect(components.store.snapshot().record(id: id)?.port == nil)
            // Reads stay open to other sites (Prometheus, other dashboards).
            #expect(try await Self.request("GET", "\(base)/api/services", headers: ["Sec-Fetch-Site": "cross-site"]).status == 200)
        }
    }

    /// A valid token does not make a cross-site write acceptable (a browser may hold it).
    @Test func aTokenDoesNotMakeACrossSiteWriteAcceptable() async throws {
        try await withLiveRegistry(configure: { $0.apiToken = "writer" }) { client, components in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let reply = try await Self.request(
                "POST", "\(base)/api/services", body: Self.body,
                headers: ["Authorization": "Bearer writer", "Origin": "http://evil.example"])
            #expect(reply.status == 403)
            #expect(components.store.snapshot().count == 0)
        }
    }

    @Test func allowedHostAnswers421ToOtherHostNames() async throws {
        try await withLiveRegistry(configure: { $0.allowedHosts = ["registry.example", "127.0.0.1"] }) { client, _ in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            #expect(try await Self.request("GET", "\(base)/api/services").status == 200)
            // Twice: the second plain list request is the one the fast path would answer.
            #expect(try await Self.request("GET", "\(base)/api/services").status == 200)
            #expect(try await Self.request("GET", "\(base)/api/services", headers: ["Host": "registry.example:8000"]).status == 200)
            #expect(try await Self.request("GET", "\(base)/api/services", headers: ["Host": "REGISTRY.example"]).status == 200)
            for host in ["evil.example", "evil.example:8000", "registry.example.evil.example", "localhost"] {
                for path in ["/api/services", "/", "/metrics", "/no/such/route"] {
                    let reply = try await Self.request("GET", base + path, headers: ["Host": host])
                    #expect(reply.status == 421, "\(host) \(path)")
                }
                #expect(try await Self.request("POST", "\(base)/api/services", body: Self.body, headers: ["Host": host]).status == 421)
            }
        }
    }

    @Test func originComparison() {
        typealias P = AccessPolicy
        #expect(P.sameOrigin("http://127.0.0.1:8000", authority: "127.0.0.1:8000"))
        #expect(P.sameOrigin("http://example.com", authority: "EXAMPLE.com:80"))
        #expect(P.sameOrigin("https://example.com", authority: "example.com:443"))
        #expect(P.sameOrigin("http://[::1]:8000", authority: "[::1]:8000"))
        #expect(!P.sameOrigin("http://[::1]:8000", authority: "[::1]:8001"))
        #expect(!P.sameOrigin("http://example.com:8000", authority: "example.com"))
        #expect(!P.sameOrigin("null", authority: "example.com"))
        #expect(!P.sameOrigin("http://example.com", authority: nil))
    }
}
