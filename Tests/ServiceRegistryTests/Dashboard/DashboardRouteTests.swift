import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryDashboard
@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryStore

/// The dashboard's routes through the router (no browser): content types, caching, 404 page, auth, OpenAPI.
@Suite struct DashboardRouteTests {
    func get(_ client: any TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws -> (
        status: Int, headers: HTTPFields, text: String
    ) {
        try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
            (Int(response.status.code), response.headers, String(buffer: response.body))
        }
    }

    @Test func indexIsHTMLWithRowsAndSecurityHeaders() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", #"{"name":"<b>x</b>","url":"http://127.0.0.1:8080"}"#)
            let page = try await get(client, "/")
            #expect(page.status == 200)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.text.contains("<tr data-id=\"1\" data-signature=\"&lt;b&gt;x&lt;/b&gt;\nactive\nunknown\n\n"))
            #expect(page.text.contains("&lt;b&gt;x&lt;/b&gt;"))
            #expect(page.text.contains(#"data-auth="open""#))
        }
    }

    /// The form of the page the script fetches to update a view in place changes only with what it shows: an unchanged
    /// view is a 304, a change off the page (not in its counts) too, a change on it is a new body.
    @Test func theUpdateFormOfThePageIsA304UntilWhatItShowsChanges() async throws {
        try await withRegistry { client, components in
            try await client.send(.post, "/api/services", #"{"name":"a","url":"http://127.0.0.1:8080"}"#)
            try await client.send(.post, "/api/services", #"{"name":"b","url":"http://127.0.0.1:8081"}"#)
            components.store.setProbeResult(
                id: 1, ProbeResult(finishedAt: Date(timeIntervalSinceNow: -30), healthy: true, statusCode: 200, totalSeconds: 0.01))
            let update: HTTPFields = [HTTPField.Name("X-Dashboard-View")!: "update"]
            let first = try await get(client, "/?q=a", headers: update)
            let tag = try #require(first.headers[.eTag])
            #expect(first.status == 200 && !first.text.contains("data-index=") && !first.text.contains(" s ago<"))
            var conditional = update
            conditional[.ifNoneMatch] = tag
            try await Task.sleep(for: .milliseconds(1100))  // a second later: relative times would have moved
            #expect(try await get(client, "/?q=a", headers: conditional).status == 304)
            // A change to a service the view does not show (and that moves no count): still 304.
            try await client.send(.put, "/api/services/2", #"{"description":"elsewhere"}"#)
            #expect(try await get(client, "/?q=a", headers: conditional).status == 304)
            // A change on the page: a new body.
            try await client.send(.put, "/api/services/1", #"{"description":"here"}"#)
            let changed = try await get(client, "/?q=a", headers: conditional)
            #expect(changed.status == 200 && changed.text.contains(">here<"))
            // The full page a browser navigates to carries the version the live stream resumes from.
            #expect(try await get(client, "/").text.contains(#"data-index=""#))
        }
    }

    /// The search box and the script write spaces as `+` (form encoding, `URLSearchParams`); the page the
    /// server renders for such a URL shows the same rows and the search text with its space.
    @Test func serverRenderedFiltersDecodePlusAsSpace() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", #"{"name":"billing api","url":"http://127.0.0.1:8080"}"#)
            try await client.send(.post, "/api/services", #"{"name":"search","url":"http://127.0.0.1:8081"}"#)
            for query in ["q=billing+api", "q=billing%20api", "q=Billing+API&sort=name&dir=desc"] {
                let page = try await get(client, "/?" + query)
                #expect(page.status == 200)
                #expect(page.text.contains(#"<tr data-id="1""#), "\(query)")
                #expect(!page.text.contains(#"<tr data-id="2""#), "\(query)")
                #expect(page.text.contains(#"value="billing api""#) || page.text.contains(#"value="Billing API""#), "\(query)")
            }
        }
    }

    @Test func servicePageAndNotFound() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", #"{"name":"web","url":"http://127.0.0.1:8080","labels":{"team":"core"}}"#)
            let page = try await get(client, "/services/1")
            #expect(page.status == 200)
            #expect(page.text.contains(#"<span class="label-key">team</span>"#))
            for uri in ["/services/99", "/services/abc"] {
                let missing = try await get(client, uri)
                #expect(missing.status == 404)
                #expect(missing.headers[.contentType] == "text/html; charset=utf-8")
                #expect(missing.text.contains("Service not found"))
            }
        }
    }

    @Test func assetsAreVersionedAndRevalidated() async throws {
        try await withRegistry { client, _ in
            for asset in [DashboardAssets.script, DashboardAssets.stylesheet] {
                let versioned = try await get(client, "\(asset.path)?v=\(asset.version)")
                #expect(versioned.status == 200)
                #expect(versioned.headers[.contentType] == asset.contentType)
                #expect(versioned.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(versioned.text.utf8.count == asset.body.count)
                let plain = try await get(client, asset.path)
                #expect(plain.headers[.cacheControl] == "no-cache")
                let etag = try #require(plain.headers[.eTag])
                let revalidated = try await get(client, asset.path, headers: [.ifNoneMatch: etag])
                #expect(revalidated.status == 304)
                #expect(revalidated.text.isEmpty)
            }
            let page = try await get(client, "/")
            #expect(page.text.contains("/static/app.js?v=\(DashboardAssets.script.version)"))
            #expect(page.text.contains("/static/app.css?v=\(DashboardAssets.stylesheet.version)"))
        }
    }

    @Test func scriptNeverWritesDataAsMarkup() {
        let script = String(decoding: DashboardAssets.script.body, as: UTF8.self)
        #expect(!script.contains("innerHTML"))
        #expect(!script.contains("outerHTML"))
        #expect(!script.contains("insertAdjacentHTML"))
        #expect(!script.contains("document.write"))
        #expect(!script.contains("eval("))
    }

    @Test func pageKnowsWhenATokenIsNeeded() async throws {
        try await withRegistry(configure: { $0.apiToken = "secret" }) { client, _ in
            let page = try await get(client, "/")
            #expect(page.status == 200)  // reads stay open with only an API token
            #expect(page.text.contains(#"data-auth="token""#))
        }
    }

    @Test func readTokenProtectsThePages() async throws {
        try await withRegistry(configure: {
            $0.apiToken = "secret"
            $0.readToken = "reader"
        }) { client, _ in
            let anonymous = try await get(client, "/")
            let reader = try await get(client, "/", headers: [.authorization: "Bearer reader"])
            #expect(anonymous.status == 401)
            #expect(reader.status == 200)
        }
    }

    @Test func openAPIListsTheDashboardRoutes() throws {
        let operations = OpenAPIDocument.operations
        let directory = TemporaryDirectory()
        for key in ["GET /", "GET /services/{id}", "GET /static/app.js", "GET /static/app.css"] {
            #expect(operations[key] != nil, "\(key) missing from the OpenAPI document")
        }
        let endpoints = buildEndpoints(
            RegistryConfiguration(), RegistryComponents(store: try ServiceStore(directory: directory.path)),
            context: BasicRequestContext.self)
        let documented = Set(operations.keys)
        for endpoint in endpoints {
            #expect(documented.contains("\(endpoint.method.rawValue) \(endpoint.openAPIPath)"), "\(endpoint.method) \(endpoint.path) undocumented")
        }
    }
}
