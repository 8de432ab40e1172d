import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryDashboard
@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryStore

/// The REST contract of SPEC §2 against a real store in a temp dir, through Hummingbird's router client.
@Suite struct ServiceAPITests {
    static let web = #"{"name":"web","url":"http://127.0.0.1:8080","status":"active","port":8080}"#

    @Test func guideExamples() async throws {
        try await withRegistry { client, _ in
            // The guide's registration: 200 with an id.
            let created = try await client.send(.post, "/api/services", Self.web)
            #expect(created.status == 200)
            let id = try #require(created.json?["id"]?.int)
            #expect(created.json?["name"]?.string == "web")
            #expect(created.json?["health_status"]?.string == "unknown")
            #expect(created.json?["source"]?.string == "api")

            // The guide's PUT changes the port alone.
            let updated = try await client.send(.put, "/api/services/\(id)", #"{"port": 9090}"#)
            #expect(updated.status == 200)
            #expect(updated.json?["port"]?.int == 9090)
            var before = try #require(created.json)
            var after = try #require(updated.json)
            for key in ["port", "updated_at"] {
                before = before.removing(key)
                after = after.removing(key)
            }
            #expect(before == after)
        }
    }

    @Test func postIsIdempotentRegistrationByName() async throws {
        try await withRegistry { client, components in
            let first = try await client.send(.post, "/api/services", Self.web)
            let again = try await client.send(.post, "/api/services", #"{"name":"  web ","url":"http://127.0.0.1:8081","port":8081}"#)
            #expect(again.status == 200)
            #expect(again.json?["id"] == first.json?["id"])
            #expect(again.json?["url"]?.string == "http://127.0.0.1:8081")
            #expect(again.json?["status"]?.string == "active")
            #expect(components.store.snapshot().count == 1)
        }
    }

    @Test func listIsOrderedByIdAndGetReturnsOne() async throws {
        try await withRegistry { client, _ in
            for name in ["c", "a", "b"] {
                try await client.send(.post, "/api/services", #"{"name":"\#(name)","url":"http://127.0.0.1:1"}"#)
            }
            let list = try await client.send(.get, "/api/services")
            #expect(list.status == 200)
            #expect(list.json?.array?.compactMap { $0["id"]?.int } == [1, 2, 3])
            #expect(list.json?.array?.compactMap { $0["name"]?.string } == ["c", "a", "b"])
            let one = try await client.send(.get, "/api/services/2")
            #expect(one.json?["name"]?.string == "a")
        }
    }

    @Test func notFoundAndBadIds() async throws {
        try await withRegistry { client, _ in
            let missing = try await client.send(.get, "/api/services/42")
            #expect(missing.status == 404)
            #expect(missing.text == #"{"detail":"Service not found"}"#)
            #expect(try await client.send(.put, "/api/services/42", #"{"port":1}"#).status == 404)
            #expect(try await client.send(.delete, "/api/services/42").status == 404)
            let bad = try await client.send(.get, "/api/services/abc")
            #expect(bad.status == 422)
            #expect(bad.json?["detail"]?[0]?["loc"] == ["path", "id"])
            #expect(bad.json?["detail"]?[0]?["type"]?.string == "int_parsing")
            let unknownRoute = try await client.send(.get, "/api/nothing")
            #expect(unknownRoute.status == 404)
            #expect(unknownRoute.json?["detail"]?.string == "Not Found")
        }
    }

    @Test func knownPathWithAnotherMethodIs405() async throws {
        try await withRegistry { client, _ in
            let reply = try await client.send(.patch, "/api/services/1", "{}")
            #expect(reply.status == 405)
            #expect(reply.json?["detail"]?.string == "Method Not Allowed")
            let collection = try await client.execute(uri: "/api/services", method: .delete) { $0.headers[.allow] }
            #expect(collection == "GET, POST")
        }
    }

    @Test func deleteAnswers204AndIdsAreNeverReused() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", Self.web)
            let deleted = try await client.send(.delete, "/api/services/1")
            #expect(deleted.status == 204)
            #expect(deleted.text.isEmpty)
            #expect(try await client.send(.get, "/api/services/1").status == 404)
            let next = try await client.send(.post, "/api/services", Self.web)
            #expect(next.json?["id"]?.int == 2)
        }
    }

    @Test func partialUpdateNullClearsAndRenameClashIs409() async throws {
        try await withRegistry { client, _ in
            try await client.send(
                .post, "/api/services", #"{"name":"a","url":"http://127.0.0.1:1","port":1,"description":"d","labels":{"team":"x"}}"#)
            try await client.send(.post, "/api/services", #"{"name":"b","url":"http://127.0.0.1:2"}"#)
            let cleared = try await client.send(.put, "/api/services/1", #"{"port":null,"description":null,"labels":null}"#)
            #expect(cleared.status == 200)
            #expect(cleared.json?["port"] == .null)
            #expect(cleared.json?["description"] == .null)
            #expect(cleared.json?["labels"] == [:])
            #expect(cleared.json?["name"]?.string == "a")

            let clash = try await client.send(.put, "/api/services/1", #"{"name":"b"}"#)
            #expect(clash.status == 409)
            #expect(clash.json?["detail"]?.string?.contains("b") == true)
            #expect(try await client.send(.put, "/api/services/1", #"{"name":"a2"}"#).json?["name"]?.string == "a2")
            // The old name is free again.
            #expect(try await client.send(.post, "/api/services", #"{"name":"a","url":"http://127.0.0.1:3"}"#).json?["id"]?.int == 3)

            // Required fields cannot be cleared; an API record keeps its URL.
            let noName = try await client.send(.put, "/api/services/1", #"{"name":null}"#)
            #expect(noName.status == 422)
            let noURL = try await client.send(.put, "/api/services/1", #"{"url":null}"#)
            #expect(noURL.status == 422)
            #expect(noURL.json?["detail"]?[0]?["loc"] == ["body", "url"])
        }
    }

    /// Each invalid body gets 422 with the field named in `loc`.
    @Test(arguments: [
        (#"{"name":"","url":"http://h"}"#, "name"),
        (#"{"name":"   ","url":"http://h"}"#, "name"),
        (#"{"name":"\#(String(repeating: "x", count: 101))","url":"http://h"}"#, "name"),
        (#"{"name":"a\u0007b","url":"http://h"}"#, "name"),
        (#"{"name":"a\nb","url":"http://h"}"#, "name"),
        (#"{"name":"a\tb","url":"http://h"}"#, "name"),
        (#"{"name":"\nweb","url":"http://h"}"#, "name"),
        (#"{"name":"a\u0085b","url":"http://h"}"#, "name"),
        (#"{"name":42,"url":"http://h"}"#, "name"),
        (#"{"url":"http://h"}"#, "name"),
        (#"{"name":"a"}"#, "url"),
        (#"{"name":"a","url":"ftp://h/x"}"#, "url"),
        (#"{"name":"a","url":"/relative"}"#, "url"),
        (#"{"name":"a","url":"http://"}"#, "url"),
        (#"{"name":"a","url":"javascript:alert(1)"}"#, "url"),
        (#"{"name":"a","url":"http://h","port":0}"#, "port"),
        (#"{"name":"a","url":"http://h","port":65536}"#, "port"),
        (#"{"name":"a","url":"http://h","port":"80"}"#, "port"),
        (#"{"name":"a","url":"http://h","port":80.5}"#, "port"),
        (#"{"name":"a","url":"http://h","port":true}"#, "port"),
        (#"{"name":"a","url":"http://h","status":"running"}"#, "status"),
        (#"{"name":"a","url":"http://h","nmae":"typo"}"#, "nmae"),
        (#"{"name":"a","url":"http://h","id":7}"#, "id"),
        (#"{"name":"a","url":"http://h","health_status":"healthy"}"#, "health_status"),
        (#"{"name":"a","url":"http://h","labels":{"bad-key":"v"}}"#, "labels"),
        (#"{"name":"a","url":"http://h","labels":{"k":1}}"#, "labels"),
        (#"{"name":"a","url":"http://h","labels":[]}"#, "labels"),
        (#"{"name":"a","url":"http://h","description":"\#(String(repeating: "d", count: 501))"}"#, "description"),
        (#"{"name":"a","url":"http://h","probe_timeout_seconds":0}"#, "probe_timeout_seconds"),
        (#"{"name":"a","url":"http://h","health_url":"gopher://h"}"#, "health_url"),
    ])
    func invalidBodiesAre422(body: String, field: String) async throws {
        try await withRegistry { client, components in
            let reply = try await client.send(.post, "/api/services", body)
            #expect(reply.status == 422, "\(body)")
            let locs = reply.json?["detail"]?.array?.compactMap { $0["loc"]?[1]?.string } ?? []
            #expect(locs.contains(field), "\(body) -> \(reply.text)")
            #expect(reply.json?["detail"]?[0]?["msg"]?.string?.isEmpty == false)
            #expect(components.store.snapshot().count == 0)
        }
    }

    @Test func nameBoundsAreCountedAfterTrimming() async throws {
        try await withRegistry { client, _ in
            let hundred = String(repeating: "é", count: 100)
            let ok = try await client.send(.post, "/api/services", #"{"name":"  \#(hundred)  ","url":"http://h"}"#)
            #expect(ok.status == 200)
            #expect(ok.json?["name"]?.string == hundred)
        }
    }

    @Test(arguments: [
        "{", "{\"name\":", "not json", "[1,2", "{\"a\":1,}", "{\"a\":1}x", "{'a':1}", "{\"a\":01}",
        "{\"a\":\"\\ud800\"}", "{\"name\":\"a\",\"name\":\"b\"}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func malformedJSONIs422(body: String) async throws {
        try await withRegistry { client, _ in
            let reply = try await client.send(.post, "/api/services", body)
            #expect(reply.status == 422)
            #expect(reply.json?["detail"]?[0]?["type"]?.string == "json_invalid")
        }
    }

    @Test(arguments: ["[]", "\"web\"", "42", "null", "true"])
    func nonObjectBodyIs422(body: String) async throws {
        try await withRegistry { client, _ in
            let reply = try await client.send(.post, "/api/services", body)
            #expect(reply.status == 422)
            #expect(reply.json?["detail"]?[0]?["loc"] == ["body"])
        }
    }

    @Test func emptyBodyIs422() async throws {
        try await withRegistry { client, _ in
            let reply = try await client.send(.post, "/api/services", nil)
            #expect(reply.status == 422)
            #expect(reply.json?["detail"]?[0]?["type"]?.string == "missing")
        }
    }

    @Test func bodiesOver64KiBAre413() async throws {
        try await withRegistry { client, components in
            let big = #"{"name":"big","url":"http://h","description":""# + String(repeating: "x", count: 70_000) + #""}"#
            let reply = try await client.send(.post, "/api/services", big)
            #expect(reply.status == 413)
            #expect(reply.json?["detail"]?.string?.contains("too large") == true)
            #expect(components.store.snapshot().count == 0)
            // The daemon goes on serving.
            #expect(try await client.send(.post, "/api/services", Self.web).status == 200)
        }
    }

    @Test func hostileAndNonASCIINamesRoundTripExactly() async throws {
        let names = [
            #"quote " and \ backslash"#, "<script>alert(1)</script>", "'; DROP TABLE services; --",
            "ünïcødé 名前 🚀", "} { \" ,", "emoji 👩‍👩‍👧‍👦 family", "\u{202E}rtl override",
        ]
        try await withRegistry { client, components in
            for name in names {
                var w = JSONWriter()
                w.beginObject()
                w.key("name")
                w.string(name)
                w.key("url")
                w.string("http://127.0.0.1:1")
                w.endObject()
                let reply = try await client.send(.post, "/api/services", String(decoding: w.bytes, as: UTF8.self))
                #expect(reply.status == 200, "\(name): \(reply.text)")
                let id = try #require(reply.json?["id"]?.int)
                #expect(try await client.send(.get, "/api/services/\(id)").json?["name"]?.string == name)
            }
            #expect(components.store.snapshot().records.map(\.name) == names)
        }
    }

    @Test func readOnlyFieldsMayBeEchoedUnchanged() async throws {
        try await withRegistry { client, _ in
            let created = try await client.send(.post, "/api/services", Self.web)
            // A client that PUTs back the record it just GOT (with one change) succeeds.
            guard case .object(var members)? = created.json else {
                Issue.record("no record")
                return
            }
            members["port"] = 9999
            let echoed = try await client.send(.put, "/api/services/1", String(decoding: JSONValue.object(members).bytes, as: UTF8.self))
            #expect(echoed.status == 200, "\(echoed.text)")
            #expect(echoed.json?["port"]?.int == 9999)
            // A changed read-only value is rejected and changes nothing.
            let changed = try await client.send(.put, "/api/services/1", #"{"id": 5, "port": 1}"#)
            #expect(changed.status == 422)
            #expect(changed.json?["detail"]?[0]?["loc"] == ["body", "id"])
            #expect(try await client.send(.get, "/api/services/1").json?["port"]?.int == 9999)
        }
    }

    @Test func filters() async throws {
        try await withRegistry { client, components in
            try await client.send(
                .post, "/api/services", #"{"name":"api-gateway","url":"http://h:1","labels":{"team":"edge"},"description":"Front door"}"#)
            try await client.send(.post, "/api/services", #"{"name":"billing","url":"http://h:2","status":"failed","labels":{"team":"money"}}"#)
            try await client.send(.post, "/api/services", #"{"name":"search","url":"http://h:3","status":"inactive"}"#)
            components.store.setProbeResult(id: 1, ProbeResult(finishedAt: Date(), healthy: true, statusCode: 200, totalSeconds: 0.01))
            components.store.setProbeResult(
                id: 2, ProbeResult(finishedAt: Date(), healthy: false, statusCode: 503, totalSeconds: 0.01, error: "HTTP 503"))

            func names(_ query: String) async throws -> [String] {
                try await client.send(.get, "/api/services?\(query)").json?.array?.compactMap { $0["name"]?.string } ?? []
            }
            #expect(try await names("status=failed") == ["billing"])
            #expect(try await names("health_status=healthy") == ["api-gateway"])
            #expect(try await names("health_status=unknown") == ["search"])
            #expect(try await names("source=api") == ["api-gateway", "billing", "search"])
            #expect(try await names("source=systemd") == [])
            #expect(try await names("label=team:money") == ["billing"])
            #expect(try await names("q=FRONT") == ["api-gateway"])
            #expect(try await names("q=ar") == ["search"])
            #expect(try await names("q=front%20door") == ["api-gateway"])
            #expect(try await names("status=active&label=team:edge") == ["api-gateway"])

            let bad = try await client.send(.get, "/api/services?status=broken")
            #expect(bad.status == 422)
            #expect(bad.json?["detail"]?[0]?["loc"] == ["query", "status"])
            #expect(try await client.send(.get, "/api/services?stauts=active").status == 422)
            #expect(try await client.send(.get, "/api/services?label=nocolon").status == 422)
        }
    }

    /// SPEC §2: query strings are decoded as HTML forms encode them (`+` is a space, `%2B` a plus), in
    /// names and in every value, `label=` values included, as `requests`, FastAPI and browsers do.
    @Test func queryStringsAreFormDecoded() async throws {
        try await withRegistry { client, _ in
            try await client.send(.post, "/api/services", #"{"name":"billing api","url":"http://h:1","labels":{"team":"pay ops"}}"#)
            try await client.send(.post, "/api/services", #"{"name":"c++ build","url":"http://h:2","labels":{"lang":"c++"}}"#)
            try await client.send(.post, "/api/services", #"{"name":"billing","url":"http://h:3","description":"Bills & invoices"}"#)
            func names(_ query: String) async throws -> [String] {
                let reply = try await client.send(.get, "/api/services?\(query)")
                #expect(reply.status == 200, "\(query): \(reply.text)")
                return reply.json?.array?.compactMap { $0["name"]?.string } ?? []
            }
            #expect(try await names("q=billing+api") == ["billing api"])
            #expect(try await names("q=billing%20api") == ["billing api"])
            #expect(try await names("label=team:pay+ops") == ["billing api"])
            #expect(try await names("label=team%3Apay+ops") == ["billing api"])
            #expect(try await names("q=c%2B%2B") == ["c++ build"])
            #expect(try await names("label=lang:c%2B%2B") == ["c++ build"])
            #expect(try await names("q=bills+%26+invoices") == ["billing"])
            #expect(try await names("health%5Fstatus=unknown&q=c%2b%2b+build") == ["c++ build"])
            // A bad escape is kept as sent (no match here), not a 500.
            #expect(try await names("q=100%25+sure%zz") == [])
        }
    }

    @Test func healthReadyAndOpenAPI() async throws {
        try await withRegistry { client, _ in
            for path in ["/health", "/api/v1/health"] {
                let health = try await client.send(.get, path)
                #expect(health.status == 200)
                #expect(health.json?["status"]?.string == "healthy")
            }
            #expect(try await client.send(.get, "/ready").status == 200)
            let doc = try await client.send(.get, "/openapi.json")
            #expect(doc.status == 200)
            #expect(doc.json?["openapi"]?.string?.hasPrefix("3.") == true)
        }
    }

    /// The document and the router are built from different code; they must name the same operations.
    @Test func openAPIDocumentsEveryRouteAndNothingElse() async throws {
        var configuration = RegistryConfiguration()
        let directory = TemporaryDirectory()
        configuration.dataDirectory = directory.path
        let components = RegistryComponents(store: try ServiceStore(directory: directory.path))
        let endpoints = buildEndpoints(configuration, components, context: BasicRequestContext.self)
        let routed = Set(endpoints.map { "\($0.method.rawValue) \($0.openAPIPath)" })
        guard case .object(let paths)? = OpenAPIDocument.document["paths"] else {
            Issue.record("no paths")
            return
        }
        var documented = Set<String>()
        for (path, operations) in paths {
            guard case .object(let byMethod) = operations else { continue }
            for method in byMethod.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        #expect(routed == documented, "routed only: \(routed.subtracting(documented)), documented only: \(documented.subtracting(routed))")
        #expect(endpoints.count == routed.count, "an endpoint is registered twice")
    }
}

extension JSONValue {
    func removing(_ key: String) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = nil
        return .object(members)
    }
}
