import Foundation
import NIOCore
import Testing

@testable import RegistryModel

/// A Server-Sent Events subscriber on a raw socket: reads what has arrived, undoes the chunked encoding and parses
/// the events (blocking; call it through `blocking`).
final class SSESubscriber: @unchecked Sendable {
    let socket: RawSocket
    private(set) var received: [UInt8] = []

    init(port: Int, path: String, headers: [String: String] = [:], receiveBuffer: Int32? = nil) throws {
        guard let socket = RawSocket(port: port) else { throw DaemonError("cannot connect to \(port)") }
        self.socket = socket
        if var size = receiveBuffer {
            setsockopt(socket.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(extra)\r\n")
    }

    /// Reads for up to `timeout` seconds or until `done` holds for the events so far.
    @discardableResult
    func read(timeout: Double, until done: ([ChangeStreamTests.Event]) -> Bool = { _ in false }) -> [ChangeStreamTests.Event] {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while deadline.timeIntervalSinceNow > 0 && !done(events) {
            var pfd = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(1, min(deadline.timeIntervalSinceNow, 0.2) * 1000))) > 0 else { continue }
            let n = recv(socket.fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return events
    }

    var head: String {
        guard let end = Self.headEnd(received) else { return "" }
        return String(decoding: received[..<end], as: UTF8.self)
    }

    var body: String { String(decoding: rawBody, as: UTF8.self) }

    /// The body's bytes with the chunked encoding undone (complete chunks only).
    var rawBody: [UInt8] {
        guard let end = Self.headEnd(received) else { return [] }
        // Chunked: "<hex size>\r\n<bytes>\r\n" until an incomplete chunk.
        var index = end + 4
        var out: [UInt8] = []
        while let lineEnd = (index..<max(index, received.count - 1)).first(where: { received[$0] == 13 && received[$0 + 1] == 10 }),
            let size = Int(String(decoding: received[index..<lineEnd], as: UTF8.self), radix: 16), size > 0,
            lineEnd + 2 + size <= received.count
        {
            out += received[(lineEnd + 2)..<(lineEnd + 2 + size)]
            index = lineEnd + 2 + size + 2
        }
        return out
    }

    var events: [ChangeStreamTests.Event] { ChangeStreamTests.parse(ByteBuffer(string: body)) }

    /// The id of the last `id:` line, whether or not an event came with it (what EventSource resumes from).
    var lastEventID: String? {
        body.split(separator: "\n").last { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
    }
}

/// SPEC §10 `GET /api/events` end to end, on the real daemon: delivery, resume across a disconnect, reset, a stalled
/// subscriber, and shutdown with streams open.
@Suite struct EventStreamDaemonTests {
    static let quiet = ["--probe-interval", "0", "--scan-interval", "0"]

    static func create(_ daemon: DaemonProcess, _ name: String) async throws -> Int {
        let reply = try await HTTP.send(
            "POST", "\(daemon.baseURL)/api/services", body: #"{"name":"\#(name)","url":"http://127.0.0.1:9/"}"#,
            headers: ["Content-Type": "application/json"])
        return try #require(reply.status == 200 ? (try? JSONValue.parse(Array(reply.body.utf8)))?["id"]?.int : nil)
    }

    static func describe(_ daemon: DaemonProcess, _ id: Int, _ text: String) async throws {
        let reply = try await HTTP.send(
            "PUT", "\(daemon.baseURL)/api/services/\(id)", body: #"{"description":"\#(text)"}"#,
            headers: ["Content-Type": "application/json"])
        #expect(reply.status == 200)
    }

    static func delete(_ daemon: DaemonProcess, _ id: Int) async throws {
        #expect(try await HTTP.send("DELETE", "\(daemon.baseURL)/api/services/\(id)").status == 204)
    }

    @Test func changesArriveLiveAndAResumedStreamGetsExactlyWhatItMissed() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", directory.path] + Self.quiet)
        let kept = try await Self.create(daemon, "kept")
        let doomed = try await Self.create(daemon, "doomed")
        // Live, from now: the stream starts with the position it starts from, then each change in order, ids increasing.
        let live = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
        let index = try #require(
            try await blocking {
                live.read(timeout: 10) { _ in live.lastEventID != nil }
                return live.lastEventID
            })
        let web = try await Self.create(daemon, "web")
        _ = try await blocking { live.read(timeout: 10) { $0.count >= 1 } }
        try await Self.describe(daemon, web, "first")
        _ = try await blocking { live.read(timeout: 10) { $0.count >= 2 } }
        try await Self.delete(daemon, doomed)
        let seen = try await blocking { live.read(timeout: 10) { $0.count >= 3 } }
        #expect(live.head.hasPrefix("HTTP/1.1 200") && live.head.lowercased().contains("content-type: text/event-stream"))
        #expect(seen.map { "\($0.name):\($0.recordID ?? -1)" } == ["upsert:\(web)", "upsert:\(web)", "delete:\(doomed)"])
        #expect(seen[1].data.contains(#""description":"first""#))
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.id < $1.id } && seen[0].id > UInt64(index)!)

        // The subscriber goes away; three things happen; it comes back with Last-Event-ID.
        let resumeFrom = try #require(live.lastEventID)
        live.socket.closeNow()
        try await Self.describe(daemon, kept, "while away")
        let added = try await Self.create(daemon, "added")
        try await Self.delete(daemon, web)
        let resumed = try await blocking {
            try SSESubscriber(port: daemon.port, path: "/api/events", headers: ["Last-Event-ID": resumeFrom])
        }
        let missed = try await blocking { resumed.read(timeout: 10) { $0.count >= 3 } }
        #expect(missed.map { "\($0.name):\($0.recordID ?? -1)" } == ["upsert:\(kept)", "upsert:\(added)", "delete:\(web)"])
        #expect(missed.first!.id > UInt64(resumeFrom)!)
        // ...and nothing else arrives (no duplicates of what it had).
        let after = try await blocking { resumed.read(timeout: 1) }
        #expect(after.count == 3)

        // A position the log does not hold (another run's, or older than what it keeps): one reset, then live.
        let stale = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events?since=1") }
        let reset = try await blocking { stale.read(timeout: 10) { $0.count >= 1 } }
        #expect(reset.map(\.name) == ["reset"])
        // Bad parameters: 422 like the list; an unparsable Last-Event-ID resets instead (the client re-lists).
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/api/events?since=1e3").status == 422)
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/api/events?timings=1,,2").status == 422)
        let garbled = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events", headers: ["Last-Event-ID": "-1"]) }
        #expect(try await blocking { garbled.read(timeout: 10) { $0.count >= 1 } }.map(\.name) == ["reset"])
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// A client that accepts gzip (browsers do) gets the same events compressed, each write decodable on arrival.
    @Test func aGzipStreamCarriesTheSameEventsInFewerBytes() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", directory.path] + Self.quiet)
        let gzip = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events", headers: ["Accept-Encoding": "gzip"]) }
        let plain = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
        _ = try await blocking {
            gzip.read(timeout: 20) { _ in !gzip.rawBody.isEmpty }
            plain.read(timeout: 10) { _ in plain.lastEventID != nil }
        }
        for i in 0..<30 { _ = try await Self.create(daemon, "gz-\(i)") }
        let events = try await blocking { plain.read(timeout: 10) { $0.count >= 30 } }
        // Each compressed write is flushed: what has arrived decodes to the same frames, now, without the stream ending.
        let decoded = try await blocking { () -> String in
            let deadline = Date().addingTimeInterval(10)
            var text = ""
            while Date() < deadline {
                gzip.read(timeout: 0.5)
                text = try Self.gunzip(raw: gzip.rawBody)
                if ChangeStreamTests.parse(ByteBuffer(string: text)).count >= 30 { break }
            }
            return text
        }
        #expect(gzip.head.lowercased().contains("content-encoding: gzip"))
        let unzipped = ChangeStreamTests.parse(ByteBuffer(string: decoded))
        #expect(unzipped == events, "\(unzipped.count) events through gzip, \(events.count) without")
        #expect(gzip.rawBody.count * 3 < plain.rawBody.count, "\(gzip.rawBody.count) bytes gzip, \(plain.rawBody.count) identity")
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// Decodes a gzip stream that has not ended yet (python3's zlib; a sync-flushed prefix decodes in full).
    static func gunzip(raw: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import sys, zlib; sys.stdout.buffer.write(zlib.decompressobj(31).decompress(sys.stdin.buffer.read()))"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(raw))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Subscribers that stop reading hold one batch each, not the changes they fall behind on; and when they read
    /// again they are told to re-list rather than sent what the log no longer has.
    @Test func stalledSubscribersDoNotGrowTheDaemon() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", directory.path] + Self.quiet)
        var ids: [Int] = []
        for i in 0..<50 { ids.append(try await Self.create(daemon, "stall-\(i)")) }
        // Sixteen long labels make each event about 16 KB: 20 stalled subscribers buffering 1,000 changes would hold 320 MB,
        // of which the kernel's socket buffers take at most about 4.5 MB each. (A receive buffer smaller than loopback's
        // 64 KB segment would stall the transfer itself: the receiver never announces a window worth a segment.)
        let stalled = try await blocking {
            try (0..<20).map { _ in try SSESubscriber(port: daemon.port, path: "/api/events", receiveBuffer: 262_144) }
        }
        // Each stream has started (its first frame names its position) before anything changes; then nobody reads.
        try await blocking { for stream in stalled { stream.read(timeout: 20) { _ in stream.lastEventID != nil } } }
        #expect(stalled.allSatisfy { $0.lastEventID != nil })
        let before = try #require(daemon.residentBytes())
        // 1,000 updates over one keep-alive connection (a process per request would take minutes).
        let script = """
            import http.client, json, sys
            conn = http.client.HTTPConnection("127.0.0.1", \(daemon.port), timeout=10)
            ids = \(ids)
            ok = 0
            for n in range(1000):
                labels = {"k%d" % i: ("%d-" % n) + "x" * 1000 for i in range(16)}
                conn.request("PUT", "/api/services/%d" % ids[n % len(ids)], json.dumps({"labels": labels}), {"Content-Type": "application/json"})
                response = conn.getresponse(); response.read()
                ok += response.status == 200
            print(ok)
            """
        let updated = try await blocking { () -> String in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(updated == "1000")
        let after = try #require(daemon.residentBytes())
        let growth = after - before
        #expect(growth < 64 << 20, "RSS grew \(growth >> 20) MiB with 20 stalled subscribers and 1,000 changes of 16 KB")
        // The daemon answers meanwhile, and a stalled subscriber that reads again gets events (it was never dropped).
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/health").status == 200)
        let revived = try await blocking { stalled[0].read(timeout: 10) { $0.count >= 5 } }
        #expect(revived.count >= 5, "\(stalled[0].received.count) bytes: \(stalled[0].head) \(stalled[0].body.prefix(300))")
        withExtendedLifetime(stalled) {}
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// SIGTERM with 50 streams open: each ends cleanly (the chunked body is terminated) and the daemon exits 0 in 10 s.
    /// The stream is a read: with a read token it needs one.
    @Test func shutdownWithFiftyOpenStreamsExitsWithinTenSeconds() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(arguments: ["--data-dir", directory.path, "--read-token", "reader"] + Self.quiet)
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/api/events").status == 401)
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)//api/events/").status == 401)
        let streams = try await blocking {
            try (0..<50).map { _ in try SSESubscriber(port: daemon.port, path: "/api/events", headers: ["Authorization": "Bearer reader"]) }
        }
        // Every stream has started (a stream starts from the moment its request is handled) before the change.
        try await blocking { for stream in streams { stream.read(timeout: 20) { _ in stream.lastEventID != nil } } }
        let reply = try await HTTP.send(
            "POST", "\(daemon.baseURL)/api/services", body: #"{"name":"one","url":"http://127.0.0.1:9/"}"#,
            headers: ["Content-Type": "application/json", "Authorization": "Bearer reader"])
        #expect(reply.status == 200)
        _ = try await blocking {
            let deadline = Date().addingTimeInterval(20)
            for stream in streams { stream.read(timeout: max(0.1, deadline.timeIntervalSinceNow)) { $0.count >= 1 } }
        }
        #expect(streams.allSatisfy { $0.events.count == 1 })
        let start = Date()
        daemon.signal(SIGTERM)
        let status = try await daemon.exitStatus(timeout: 10)
        let elapsed = Date().timeIntervalSince(start)
        #expect(status == 0, "exit status \(String(describing: status)) after \(elapsed) s")
        // Every stream was ended by the server: the terminating zero-length chunk arrived.
        let ended = try await blocking {
            streams.filter { stream in
                stream.read(timeout: 2)
                return stream.received.suffix(5) == Array("0\r\n\r\n".utf8)
            }.count
        }
        #expect(ended == 50)
    }
}
