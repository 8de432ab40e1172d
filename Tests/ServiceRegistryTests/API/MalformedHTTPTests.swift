import Foundation
import Testing

@testable import RegistryProbe

/// SPEC §12: malformed HTTP is a 4xx (400/413/431), never a 500, never a crash. Real daemon, raw sockets.
@Suite(.serialized) struct MalformedHTTPTests {
    static func daemon(_ extra: [String] = []) throws -> (DaemonProcess, TemporaryDirectory) {
        let directory = TemporaryDirectory()
        let daemon = try DaemonProcess(arguments: ["--data-dir", directory.file("data"), "--probe-interval", "0", "--scan-interval", "0"] + extra)
        return (daemon, directory)
    }

    /// Sends `bytes`, half-closes, and returns the first response.
    static func exchange(_ port: Int, _ bytes: [UInt8], halfClose: Bool = true) throws -> (status: Int, head: String, body: String) {
        let socket = try #require(RawSocket(port: port))
        socket.send(bytes)
        if halfClose { socket.halfClose() }
        return try #require(socket.readResponse(timeout: 15), "no response")
    }

    @Test func bodyShorterThanContentLengthThenHalfCloseIs400() throws {
        let (daemon, _) = try Self.daemon()
        let head = "POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        let reply = try Self.exchange(daemon.port, Array((head + #"{"name": "#).utf8))
        #expect(reply.status == 400, "\(reply.head)")
    }

    @Test func badChunkedEncodingIs400() throws {
        let (daemon, _) = try Self.daemon()
        let request = "POST /api/services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        let reply = try Self.exchange(daemon.port, Array(request.utf8))
        #expect(reply.status == 400, "\(reply.head)")
    }

    @Test func chunkedBodyOver64KiBIs413() throws {
        let (daemon, _) = try Self.daemon()
        var request = "POST /api/services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        let chunk = String(repeating: "a", count: 4096)
        for _ in 0..<20 { request += "1000\r\n" + chunk + "\r\n" }  // 80 KiB
        request += "0\r\n\r\n"
        let reply = try Self.exchange(daemon.port, Array(request.utf8))
        #expect(reply.status == 413, "\(reply.head)")
    }

    @Test func oversizedHeadIs431() throws {
        let (daemon, _) = try Self.daemon()
        let request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100 * 1024) + "\r\n\r\n"
        let reply = try Self.exchange(daemon.port, Array(request.utf8))
        #expect(reply.status == 431, "\(reply.head)")
        #expect(try HTTP.request("GET", "\(daemon.baseURL)/health").status == 200)
    }

    /// A seeded fuzzer: a few thousand malformed or truncated requests (bad chunk sizes, NUL bytes, huge header
    /// lines, bodies cut short, pipelined garbage, random mutations of valid requests), each on its own connection
    /// that is half-closed after sending. No answer may be a 5xx, the daemon must stay up, and a normal request
    /// must work afterwards. Same seed, same requests (`FUZZ_SEED` overrides it to explore).
    @Test func fuzzedRequestsNeverGet5xx() throws {
        let (daemon, _) = try Self.daemon(["--header-timeout", "2", "--idle-timeout", "2"])
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_10B
        let total = 3000
        let workers = 4
        let failures = Locked<[String]>([])
        let answered = Locked(0)
        let started = Date()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var random = SplitMix64(seed: seed &+ UInt64(worker))
            for index in stride(from: worker, to: total, by: workers) {
                guard Date().timeIntervalSince(started) < 50 else { return }  // bounded in time, whatever happens
                let (kind, bytes) = FuzzCase.make(&random)
                guard let socket = RawSocket(port: daemon.port) else {
                    failures.withLock { $0.append("case \(index) (\(kind)): could not connect") }
                    continue
                }
                // Sometimes in pieces, so the decoder sees the request split at a random point.
                if bytes.count > 2, random.next(4) == 0 {
                    let cut = 1 + random.next(UInt64(bytes.count - 1))
                    socket.send(Array(bytes[..<Int(cut)]))
                    socket.send(Array(bytes[Int(cut)...]))
                } else {
                    socket.send(bytes)
                }
                socket.halfClose()
                let (received, _) = socket.readUntilClosed(timeout: 15)
                let text = String(decoding: received, as: UTF8.self)
                if text.contains("HTTP/1.1 5") || text.contains("HTTP/1.0 5") {
                    failures.withLock { $0.append("case \(index) (\(kind)): \(text.prefix(200))") }
                }
                if !received.isEmpty { answered.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(10) })")
        #expect(Date().timeIntervalSince(started) < 50, "fuzzing ran out of time")
        #expect(daemon.process.isRunning, "daemon died: \(daemon.readOutput().suffix(2000))")
        #expect(answered.withLock { $0 } > total / 2)
        #expect(try HTTP.request("GET", "\(daemon.baseURL)/health").status == 200)
        let created = try HTTP.request("POST", "\(daemon.baseURL)/api/services", body: #"{"name": "after-fuzz", "url": "http://127.0.0.1:1"}"#)
        #expect(created.status == 200)
    }
}

/// Malformed and truncated HTTP/1.1 requests. Paths avoid endpoints whose 5xx is a legitimate answer about the
/// world (scan and check-now talk to systemd and targets).
enum FuzzCase {
    static let paths = ["/health", "/api/services", "/api/services/1", "/metrics", "/openapi.json", "/nope", "/api/v1/health", "/ready"]
    static let methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
    static let body = #"{"name": "fuzz", "url": "http://127.0.0.1:9"}"#

    static func valid(_ r: inout SplitMix64) -> String {
        let method = r.pick(methods)
        let path = r.pick(paths)
        if method == "POST" || method == "PUT" {
            return "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        return "\(method) \(path) HTTP/1.1\r\nHost: x\r\n\r\n"
    }

    static func make(_ r: inout SplitMix64) -> (String, [UInt8]) {
        let path = r.pick(paths)
        switch r.next(12) {
        case 0:
            let size = r.pick(["zz", "-1", "ffffffffffffffffffff", "1;\u{0}", "", " ", "0x10", "10000000000", "4\r\n", "g"])
            return (
                "bad chunk size", Array("POST \(path) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nabcd\r\n0\r\n\r\n".utf8)
            )
        case 1:
            var bytes = Array(valid(&r).utf8)
            for _ in 0...r.next(3) { bytes.insert(0, at: Int(r.next(UInt64(bytes.count)))) }
            return ("NUL bytes", bytes)
        case 2:
            let size = 60 * 1024 + Int(r.next(140 * 1024))
            let line = r.next(2) == 0 ? "X-Huge: " + String(repeating: "h", count: size) : String(repeating: "H", count: size) + ": v"
            return ("huge header line", Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\(line)\r\n\r\n".utf8))
        case 3:
            let length = 10 + Int(r.next(70_000))
            let sent = Int(r.next(UInt64(length)))
            return (
                "body cut short",
                Array("POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Length: \(length)\r\n\r\n".utf8)
                    + [UInt8](repeating: UInt8(ascii: "{"), count: sent)
            )
        case 4:
            var garbage = [UInt8]()
            for _ in 0..<(1 + r.next(200)) { garbage.append(UInt8(truncatingIfNeeded: r.next())) }
            return ("pipelined garbage", Array(valid(&r).utf8) + garbage)
        case 5:
            var bytes = Array(valid(&r).utf8)
            for _ in 0...r.next(6) {
                let at = Int(r.next(UInt64(bytes.count)))
                switch r.next(3) {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: r.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: r.next()), at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            return ("mutated", bytes)
        case 6:
            let bytes = Array(valid(&r).utf8)
            return ("truncated", Array(bytes[..<Int(r.next(UInt64(bytes.count)))]))
        case 7:
            let line = r.pick([
                "GET", "G\u{7f}T /health HTTP/1.1", "GET /health HTTP/9.9", "GET health HTTP/1.1", "GET /health", "GET /health HTTP/1.1 extra",
                "GET /he alth HTTP/1.1", "\r\n\r\nGET /health HTTP/1.1", "GET /%zz HTTP/1.1", "GET /health?\u{0}=1 HTTP/1.1",
            ])
            return ("bad request line", Array("\(line)\r\nHost: x\r\n\r\n".utf8))
        case 8:
            var request = "POST /api/services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            let chunks = 1 + Int(r.next(40))
            for _ in 0..<chunks { request += "800\r\n" + String(repeating: "a", count: 2048) + "\r\n" }
            return ("chunked body", Array((request + "0\r\n\r\n").utf8))
        case 9:
            let headers = r.pick([
                "Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1", "Content-Length: 99999999999999999999",
                "Content-Length: 5\r\nTransfer-Encoding: chunked", "Transfer-Encoding: gzip", "Content-Length: abc",
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
            ])
            return ("conflicting framing", Array("POST /api/services HTTP/1.1\r\nHost: x\r\n\(headers)\r\n\r\n{}\r\n".utf8))
        case 10:
            var request = "GET \(path) HTTP/1.1\r\nHost: x\r\n"
            for i in 0..<(500 + Int(r.next(1500))) { request += "X-\(i): v\r\n" }
            return ("many headers", Array((request + "\r\n").utf8))
        default:
            var bytes = [UInt8]()
            for _ in 0..<(1 + r.next(512)) { bytes.append(UInt8(truncatingIfNeeded: r.next())) }
            return ("random bytes", bytes)
        }
    }
}
