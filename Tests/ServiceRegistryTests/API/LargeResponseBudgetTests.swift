import Foundation
import Testing

@testable import RegistryHTTP

/// `--max-large-responses-mb` (SPEC §12, a client cannot starve the daemon): a rendered body is held until its client
/// has read it, so clients that request the whole list and do not read used to hold a copy each (16 of them held
/// 1.2 GB at 100,000 services). Past the budget a large read gets 503 with `Retry-After`; pages, small and compressed
/// bodies and /health are unaffected, and a body's share comes back when its client goes away.
@Suite struct LargeResponseBudgetTests {
    @Test func sharesAreTakenWhileTheyFitAndGivenBackOnce() {
        let budget = LargeResponseBudget(limitBytes: 10)
        var first = budget.reserve(6)
        #expect(first != nil && budget.heldBytes == 6)
        #expect(budget.reserve(5) == nil, "6 + 5 is over 10")
        let second = budget.reserve(4)
        #expect(second != nil && budget.heldBytes == 10)
        second?.release()
        second?.release()
        #expect(budget.heldBytes == 6)
        first = nil
        #expect(budget.heldBytes == 0 && first == nil)
        // One body over the whole budget is served when nothing else is held, so every resource stays readable.
        let huge = budget.reserve(25)
        #expect(huge != nil && budget.reserve(1) == nil)
        huge?.release()
        #expect(budget.heldBytes == 0)
    }

    /// At the limit, shares held for the patience are cut off for a new read, oldest first, when that makes room: their
    /// bytes count as pending until given back, and cut-offs never take the pending bytes past the limit, so what is
    /// held stays within twice the limit. Shares without a connection (router tests) are never cut off.
    @Test func atTheLimitSharesHeldPastThePatienceMakeRoomOldestFirst() {
        let budget = LargeResponseBudget(limitBytes: 10, patience: .seconds(10))
        let start = ContinuousClock.now
        let first = budget.reserve(6, peer: ConnectionPeer(), now: start)
        let second = budget.reserve(4, peer: ConnectionPeer(), now: start + .seconds(1))
        #expect(first != nil && second != nil && budget.heldBytes == 10)
        #expect(budget.reserve(5, peer: ConnectionPeer(), now: start + .seconds(9)) == nil, "nothing held for 10 s yet")
        let third = budget.reserve(5, peer: ConnectionPeer(), now: start + .seconds(10))
        #expect(third != nil && budget.heldBytes == 15, "the first is cut off; its 6 bytes are pending until given back")
        let fourth = budget.reserve(5, peer: ConnectionPeer(), now: start + .seconds(11))
        #expect(fourth != nil && budget.heldBytes == 20, "then the second: 10 live, 10 pending")
        #expect(budget.reserve(1, peer: ConnectionPeer(), now: start + .seconds(30)) == nil, "pending would pass the limit")
        first?.release()
        second?.release()
        #expect(budget.heldBytes == 10)

        // Many small aged shares make room for one large read together, but only within the limit.
        let many = LargeResponseBudget(limitBytes: 10, patience: .seconds(10))
        let ones = (0..<10).map { _ in many.reserve(1, peer: ConnectionPeer(), now: start) }
        #expect(ones.allSatisfy { $0 != nil } && many.heldBytes == 10)
        let large = many.reserve(10, peer: ConnectionPeer(), now: start + .seconds(10))
        #expect(large != nil && many.heldBytes == 20, "all ten cut off for it")
        #expect(many.reserve(10, peer: ConnectionPeer(), now: start + .seconds(30)) == nil, "the ten are still pending")
        for one in ones { one?.release() }
        #expect(many.heldBytes == 10)
        let next = many.reserve(10, peer: ConnectionPeer(), now: start + .seconds(30))
        #expect(next != nil && many.heldBytes == 20, "the large one, held 20 s, makes room once nothing is pending")

        let withoutConnection = LargeResponseBudget(limitBytes: 10, patience: .seconds(10))
        let held = withoutConnection.reserve(8, now: start)
        #expect(held != nil && withoutConnection.reserve(8, peer: ConnectionPeer(), now: start + .seconds(60)) == nil)
        _ = (third, fourth, large, next)
    }

    /// A daemon with a 16 MB budget and a 12 MB list: one client that stops reading holds its share, the next full
    /// read gets 503 (and twenty such clients cost the daemon one body, not twenty); when the reader goes, the list
    /// is readable again.
    @Test func clientsThatDoNotReadHoldOneBudgetNotOneBodyEach() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await Self.seededDaemon(directory)
        let before = try #require(daemon.residentBytes())

        // Twenty clients ask for the whole list and read only the head of what they get.
        let stalled = try await Self.stalledReads("/api/services", daemon: daemon)
        let growth = try #require(daemon.residentBytes()) - before
        #expect(growth < 64 << 20, "RSS grew \(growth >> 20) MiB for 20 unread 12 MB lists")

        // Everything else answers: a new full read is refused with a reason, pages, gzip and /health are not.
        let refusal = try await blocking { try HTTP.request("GET", "\(daemon.baseURL)/api/services") }
        #expect(refusal.status == 503 && refusal.body.contains("--max-large-responses-mb"), "\(refusal.status): \(refusal.body.prefix(300))")
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/api/services?limit=100").status == 200)
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/health").status == 200)
        let gzip = try await blocking { try HTTP.request("GET", "\(daemon.baseURL)/api/services", headers: ["Accept-Encoding": "gzip"]) }
        #expect(gzip.status == 200, "a compressed list (well under 1 MiB) holds no share")

        // The reader that holds the share goes away: the share comes back and the whole list is served again.
        for socket in stalled { socket.closeNow() }
        let (status, length) = try await Self.readWhole("\(daemon.baseURL)/api/services", within: 20)
        #expect(status == 200 && length > 12_000_000, "\(status), \(length) bytes")
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// `/metrics` is a large read too: 1,000 services with 12 KB of labels each render 12 MB of exposition, held until
    /// the client has read it, and when the data changed in between (as probing makes it) each scrape holds a block of
    /// its own: twenty unread scrapes held 240 MB. They now share the budget of list reads; Prometheus's gzip scrape
    /// (well under 1 MiB here) is unaffected.
    @Test func scrapesThatDoNotReadHoldOneBudgetToo() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await Self.seededDaemon(directory)
        let whole = try await blocking { try HTTP.request("GET", "\(daemon.baseURL)/metrics") }
        #expect(whole.status == 200 && whole.body.utf8.count > 12_000_000, "\(whole.status), \(whole.body.utf8.count) bytes")

        let before = try #require(daemon.residentBytes())

        let stalled = try await Self.stalledReads("/metrics", daemon: daemon) { index in
            // A change before each scrape, as probing makes: each renders (and would hold) a block of its own.
            let change = try HTTP.request("POST", "\(daemon.baseURL)/api/services", body: serviceJSON("tick-\(index)", url: "http://127.0.0.1:9/"))
            #expect(change.status == 200)
        }
        let growth = try #require(daemon.residentBytes()) - before
        #expect(growth < 64 << 20, "RSS grew \(growth >> 20) MiB for 20 unread 12 MB scrapes")

        let gzip = try await blocking { try HTTP.request("GET", "\(daemon.baseURL)/metrics", headers: ["Accept-Encoding": "gzip"]) }
        #expect(gzip.status == 200, "a compressed scrape (well under 1 MiB) holds no share")
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/health").status == 200)

        for socket in stalled { socket.closeNow() }
        let (status, length) = try await Self.readWhole("\(daemon.baseURL)/metrics", within: 20)
        #expect(status == 200 && length > 12_000_000, "\(status), \(length) bytes")
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// A client that reads a large body too slowly for others to wait on it is cut off once its share has been held for
    /// the patience (2 s here) and a new read needs the room: the new read is served whole, the slow client's connection
    /// ends early. Within the patience a new read is refused, as before.
    @Test func aShareHeldPastThePatienceMakesRoomForANewRead() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await Self.seededDaemon(directory, patienceSeconds: 2)
        let started = Date()  // before the slow read: the share's age is at most the time since
        let slow = try await blocking { try Self.stalledRead("/api/services", port: daemon.port) }
        #expect(slow.head.hasPrefix("HTTP/1.1 200"), "\(slow.head.prefix(100))")
        let early = try await blocking { try HTTP.request("GET", "\(daemon.baseURL)/metrics") }
        if Date().timeIntervalSince(started) < 1.5 { #expect(early.status == 503, "within the patience the share stays") }
        try await Task.sleep(for: .seconds(2.5))
        let (status, length) = try await Self.readWhole("\(daemon.baseURL)/metrics", within: 10)
        #expect(status == 200 && length > 12_000_000, "\(status), \(length) bytes")
        let (bytes, closed) = try await blocking { slow.socket.readUntilClosed(timeout: 10) }
        #expect(closed && bytes.count < 12_000_000, "the slow client was cut off: closed \(closed) after \(bytes.count) more bytes")
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// A client that takes nothing of its body for the idle timeout is cut off: its connection is closed and its share
    /// comes back, so one client cannot keep every other whole-list read refused for as long as it likes.
    @Test func aClientThatTakesNothingIsCutOffAfterTheIdleTimeout() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await Self.seededDaemon(directory, arguments: ["--idle-timeout", "2"])
        let stalled = try await blocking { try Self.stalledRead("/api/services", port: daemon.port) }
        #expect(stalled.head.hasPrefix("HTTP/1.1 200"), "\(stalled.head.prefix(100))")
        // The client reads nothing more; within the idle timeout (and the polls' own time) the whole list is served
        // again, while that client's connection stays open on its side.
        let (status, length) = try await Self.readWhole("\(daemon.baseURL)/api/services", within: 30)
        #expect(status == 200 && length > 12_000_000, "\(status), \(length) bytes")
        // Its connection was closed before the body was complete: it got what the buffers held, then the end.
        let (bytes, closed) = try await blocking { stalled.socket.readUntilClosed(timeout: 10) }
        #expect(closed && bytes.count < 12_000_000, "closed \(closed) after \(bytes.count) more bytes")
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// A Python script registering 1,000 services with 12 KB of labels each (a list of about 12.5 MB); prints how many
    /// got 200.
    static func seed(port: Int) -> String {
        """
        import http.client, json
        conn = http.client.HTTPConnection("127.0.0.1", \(port), timeout=10)
        ok = 0
        for n in range(1000):
            labels = {"k%d" % i: ("%d-" % n) + "x" * 1000 for i in range(12)}
            conn.request("POST", "/api/services", json.dumps({"name": "big-%d" % n, "url": "http://127.0.0.1:9/", "labels": labels}), {"Content-Type": "application/json"})
            response = conn.getresponse(); response.read()
            ok += response.status == 200
        print(ok)
        """
    }

    /// A daemon with a 16 MB budget (and `arguments`) holding 1,000 services with 12 KB of labels each: a list of about
    /// 12.5 MB, over what the kernel's socket buffers take (the daemon's send buffer grows to 4 MB, the clients' receive
    /// buffers are fixed at 64 KB). `patienceSeconds` before a share may be cut off for a newer read: by default 600
    /// (10 is the daemon's), so however slowly a loaded machine runs a test about the budget, no share is cut off in it.
    static func seededDaemon(_ directory: TemporaryDirectory, arguments: [String] = [], patienceSeconds: Int = 600) async throws
        -> DaemonProcess
    {
        let daemon = try await DaemonProcess.start(
            arguments: ["--data-dir", directory.path, "--max-large-responses-mb", "16"] + arguments + EventStreamDaemonTests.quiet,
            environment: ["SERVICE_REGISTRY_DEBUG_LARGE_RESPONSE_PATIENCE": "\(patienceSeconds)"])
        let created = try await blocking { try ExpositionSamples.run("/usr/bin/python3", ["-c", Self.seed(port: daemon.port)]).stdout }
        #expect(created.trimmingCharacters(in: .whitespacesAndNewlines) == "1000")
        return daemon
    }

    /// A client that asks for `path` with a 64 KB receive buffer and reads only the head of what it gets.
    static func stalledRead(_ path: String, port: Int) throws -> (socket: RawSocket, head: String) {
        let socket = try #require(RawSocket(port: port, receiveBuffer: 65_536))
        _ = socket.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        return (socket, readHead(socket))
    }

    /// Twenty clients ask for `path` (each after `before(index)`) and read only the head of what they get: exactly one
    /// is served, the others are told to retry in a second. Returns their sockets, still connected.
    static func stalledReads(_ path: String, daemon: DaemonProcess, before: @escaping @Sendable (Int) throws -> Void = { _ in })
        async throws -> [RawSocket]
    {
        let stalled = try await blocking { () -> [(socket: RawSocket, head: String)] in
            try (0..<20).map { index in
                try before(index)
                return try Self.stalledRead(path, port: daemon.port)
            }
        }
        let admitted = stalled.filter { $0.head.hasPrefix("HTTP/1.1 200") }
        let refused = stalled.filter { $0.head.hasPrefix("HTTP/1.1 503") }
        #expect(admitted.count == 1 && refused.count == 19, "\(path): \(stalled.map { $0.head.prefix(12) })")
        #expect(refused.allSatisfy { $0.head.lowercased().contains("retry-after: 1") }, "\(refused.first?.head ?? "")")
        return stalled.map(\.socket)
    }

    /// GETs `url` whole, again every 100 ms while it is refused, for up to `seconds`: the last answer's status and length.
    static func readWhole(_ url: String, within seconds: Double) async throws -> (status: Int, length: Int) {
        var (status, length) = (0, 0)
        let deadline = Date().addingTimeInterval(seconds)
        while status != 200 && Date() < deadline {
            let reply = try await blocking { try HTTP.request("GET", url) }
            (status, length) = (reply.status, reply.body.utf8.count)
            if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        return (status, length)
    }

    /// Reads until the end of the response head (or 10 s), and no further.
    static func readHead(_ socket: RawSocket) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let end = (received.count >= 4 ? (0...(received.count - 4)).first { received[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) } : nil) {
                return String(decoding: received[..<end], as: UTF8.self)
            }
            var pfd = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 1000) > 0 else { continue }
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
