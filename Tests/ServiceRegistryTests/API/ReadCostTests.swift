import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import RegistryDashboard
@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistryStore
@testable import RegistrySupport

/// SPEC §10: paging, conditional and compressed reads, the summary. What a reader pays follows what it reads.
@Suite struct ReadCostTests {
    struct Reply {
        let status: Int
        let headers: HTTPFields
        let body: [UInt8]
        var json: JSONValue? { try? JSONValue.parse(body) }
        var ids: [Int] { json?.array?.compactMap { $0["id"]?.int } ?? [] }
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, _ headers: HTTPFields = [:]) async throws -> Reply {
        try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
            Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: response.body))
        }
    }

    static func register(_ client: any TestClientProtocol, _ count: Int, labels: (Int) -> String = { _ in "{}" }) async throws {
        for i in 1...count {
            let status = try await client.send(
                .post, "/api/services", #"{"name":"svc-\#(i)","url":"http://127.0.0.1:9/\#(i)","labels":\#(labels(i))}"#
            ).status
            #expect(status == 200)
        }
    }

    /// The `after` of a `Link: <...>; rel="next"` header, or nil when there is none.
    static func nextURI(_ reply: Reply) -> String? {
        guard let link = reply.headers[HTTPField.Name("Link")!] else { return nil }
        return link.firstMatch(of: /^<([^>]+)>; rel="next"$/).map { String($0.1) }
    }

    /// An event stream still open when the server shuts down gracefully ends with it (here the in-process app, which
    /// has no signal handler to close the change log): the shutdown does not wait for the client to leave.
    @Test(.timeLimit(.minutes(1))) func anOpenEventStreamDoesNotHoldUpAGracefulShutdown() async throws {
        let subscriber = try await withLiveRegistry { client, _ in
            let port = try #require(client.port)
            let subscriber = try await blocking { try SSESubscriber(port: port, path: "/api/events") }
            _ = try await blocking { subscriber.read(timeout: 20) { _ in subscriber.lastEventID != nil } }
            #expect(subscriber.lastEventID != nil)
            return subscriber
        }
        // The app has shut down: the stream was ended by the server (the last chunk arrived), not cut.
        _ = try await blocking { subscriber.read(timeout: 5) }
        #expect(subscriber.received.suffix(5) == Array("0\r\n\r\n".utf8))
    }

    @Test func pagesWalkEveryRecordOnceInIdOrder() async throws {
        try await withRegistry { client, _ in
            // Empty registry: an empty page and no next link.
            let empty = try await Self.get(client, "/api/services?limit=3")
            #expect(empty.status == 200 && empty.ids == [] && Self.nextURI(empty) == nil)

            try await Self.register(client, 6)
            // An exact multiple of the limit: the last page has no next link (nothing remains).
            var uri: String? = "/api/services?limit=3"
            var pages: [[Int]] = []
            while let current = uri, pages.count < 10 {
                let reply = try await Self.get(client, current)
                #expect(reply.status == 200)
                pages.append(reply.ids)
                uri = Self.nextURI(reply)
            }
            #expect(pages == [[1, 2, 3], [4, 5, 6]])
            // A limit larger than what remains, and `after` past the end.
            #expect(try await Self.get(client, "/api/services?after=4&limit=1000").ids == [5, 6])
            #expect(try await Self.get(client, "/api/services?after=6&limit=2").ids == [])
            #expect(try await Self.get(client, "/api/services?after=-5").ids == [1, 2, 3, 4, 5, 6])
        }
    }

    @Test func recordsDeletedBetweenPagesAreSkippedNotRepeated() async throws {
        try await withRegistry { client, _ in
            try await Self.register(client, 5)
            let first = try await Self.get(client, "/api/services?limit=2")
            #expect(first.ids == [1, 2])
            // The cursor's own record and the next one go away before the next page is read.
            #expect(try await client.send(.delete, "/api/services/2").status == 204)
            #expect(try await client.send(.delete, "/api/services/3").status == 204)
            let second = try await Self.get(client, try #require(Self.nextURI(first)))
            #expect(second.ids == [4, 5])
            #expect(Self.nextURI(second) == nil)
        }
    }

    @Test func filtersCombineWithPagingAndTheLinkKeepsThem() async throws {
        try await withRegistry { client, _ in
            try await Self.register(client, 7) { i in i % 2 == 1 ? #"{"team":"a b"}"# : #"{"team":"c"}"# }
            let first = try await Self.get(client, "/api/services?label=team:a%20b&limit=2")
            #expect(first.ids == [1, 3])
            let next = try #require(Self.nextURI(first))
            #expect(next.contains("label=team%3Aa%20b") && next.contains("after=3") && next.contains("limit=2"))
            let second = try await Self.get(client, next)
            #expect(second.ids == [5, 7])
            #expect(Self.nextURI(second) == nil)
        }
    }

    @Test func badPagingParametersAre422() async throws {
        try await withRegistry { client, _ in
            for query in [
                "limit=0", "limit=1001", "limit=-1", "limit=1e3", "limit=abc", "limit=", "limit=%205", "after=x", "after=1.5",
                "limit=2&limit=3", "limit=99999999999999999999999",
            ] {
                let reply = try await Self.get(client, "/api/services?\(query)")
                #expect(reply.status == 422, "\(query)")
                #expect(reply.json?["detail"]?[0]?["loc"]?[0]?.string == "query", "\(query)")
            }
            #expect(try await Self.get(client, "/api/services?limit=1000").status == 200)
            #expect(try await Self.get(client, "/api/services?limit=1").status == 200)
        }
    }

    /// Every JSON GET has an ETag; the current one gives 304 without a body; a change gives a new one.
    @Test func conditionalReadsAnswer304UntilSomethingChanges() async throws {
        try await withRegistry { client, _ in
            try await Self.register(client, 3)
            for uri in [
                "/api/services", "/api/services?status=active", "/api/services/1", "/api/sd", "/api/services/1/history",
                "/api/summary", "/openapi.json", "/",
            ] {
                let first = try await Self.get(client, uri)
                #expect(first.status == 200, "\(uri)")
                let tag = try #require(first.headers[.eTag], "\(uri) has no ETag")
                #expect(tag.hasPrefix("\"") && tag.hasSuffix("\""), "\(uri): \(tag)")
                let again = try await Self.get(client, uri)
                #expect(again.headers[.eTag] == tag, "\(uri): the same content has the same tag")
                let notModified = try await Self.get(client, uri, [.ifNoneMatch: tag])
                #expect(notModified.status == 304 && notModified.body.isEmpty, "\(uri)")
                #expect(notModified.headers[.eTag] == tag)
                for header in ["W/\(tag)", "\"other\", \(tag)", "*"] {
                    #expect(try await Self.get(client, uri, [.ifNoneMatch: header]).status == 304, "\(uri) \(header)")
                }
                #expect(try await Self.get(client, uri, [.ifNoneMatch: "\"other\""]).status == 200, "\(uri)")
            }
            let before = try await Self.get(client, "/api/services/2")
            #expect(try await client.send(.put, "/api/services/2", #"{"port": 8080}"#).status == 200)
            let after = try await Self.get(client, "/api/services/2", [.ifNoneMatch: try #require(before.headers[.eTag])])
            #expect(after.status == 200 && after.json?["port"]?.int == 8080)
            #expect(after.headers[.eTag] != before.headers[.eTag])
        }
    }

    /// JSON and HTML over 1 KiB are gzip-compressed when the client accepts it, and decompress to the identity body.
    @Test func gzipBodiesEqualTheIdentityBodies() async throws {
        try await withRegistry { client, _ in
            try await Self.register(client, 20)
            for uri in ["/api/services", "/api/services?limit=10", "/api/sd", "/openapi.json", "/", "/api/services?q=svc"] {
                let identity = try await Self.get(client, uri)
                #expect(identity.headers[.contentEncoding] == nil)
                #expect(identity.body.count > 1024, "\(uri) is small")
                let gzip = try await Self.get(client, uri, [.acceptEncoding: "gzip, deflate"])
                #expect(gzip.status == 200 && gzip.headers[.contentEncoding] == "gzip", "\(uri)")
                #expect(gzip.headers[.vary] == "Accept-Encoding")
                #expect(gzip.headers[.eTag] == identity.headers[.eTag])
                #expect(gzip.body.count < identity.body.count)
                #expect(try Self.gunzip(gzip.body) == identity.body, "\(uri)")
                // q=0 refuses gzip.
                #expect(try await Self.get(client, uri, [.acceptEncoding: "gzip;q=0"]).headers[.contentEncoding] == nil)
            }
            // Small bodies are sent as they are.
            let small = try await Self.get(client, "/api/services/1", [.acceptEncoding: "gzip"])
            #expect(small.headers[.contentEncoding] == nil && small.json?["id"]?.int == 1)
        }
    }

    /// A resource's gzip form is kept for its current version only: the list of a registry that keeps changing does
    /// not leave a compressed copy of every version it had behind (13 MB at 100,000 services).
    @Test func aChangedResourceReplacesItsCompressedForm() async throws {
        try await withRegistry { client, components in
            try await Self.register(client, 20)
            let sd = try await Self.get(client, "/api/sd", [.acceptEncoding: "gzip"])
            var tags: [String] = []
            for i in 1...5 {
                let list = try await Self.get(client, "/api/services", [.acceptEncoding: "gzip"])
                #expect(list.headers[.contentEncoding] == "gzip")
                tags.append(try #require(list.headers[.eTag]))
                #expect(try await client.send(.put, "/api/services/1", #"{"description":"version \#(i)"}"#).status == 200)
            }
            #expect(Set(tags).count == 5)
            #expect(components.gzipCache.cached(tag: tags.last!) != nil)
            for old in tags.dropLast() { #expect(components.gzipCache.cached(tag: old) == nil, "\(old) is still held") }
            // Other resources keep theirs.
            #expect(components.gzipCache.cached(tag: try #require(sd.headers[.eTag])) != nil)
        }
    }

    /// A large body (1 MiB and more) and the end of an event stream are each followed by handing freed memory back to
    /// the OS; small reads are not.
    @Test func largeReadsAndEndedStreamsHandFreedMemoryBack() async throws {
        let requests = Mutex(0)
        try await FreedMemory.$requestObserver.withValue({ requests.withLock { $0 += 1 } }) {
            try await withRegistry { client, components in
                let description = String(repeating: "d", count: 500)
                for i in 1...1500 {
                    var patch = ServicePatch(name: "svc-\(i)")
                    patch.url = .value("http://127.0.0.1:9/\(i)")
                    patch.description = .value(description)
                    _ = try await components.store.register(patch)
                }
                #expect(try await Self.get(client, "/api/services?limit=10").status == 200)
                #expect(try await Self.get(client, "/api/services/1").status == 200)
                #expect(requests.withLock { $0 } == 0, "small reads")
                let list = try await Self.get(client, "/api/services")
                #expect(list.body.count >= 1 << 20)
                #expect(requests.withLock { $0 } == 1, "after the whole list")
                _ = try await Self.get(client, "/api/services", [.acceptEncoding: "gzip"])
                #expect(requests.withLock { $0 } == 2, "after the whole list, compressed")

                async let stream = Self.get(client, "/api/events")
                try await Task.sleep(for: .milliseconds(300))
                #expect(requests.withLock { $0 } == 2, "while the stream is open")
                components.store.changes.close()  // ends every stream, as at shutdown
                #expect(try await stream.status == 200)
                #expect(requests.withLock { $0 } == 3, "after the stream ended")
            }
        }
    }

    @Test func listsCarryTheStoreVersionTheyReflect() async throws {
        try await withRegistry { client, components in
            let empty = try await Self.get(client, "/api/services")
            let index = try #require(empty.headers[HTTPField.Name("X-Registry-Index")!].flatMap { UInt64($0) })
            #expect(index == components.store.snapshot().version)
            try await Self.register(client, 1)
            let one = try await Self.get(client, "/api/services?limit=5")
            let next = try #require(one.headers[HTTPField.Name("X-Registry-Index")!].flatMap { UInt64($0) })
            #expect(next > index && next == components.store.snapshot().version)
        }
    }

    @Test func summaryCountsByHealthStatusAndSource() async throws {
        try await withRegistry { client, _ in
            try await Self.register(client, 3)
            #expect(try await client.send(.put, "/api/services/2", #"{"status": "failed"}"#).status == 200)
            let summary = try #require(try await Self.get(client, "/api/summary").json)
            #expect(summary["total"]?.int == 3)
            #expect(summary["status"]?["active"]?.int == 2 && summary["status"]?["failed"]?.int == 1 && summary["status"]?["inactive"]?.int == 0)
            #expect(summary["health"]?["unknown"]?.int == 3 && summary["health"]?["healthy"]?.int == 0)
            #expect(summary["source"]?["api"]?.int == 3 && summary["source"]?["systemd"]?.int == 0)
        }
    }

    /// The list fast path answers conditional and gzip requests with the router's bytes.
    @Test func fastPathAnswersConditionalAndGzipRequestsLikeTheRouter() async throws {
        try await withLiveRegistry { client, components in
            try await Self.register(client, 10)
            let connection = try RawHTTPConnection(port: try #require(client.port))
            let gzipRequest = "GET /api/services HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
            let routed = try await connection.exchange(gzipRequest)[0]
            let countBefore = components.listCache.fastPathResponses.load(ordering: .relaxed)
            let fast = try await connection.exchange(gzipRequest)[0]
            #expect(components.listCache.fastPathResponses.load(ordering: .relaxed) == countBefore + 1)
            let withoutDate = { (r: RawHTTPConnection.Response) in r.headers.filter { $0.name != "date" }.map { "\($0.name): \($0.value)" } }
            #expect(fast.status == 200 && withoutDate(fast) == withoutDate(routed))
            #expect(fast.headers.contains { $0 == ("content-encoding", "gzip") })
            #expect(fast.body == routed.body)

            let tag = try #require(fast.headers.first { $0.name == "etag" }?.value)
            let count304 = components.listCache.fastPathResponses.load(ordering: .relaxed)
            let fast304 = try await connection.exchange("GET /api/services HTTP/1.1\r\nHost: x\r\nIf-None-Match: \(tag)\r\n\r\n")[0]
            #expect(components.listCache.fastPathResponses.load(ordering: .relaxed) == count304 + 1)
            // A query string sends the same list through the router: same bytes, same tag, same 304.
            let routed304 = try await connection.exchange("GET /api/services?limit=1000 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \(tag)\r\n\r\n")[0]
            #expect(components.listCache.fastPathResponses.load(ordering: .relaxed) == count304 + 1)
            #expect(fast304.status == 304 && routed304.status == 304 && fast304.body.isEmpty)
            #expect(withoutDate(fast304) == withoutDate(routed304))
            #expect(!fast304.headers.contains { $0.name == "content-type" })
        }
    }
}

extension ReadCostTests {
    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Array(data)
    }
}
