import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryProbe
@testable import RegistrySupport

/// `GET /api/services` is answered on the event loop by `ListFastPathHandler` when nothing could make the
/// router's answer differ. These tests talk to a live server over a raw socket, so pipelining is real.
@Suite struct ListFastPathTests {
    static let records = [
        #"{"name":"web","url":"http://127.0.0.1:8080/health","port":8080,"labels":{"team":"a"}}"#,
        #"{"name":"Zürich \"quoted\" <b>&amp;</b>","url":"https://[::1]:8443/ready","description":"línea\tnueva"}"#,
    ]

    static let list = "GET /api/services HTTP/1.1\r\nHost: x\r\n\r\n"
    static func fastPathCount(_ components: RegistryComponents) -> Int { components.listCache.fastPathResponses.load(ordering: .relaxed) }

    /// The first list request after a change is rendered by the router; the next is the fast path's, with the same bytes.
    @Test func answersWithTheRoutersBytes() async throws {
        try await withLiveRegistry { client, components in
            for body in Self.records { #expect(try await client.send(.post, "/api/services", body).status == 200) }
            let connection = try RawHTTPConnection(port: try #require(client.port))
            let routed = try await connection.exchange(Self.list)
            #expect(Self.fastPathCount(components) == 0)
            let fast = try await connection.exchange(Self.list)
            #expect(Self.fastPathCount(components) == 1)

            #expect(fast[0].status == 200 && routed[0].status == 200)
            #expect(fast[0].body == routed[0].body)
            #expect(try JSONValue.parse(Array(fast[0].body.utf8)).array?.count == 2)
            let withoutDate = { (r: RawHTTPConnection.Response) in r.headers.filter { $0.name != "date" }.map { "\($0.name): \($0.value)" } }
            #expect(withoutDate(fast[0]) == withoutDate(routed[0]))
            #expect(fast[0].headers.contains { $0 == ("content-length", "\(fast[0].body.utf8.count)") })
            let date = try #require(fast[0].headers.first { $0.name == "date" }?.value)
            #expect(
                date.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/)
                    != nil, "\(date)")
        }
    }

    @Test func formatsTheDateHeaderLikeRFC9110() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(1_795_926_896) == "Sun, 29 Nov 2026 04:34:56 GMT")
    }

    /// Pipelined requests are answered in order even when the fast path could answer a later one at once,
    /// and a list request behind a write sees the write.
    @Test func pipelinedRequestsKeepTheirOrder() async throws {
        try await withLiveRegistry { client, components in
            let connection = try RawHTTPConnection(port: try #require(client.port))
            _ = try await connection.exchange(Self.list)  // renders the (empty) list, so the fast path may answer
            let post = #"{"name":"pipelined","url":"http://127.0.0.1:9/h"}"#
            let replies = try await connection.exchange(
                "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + Self.list
                    + "POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(post.utf8.count)\r\n\r\n\(post)"
                    + Self.list,
                expecting: 4)
            #expect(replies.map(\.status) == [200, 200, 200, 200])
            #expect(try JSONValue.parse(Array(replies[0].body.utf8))["status"]?.string == "healthy")
            #expect(replies[1].body == "[]")
            #expect(try JSONValue.parse(Array(replies[2].body.utf8))["name"]?.string == "pipelined")
            #expect(try JSONValue.parse(Array(replies[3].body.utf8)).array?.first?["name"]?.string == "pipelined")
            _ = components
        }
    }

    /// Several list requests in one packet: each is answered, in order, by the fast path.
    @Test func pipelinedListRequestsAreAllAnswered() async throws {
        try await withLiveRegistry { client, components in
            #expect(try await client.send(.post, "/api/services", Self.records[0]).status == 200)
            #expect(try await client.send(.get, "/api/services").status == 200)  // renders the list
            let connection = try RawHTTPConnection(port: try #require(client.port))
            let get = "GET /api/services HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
            let replies = try await connection.exchange(String(repeating: get, count: 5), expecting: 5)
            #expect(replies.map(\.status) == Array(repeating: 200, count: 5))
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(Self.fastPathCount(components) == 5)
        }
    }

    @Test func readTokenIsRequiredOnTheFastPathToo() async throws {
        try await withLiveRegistry(configure: AuthTests.bothTokens) { client, components in
            #expect(try await client.send(.get, "/api/services", token: "reader").status == 200)  // renders the list
            let connection = try RawHTTPConnection(port: try #require(client.port))
            for (token, status) in [(nil, 401), ("wrong", 401), ("reader", 200), ("writer", 200)] as [(String?, Int)] {
                let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
                let reply = try await connection.exchange("GET /api/services HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                #expect(reply[0].status == status, "token \(token ?? "none")")
            }
            #expect(Self.fastPathCount(components) == 2)
        }
    }

    /// A list over the cache's 1 MiB is rendered for each request, by the router, off the event loop.
    @Test func largeListsAreLeftToTheRouter() async throws {
        try await withLiveRegistry { client, components in
            let store = components.store
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<2500 {
                    group.addTask {
                        var patch = ServicePatch(name: "large-\(i)")
                        patch.url = .value("http://127.0.0.1:\(1 + i)/health")
                        patch.description = .value(String(repeating: "x", count: 200))
                        _ = try await store.register(patch)
                    }
                }
                try await group.waitForAll()
            }
            let connection = try RawHTTPConnection(port: try #require(client.port))
            for _ in 0..<2 {
                let reply = try await connection.exchange(Self.list)
                #expect(reply[0].status == 200 && reply[0].body.utf8.count > ListBodyCache.maxCachedBytes)
            }
            #expect(Self.fastPathCount(components) == 0)
        }
    }

    @Test func leavesQueriesOtherMethodsAndConnectionCloseToTheRouter() async throws {
        try await withLiveRegistry { client, components in
            for body in Self.records { #expect(try await client.send(.post, "/api/services", body).status == 200) }
            let port = try #require(client.port)
            #expect(try await client.send(.get, "/api/services").status == 200)  // renders the list
            let filtered = try await RawHTTPConnection(port: port).exchange("GET /api/services?label=team:a HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try JSONValue.parse(Array(filtered[0].body.utf8)).array?.count == 1)
            let deleteList = try await RawHTTPConnection(port: port).exchange("DELETE /api/services HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(deleteList[0].status == 405)
            let closing = try RawHTTPConnection(port: port)
            let closed = try await closing.exchange("GET /api/services HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(closed[0].status == 200)
            #expect(await closing.readToEnd().isEmpty, "the router closes the connection after the answer")
            #expect(components.listCache.fastPathResponses.load(ordering: .relaxed) == 0)
        }
    }
}

/// A blocking HTTP/1.1 connection over a raw socket, for sending pipelined requests byte for byte.
final class RawHTTPConnection: @unchecked Sendable {
    struct Response {
        var status: Int
        /// Lower-cased names, in order.
        var headers: [(name: String, value: String)]
        var body: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard withLoopbackAddress(port: port, { connect(fd, $0, $1) }) == 0 else {
            close(fd)
            throw DaemonError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends `requests` in one write and reads `expecting` responses (bodies framed by Content-Length).
    /// The socket calls block, so they run on the blocking-work queue: blocking one of Swift concurrency's
    /// few threads could starve the very server under test.
    func exchange(_ requests: String, expecting count: Int = 1) async throws -> [Response] {
        try await withCheckedThrowingContinuation { continuation in
            BlockingWork.queue.async { continuation.resume(with: Result { try self.exchangeBlocking(requests, expecting: count) }) }
        }
    }

    /// Whatever arrives until the server closes (or 10 s pass).
    func readToEnd() async -> [UInt8] {
        await withCheckedContinuation { continuation in
            BlockingWork.queue.async {
                while self.fill() {}
                defer { self.buffer.removeAll() }
                continuation.resume(returning: self.buffer)
            }
        }
    }

    private func exchangeBlocking(_ requests: String, expecting count: Int) throws -> [Response] {
        let bytes = Array(requests.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw DaemonError("send failed") }
        return try (0..<count).map { _ in try readResponse() }
    }

    private func readResponse() throws -> Response {
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.indices.dropLast(3).first { Array(buffer[$0..<$0 + 4]) == separator }
            if headEnd == nil, !fill() { throw DaemonError("connection closed inside a response head") }
        }
        let lines = String(decoding: buffer[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.name == "content-length" }.flatMap { Int($0.value) } ?? 0
        let bodyStart = headEnd! + 4
        while buffer.count < bodyStart + length {
            if !fill() { throw DaemonError("connection closed inside a response body") }
        }
        let body = String(decoding: buffer[bodyStart..<bodyStart + length], as: UTF8.self)
        buffer.removeFirst(bodyStart + length)
        return Response(status: status, headers: headers, body: body)
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }
}
