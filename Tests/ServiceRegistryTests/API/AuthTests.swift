import Testing

@testable import RegistryApp
@testable import RegistryHTTP

@Suite struct AuthTests {
    static func bothTokens(_ c: inout RegistryConfiguration) {
        c.apiToken = "writer"
        c.readToken = "reader"
    }

    static let body = #"{"name":"web","url":"http://127.0.0.1:8080"}"#

    @Test func writesNeedTheAPITokenAndChangeNothingWithout() async throws {
        try await withRegistry(configure: { $0.apiToken = "s3cret" }) { client, components in
            for token in [nil, "wrong", "s3cre", "s3cret-and-more", ""] as [String?] {
                let reply = try await client.send(.post, "/api/services", Self.body, token: token)
                #expect(reply.status == 401, "token \(token ?? "none")")
                #expect(reply.json?["detail"]?.string != nil)
            }
            #expect(components.store.snapshot().count == 0)
            #expect(try await client.send(.post, "/api/services", Self.body, token: "s3cret").status == 200)
            #expect(try await client.send(.put, "/api/services/1", #"{"port":1}"#).status == 401)
            #expect(try await client.send(.delete, "/api/services/1").status == 401)
            #expect(try await client.send(.post, "/api/scan").status == 401)
            #expect(components.store.snapshot().record(id: 1)?.port == nil)
            // Reads stay open without a read token.
            #expect(try await client.send(.get, "/api/services").json?.array?.count == 1)
            #expect(try await client.send(.delete, "/api/services/1", token: "s3cret").status == 204)
        }
    }

    @Test func readTokenGuardsReadsButNotHealth() async throws {
        try await withRegistry(configure: Self.bothTokens) { client, _ in
            let anonymous = try await client.send(.get, "/api/services")
            #expect(anonymous.status == 401)
            #expect(try await client.send(.get, "/api/services", token: "reader").status == 200)
            #expect(try await client.send(.get, "/api/services", token: "writer").status == 200)
            #expect(try await client.send(.post, "/api/services", Self.body, token: "reader").status == 401)
            #expect(try await client.send(.get, "/health").status == 200)
            #expect(try await client.send(.get, "/ready").status == 200)
        }
    }

    @Test func constantTimeComparisonIsExact() {
        typealias Auth = AccessPolicy
        #expect(Auth.matches("abc", "abc"))
        #expect(!Auth.matches("abd", "abc"))
        #expect(!Auth.matches("ab", "abc"))
        #expect(!Auth.matches("abcd", "abc"))
        #expect(!Auth.matches(nil, "abc"))
        #expect(!Auth.matches("", ""))
    }
}
